package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

// newPauseCommand is docker pause: freeze a running container's processes.
func newPauseCommand(g *globalOptions) *cobra.Command {
	return newFreezerCommand(g, "pause", "Pause all processes within one or more containers", runtime.Pause)
}

// newUnpauseCommand is docker unpause.
func newUnpauseCommand(g *globalOptions) *cobra.Command {
	return newFreezerCommand(g, "unpause", "Unpause all processes within one or more containers", runtime.Unpause)
}

func newFreezerCommand(g *globalOptions, use, short string, act func(runRoot string, info *runtime.Info) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: short,
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				info, err := findContainer(g, ref)
				if err != nil {
					return err
				}
				if err := act(g.runroot, info); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
}
