package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

func newVolumeCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume COMMAND",
		Short: "Manage volumes",
		Args:  exactArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newVolumeCreateCommand(g),
		newVolumeLsCommand(g),
		newVolumeInspectCommand(g),
		newVolumeRmCommand(g),
		newVolumePruneCommand(g),
	)
	return cmd
}

func newVolumeCreateCommand(g *globalOptions) *cobra.Command {
	var labels, opts []string
	var driver string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "local" {
				return fmt.Errorf("create: volume driver %q is not supported: hako has only the local driver", driver)
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			v, err := runtime.Volumes{Root: g.root}.Create(name, parseKeyValues(labels), parseKeyValues(opts))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "local", "volume driver name")
	stringArrayVar(f, &labels, "label", nil, "set metadata for a volume (KEY[=VALUE])")
	stringArrayVarP(f, &opts, "opt", "o", nil, "set driver specific options (not supported)")
	return cmd
}

// parseKeyValues turns KEY[=VALUE] flags into a map, empty but not nil
// when there are none (Docker's CLI shows {} for them).
func parseKeyValues(list []string) map[string]string {
	m := map[string]string{}
	for _, l := range list {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// volumeRow is one volume with the fields of Docker's `volume ls --format`.
type volumeRow struct {
	Availability, Driver, Group, Labels, Links, Mountpoint, Name, Scope, Size, Status string
	labels                                                                            map[string]string
}

// Label is the value of one label, as in Docker's {{.Label "key"}}.
func (r volumeRow) Label(name string) string { return r.labels[name] }

func newVolumeRow(v *runtime.Volume) volumeRow {
	var labels []string
	for k, val := range v.Labels {
		labels = append(labels, k+"="+val)
	}
	slices.Sort(labels)
	return volumeRow{
		Availability: "N/A", Driver: "local", Group: "N/A", Labels: strings.Join(labels, ","),
		Links: "N/A", Mountpoint: v.Mountpoint, Name: v.Name, Scope: "local", Size: "N/A", Status: "N/A",
		labels: v.Labels,
	}
}

type volumeLsOptions struct {
	quiet   bool
	format  string
	filters []string
}

func newVolumeLsCommand(g *globalOptions) *cobra.Command {
	var o volumeLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVolumeLs(cmd.OutOrStdout(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only display volume names")
	f.StringVar(&o.format, "format", "", "format output with a Go template, or 'json'")
	stringArrayVarP(f, &o.filters, "filter", "f", nil, "filter output (dangling=true|false, name=NAME, label=KEY[=VALUE])")
	return cmd
}

func runVolumeLs(out io.Writer, g *globalOptions, o volumeLsOptions) error {
	vs := runtime.Volumes{Root: g.root}
	vols, err := vs.List()
	if err != nil {
		return err
	}
	keep, err := volumeFilter(vs, o.filters)
	if err != nil {
		return err
	}
	var rows []volumeRow
	for _, v := range vols {
		if keep(v) {
			rows = append(rows, newVolumeRow(v))
		}
	}
	switch {
	case o.quiet:
		for _, r := range rows {
			fmt.Fprintln(out, r.Name)
		}
		return nil
	case o.format != "":
		return printTemplate(out, o.format, rows)
	}
	// Docker's table writer: minimum width 10, padding 3.
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.Driver, r.Name)
	}
	return tw.Flush()
}

// volumeFilter parses `volume ls --filter` values; every filter must match.
func volumeFilter(vs runtime.Volumes, filters []string) (func(*runtime.Volume) bool, error) {
	var tests []func(*runtime.Volume) bool
	for _, f := range filters {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return nil, usageError("bad format of filter (expected name=value)")
		}
		switch k {
		case "name":
			tests = append(tests, func(v *runtime.Volume) bool { return strings.Contains(v.Name, val) })
		case "label":
			lk, lv, hasValue := strings.Cut(val, "=")
			tests = append(tests, func(v *runtime.Volume) bool {
				got, ok := v.Labels[lk]
				return ok && (!hasValue || got == lv)
			})
		case "dangling":
			want := val == "true" || val == "1"
			if !want && val != "false" && val != "0" {
				return nil, usageError("invalid filter 'dangling=%s'", val)
			}
			used, err := vs.InUse()
			if err != nil {
				return nil, err
			}
			tests = append(tests, func(v *runtime.Volume) bool { return (len(used[v.Name]) == 0) == want })
		default:
			return nil, usageError("invalid filter '%s'", k)
		}
	}
	return func(v *runtime.Volume) bool {
		for _, t := range tests {
			if !t(v) {
				return false
			}
		}
		return true
	}, nil
}

func newVolumeInspectCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs := runtime.Volumes{Root: g.root}
			found := []runtime.VolumeInspect{}
			var errs []error
			for _, a := range args {
				v, err := vs.Get(a)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				found = append(found, v.Inspect())
			}
			out := cmd.OutOrStdout()
			if format != "" {
				if err := printTemplate(out, format, found); err != nil {
					return err
				}
			} else {
				data, err := json.MarshalIndent(found, "", "    ")
				if err != nil {
					return err
				}
				fmt.Fprintln(out, string(data))
			}
			return lastError(cmd, errs)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output with a Go template")
	return cmd
}

// lastError prints all but the last error and returns that one, so a
// command that went on after failures still exits 1 with each on its line.
func lastError(cmd *cobra.Command, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs[:len(errs)-1] {
		fmt.Fprintf(cmd.ErrOrStderr(), "Error: %s\n", err)
	}
	return errs[len(errs)-1]
}

func newVolumeRmCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs := runtime.Volumes{Root: g.root}
			var errs []error
			for _, a := range args {
				err := vs.Remove(a)
				// -f only quiets a missing volume; one in use stays (Docker).
				if err != nil && !(force && errors.Is(err, runtime.ErrNoSuchVolume)) {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), a)
			}
			return lastError(cmd, errs)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not fail on a volume that does not exist")
	return cmd
}

func newVolumePruneCommand(g *globalOptions) *cobra.Command {
	var force, all bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if !force {
				which := "anonymous"
				if all {
					which = "all"
				}
				fmt.Fprintf(out, "WARNING! This will remove %s local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ", which)
				if !confirmed(cmd.InOrStdin()) {
					return nil // Docker: cancelled, exit 0
				}
			}
			rep, err := runtime.Volumes{Root: g.root}.Prune(all)
			if len(rep.VolumesDeleted) > 0 {
				fmt.Fprintln(out, "Deleted Volumes:")
				for _, n := range rep.VolumesDeleted {
					fmt.Fprintln(out, n)
				}
				fmt.Fprintln(out)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(float64(rep.SpaceReclaimed)))
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	f.BoolVarP(&all, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	return cmd
}

// confirmed reads one answer line: y or Y means yes.
func confirmed(in io.Reader) bool {
	sc := bufio.NewScanner(in)
	return sc.Scan() && strings.EqualFold(strings.TrimSpace(sc.Text()), "y")
}
