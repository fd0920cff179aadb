package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

type psOptions struct {
	all, quiet, latest, noTrunc bool
	last                        int
	filters                     []string
	format                      string
}

// psRow is one line of `hako ps`, with Docker's --format fields.
type psRow struct {
	ID         string
	Image      string
	Command    string
	CreatedAt  string
	RunningFor string
	Ports      string
	State      string
	Status     string
	Names      string
	Labels     string
	Mounts     string
	Networks   string
	Size       string
}

func newPsCommand(g *globalOptions, use string) *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "List containers",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPs(cmd.OutOrStdout(), cmd.ErrOrStderr(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only display container IDs")
	f.BoolVarP(&o.latest, "latest", "l", false, "show the latest created container (includes all states)")
	f.IntVarP(&o.last, "last", "n", -1, "show n last created containers (includes all states)")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate output")
	stringArrayVarP(f, &o.filters, "filter", "f", nil, "filter output based on conditions (name=, status=, ancestor=, label=, exited=)")
	f.StringVar(&o.format, "format", "", "format output with a Go template, or 'json'")
	return cmd
}

func runPs(out, errOut io.Writer, g *globalOptions, o psOptions) error {
	filters, err := parsePsFilters(o.filters)
	if err != nil {
		return err
	}
	repairContainers(g, errOut)
	all, err := runtime.ListContainers(g.root)
	if err != nil {
		return err
	}
	if o.latest {
		o.last = 1
	}
	var rows []psRow
	now := time.Now()
	for i, c := range all { // newest first
		if o.last >= 0 && i >= o.last {
			break
		}
		if !o.all && o.last < 0 && !c.State.Running {
			continue
		}
		if !filters.match(c) {
			continue
		}
		rows = append(rows, newPsRow(c, now, o.noTrunc))
	}
	if o.quiet {
		for _, r := range rows {
			fmt.Fprintln(out, r.ID)
		}
		return nil
	}
	if o.format != "" {
		return printTemplate(out, o.format, rows)
	}
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names)
	}
	return tw.Flush()
}

func newPsRow(c *runtime.Info, now time.Time, noTrunc bool) psRow {
	r := psRow{
		ID: c.ID, Image: c.Image, Names: c.Name, State: c.State.Status,
		CreatedAt:  c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: units.HumanDuration(now.Sub(c.Created)) + " ago",
		Status:     statusLine(c.State, now),
	}
	if c.State.Running {
		var ports []string
		for _, p := range c.Ports() {
			ports = append(ports, p.String())
		}
		r.Ports = strings.Join(ports, ", ")
	}
	var command string
	if c.Spec != nil && c.Spec.Process != nil {
		command = strings.Join(c.Spec.Process.Args, " ")
	}
	if !noTrunc {
		r.ID = r.ID[:min(12, len(r.ID))]
		if rs := []rune(command); len(rs) > 20 { // Docker's Ellipsis(command, 20)
			command = string(rs[:19]) + "…"
		}
	}
	r.Command = strconv.Quote(command)
	return r
}

// statusLine is Docker's STATUS column: "Up 3 seconds",
// "Exited (0) 5 seconds ago", "Created".
func statusLine(s runtime.State, now time.Time) string {
	switch s.Status {
	case "running":
		return "Up " + units.HumanDuration(now.Sub(s.StartedAt))
	case "restarting":
		return fmt.Sprintf("Restarting (%d) %s ago", s.ExitCode, units.HumanDuration(now.Sub(s.FinishedAt)))
	case "paused":
		return "Up " + units.HumanDuration(now.Sub(s.StartedAt)) + " (Paused)"
	case "exited":
		if s.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", s.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", s.ExitCode, units.HumanDuration(now.Sub(s.FinishedAt)))
	}
	return "Created"
}

// psFilters are ps's --filter conditions: each key's values are ORed,
// different keys ANDed, as Docker does.
type psFilters map[string][]string

func parsePsFilters(args []string) (psFilters, error) {
	f := psFilters{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, usageError("bad format of filter (expected name=value): %s", a)
		}
		switch k {
		case "name", "status", "ancestor", "label", "exited", "id":
		default:
			return nil, usageError("invalid filter '%s': hako ps supports id, name, status, ancestor, label and exited", k)
		}
		if k == "status" && !slices.Contains([]string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}, v) {
			return nil, usageError("invalid filter 'status=%s': use created, running, paused, exited, restarting, removing or dead", v)
		}
		if k == "exited" {
			if _, err := strconv.Atoi(v); err != nil {
				return nil, usageError("invalid filter 'exited=%s': want an exit code", v)
			}
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

func (f psFilters) match(c *runtime.Info) bool {
	for k, vals := range f {
		ok := false
		for _, v := range vals {
			if f.matchOne(k, v, c) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f psFilters) matchOne(k, v string, c *runtime.Info) bool {
	switch k {
	case "id":
		return strings.HasPrefix(c.ID, v)
	case "name":
		return strings.Contains(c.Name, strings.TrimPrefix(v, "/")) // Docker matches a substring
	case "status":
		return c.State.Status == v
	case "ancestor":
		return c.Image == v || c.ImageID == v || strings.TrimPrefix(c.ImageID, "sha256:") == v ||
			strings.HasPrefix(strings.TrimPrefix(c.ImageID, "sha256:"), v) || familiarImage(c.Image) == familiarImage(v)
	case "label":
		labels := c.Labels
		key, val, hasVal := strings.Cut(v, "=")
		got, ok := labels[key]
		return ok && (!hasVal || got == val)
	case "exited":
		code, _ := strconv.Atoi(v)
		return c.State.Status == "exited" && c.State.ExitCode == code
	}
	return false
}

// familiarImage drops Docker's defaults from an image name, so busybox,
// busybox:latest and docker.io/library/busybox:latest compare equal.
func familiarImage(s string) string {
	s = strings.TrimPrefix(s, "docker.io/")
	s = strings.TrimPrefix(s, "library/")
	if i := strings.LastIndex(s, ":"); i < 0 || strings.Contains(s[i:], "/") {
		s += ":latest"
	}
	return s
}
