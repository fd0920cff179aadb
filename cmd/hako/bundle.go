package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako"
)

// newBundleCommand writes the OCI bundle of the container `hako run` would
// make with the same flags: for learners (read its config.json) and to run
// hako's spec under runc or crun.
func newBundleCommand(g *globalOptions) *cobra.Command {
	cmd := newRunLikeCommand(g, func(cmd *cobra.Command, o runOptions, args []string) error {
		return runBundle(cmd, g, o, args)
	})
	cmd.Use = "bundle [RUN OPTIONS] IMAGE DIR [-- COMMAND [ARG...]]"
	cmd.Short = "Write the OCI bundle (config.json and rootfs/) of the container run would make"
	cmd.Args = minArgs(2)
	cmd.Flags().Lookup("network").DefValue = "none"
	cmd.Flags().Lookup("network").Usage = "network mode: none or host (a bundle cannot carry hako's bridge)"
	return cmd
}

func runBundle(cmd *cobra.Command, g *globalOptions, o runOptions, args []string) error {
	ref, dir, command := args[0], args[1], args[2:]
	if len(command) > 0 && command[0] == "--" {
		command = command[1:]
	}
	if !cmd.Flags().Changed("network") && len(o.publish) == 0 && !o.publishAll {
		o.network = "none" // a bundle cannot carry the bridge: none is its default
	}
	if o.network != "none" && o.network != "host" {
		return usageError("hako bundle makes containers with --network none or host: a bundle cannot carry hako's bridge")
	}
	if o.detach || o.interactive {
		return usageError("hako bundle runs nothing: -d and -i do not apply")
	}
	opts, err := runConfig(cmd, g, o, ref, command)
	if err != nil {
		return err
	}
	opts.Container.Remove = true // the container only lends its rootfs and spec
	c, err := hako.Create(cmd.Context(), opts)
	if err != nil {
		return err
	}
	werr := c.WriteBundle(dir)
	if err := c.Abort(); err != nil && werr == nil {
		werr = fmt.Errorf("removing the container the bundle came from: %w", err)
	}
	if werr != nil {
		return werr
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintln(cmd.OutOrStdout(), abs)
	return nil
}
