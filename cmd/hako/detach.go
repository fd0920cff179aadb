package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/monitor"
	"github.com/hako-run/hako/runtime"
)

// lifecycleConfig adds the labels to cfg and, for run -d, checks its flags
// and sets up the container's log.
func lifecycleConfig(cfg *runtime.Config, o runOptions) error {
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return fmt.Errorf("invalid label %q: want KEY=VALUE", l)
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[k] = v
	}
	if err := restartConfig(cfg, o); err != nil {
		return err
	}
	cfg.OpenStdin = o.interactive // a monitor keeps stdin for hako attach
	if !o.detach {
		if len(o.logOpts) > 0 {
			return errors.New("--log-opt needs -d: a foreground container's output goes to the terminal")
		}
		return nil
	}
	lc, err := runtime.ParseLogOpts(o.logOpts)
	if err != nil {
		return err
	}
	cfg.Log = lc
	return nil
}

// runDetached hands the created container to a new monitor and prints its
// ID once it runs; a failure to start exits 125, 126 or 127 as run does.
func runDetached(cmd *cobra.Command, g *globalOptions, c *runtime.Container) error {
	if err := handToMonitor(g, c, func() { c.Remove() }); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), c.ID)
	return nil
}

// handToMonitor starts the monitor of c and waits until c runs; undo
// tears c down when no monitor could take it.
func handToMonitor(g *globalOptions, c *runtime.Container, undo func()) error {
	code, started, err := monitor.Start(c, g.root, g.runroot)
	if !started {
		undo()
	}
	if err != nil {
		return &exitError{code: code, err: err}
	}
	return nil
}

// restartConfig checks --restart as Docker does and records it. Only a
// detached container has a monitor to restart it: a foreground run is
// tied to its terminal, so hako refuses a policy there rather than
// record one it would not apply.
func restartConfig(cfg *runtime.Config, o runOptions) error {
	p, err := runtime.ParseRestartPolicy(o.restart)
	if err != nil {
		return err
	}
	if p.IsNone() {
		return nil
	}
	if o.rm {
		return errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	if !o.detach {
		return fmt.Errorf("--restart %s needs -d: only a detached container has a monitor to restart it", o.restart)
	}
	cfg.Restart = &p
	return nil
}
