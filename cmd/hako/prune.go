package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/runtime"
)

// newContainerPruneCommand is docker container prune: every stopped container goes.
func newContainerPruneCommand(g *globalOptions) *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := parsePruneFilters(filters)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !force && !ask(cmd, "WARNING! This will remove all stopped containers.\n") {
				return nil
			}
			ids, space, err := pruneContainers(g, cmd.ErrOrStderr(), f)
			printDeleted(out, "Deleted Containers:", ids)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(float64(space)))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	stringArrayVar(cmd.Flags(), &filters, "filter", nil, "provide filter values (until=DURATION|TIMESTAMP, label=KEY[=VALUE], label!=KEY[=VALUE])")
	return cmd
}

// newImagePruneCommand is docker image prune: dangling images, or with -a
// every image no container uses.
func newImagePruneCommand(g *globalOptions) *cobra.Command {
	var force, all bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := parsePruneFilters(filters)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			warning := "WARNING! This will remove all dangling images.\n"
			if all {
				warning = "WARNING! This will remove all images without at least one container associated to them.\n"
			}
			if !force && !ask(cmd, warning) {
				return nil
			}
			lines, space, err := pruneImages(g, cmd.ErrOrStderr(), all, f)
			printDeleted(out, "Deleted Images:", lines)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(float64(space)))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all unused images, not just dangling ones")
	stringArrayVar(cmd.Flags(), &filters, "filter", nil, "provide filter values (until=DURATION|TIMESTAMP, label=KEY[=VALUE], label!=KEY[=VALUE])")
	return cmd
}

// ask prints warning and Docker's question; true when the answer is y.
func ask(cmd *cobra.Command, warning string) bool {
	fmt.Fprint(cmd.OutOrStdout(), warning+"Are you sure you want to continue? [y/N] ")
	return confirmed(cmd.InOrStdin())
}

func printDeleted(out io.Writer, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(out, title)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	fmt.Fprintln(out)
}

// pruneContainers removes every container that is neither running nor
// being started, with runtime.Remove as rm does. It returns the removed
// IDs and the size of their upper directories.
func pruneContainers(g *globalOptions, stderr io.Writer, f pruneFilter) (ids []string, space uint64, err error) {
	repairContainers(g, stderr) // containers whose monitor died are stopped first
	cg, err := detectCgroups()
	if err != nil {
		return nil, 0, err
	}
	all, err := runtime.ListContainers(g.root)
	if err != nil {
		return nil, 0, err
	}
	var errs []error
	for _, c := range all {
		if c.State.Running || c.State.MonitorAlive || !f.match(c.Created, c.Labels) {
			continue
		}
		size := c.SizeRw()
		if err := runtime.Remove(g.root, g.runroot, cg, c, false, false); err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, c.ID)
		space += size
	}
	return ids, space, errors.Join(errs...)
}

// pruneImages removes the images no container uses: only those without
// any name unless all. It returns Docker's "untagged: …" and "deleted: …"
// lines and the disk space the store gave back.
func pruneImages(g *globalOptions, stderr io.Writer, all bool, f pruneFilter) (lines []string, space uint64, err error) {
	s, err := openStore(g)
	if err != nil {
		return nil, 0, err
	}
	repairContainers(g, stderr) // a killed --rm run must not keep its image alive
	used, err := runtime.ImagesInUse(g.root)
	if err != nil {
		return nil, 0, err
	}
	imgs, err := s.List()
	if err != nil {
		return nil, 0, err
	}
	before := diskUsage(s.Root())
	var errs []error
	for _, img := range imgs {
		if used[img.ID.String()] || (!all && len(img.Names) > 0) || !f.match(img.Config.Created.Time, img.Config.Config.Labels) {
			continue
		}
		res, err := s.Remove(img.ID.String(), true, imagesInUse(g.root))
		if res != nil {
			for _, u := range res.Untagged {
				lines = append(lines, "untagged: "+u)
			}
			for _, d := range res.Deleted {
				lines = append(lines, "deleted: "+d)
			}
		}
		if err != nil && !errors.Is(err, image.ErrNotFound) { // gone with an earlier one
			errs = append(errs, err)
		}
	}
	if after := diskUsage(s.Root()); after < before {
		space = before - after
	}
	return lines, space, errors.Join(errs...)
}

// diskUsage adds up the sizes of the regular files under dir, each hard
// linked file once.
func diskUsage(dir string) uint64 {
	seen := map[uint64]bool{}
	var total uint64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += uint64(fi.Size())
		return nil
	})
	return total
}

// pruneFilter is prune's --filter: until= and label= / label!=, as Docker's.
type pruneFilter struct {
	until             time.Time // zero: no bound
	labels, notLabels []string  // KEY or KEY=VALUE
}

func parsePruneFilters(args []string) (pruneFilter, error) {
	var f pruneFilter
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			return f, usageError("bad format of filter (expected name=value): %s", a)
		case k == "until":
			t, err := parseUntil(v, time.Now())
			if err != nil {
				return f, usageError("invalid filter 'until=%s': %v", v, err)
			}
			f.until = t
		case k == "label":
			f.labels = append(f.labels, v)
		case k == "label!":
			f.notLabels = append(f.notLabels, v)
		default:
			return f, usageError("invalid filter '%s': prune supports until, label and label!", k)
		}
	}
	return f, nil
}

// parseUntil takes a Go duration (before now), a Unix time or an RFC 3339 time.
func parseUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(int64(secs), 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want a duration (24h), a Unix time or an RFC 3339 time")
}

// match tells whether something created at created with labels may be pruned.
func (f pruneFilter) match(created time.Time, labels map[string]string) bool {
	if !f.until.IsZero() && !created.Before(f.until) {
		return false
	}
	has := func(kv string) bool {
		k, v, hasVal := strings.Cut(kv, "=")
		got, ok := labels[k]
		return ok && (!hasVal || got == v)
	}
	for _, l := range f.labels {
		if !has(l) {
			return false
		}
	}
	for _, l := range f.notLabels {
		if has(l) {
			return false
		}
	}
	return true
}
