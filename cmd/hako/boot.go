package main

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/runtime"
)

// startRestartable is hako start --all-restartable, the boot command: it
// does what Docker's daemon does when it starts, for a host without one.
// Every container whose restart policy says it comes back (always, even
// when it was stopped by hand; unless-stopped when it was not; on-failure
// when it failed, a run cut short by the reboot counting as killed) and
// that has no live monitor or init is started through a new monitor, its
// RestartCount kept. One line per container started; one error line per
// container that failed and exit 1.
func startRestartable(stdout, stderr io.Writer, g *globalOptions, cg *cgroups.Host) error {
	all, err := runtime.ListContainers(g.root)
	if err != nil {
		return err
	}
	sort.Slice(all, func(a, b int) bool { return all[a].Created.Before(all[b].Created) }) // oldest first
	failed := false
	for _, info := range all {
		if !info.ShouldStartAtBoot() {
			continue
		}
		ref := info.Name
		if ref == "" {
			ref = info.ID
		}
		c, err := runtime.ReopenAtBoot(g.root, g.runroot, info.ID, cg)
		if errors.Is(err, runtime.ErrRunning) {
			continue // started meanwhile by someone else
		}
		if err == nil {
			err = handToMonitor(g, c, func() { c.Abort() })
		}
		if err != nil {
			fmt.Fprintf(stderr, "Error: %s: %v\n", ref, err)
			failed = true
			continue
		}
		fmt.Fprintln(stdout, ref)
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}
