package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

// newPauseCommand is docker pause: freeze a running container's processes.
func newPauseCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				info, err := findContainer(g, ref)
				if err != nil {
					return err
				}
				if err := runtime.Pause(g.runroot, info); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
}

// newUnpauseCommand is docker unpause.
func newUnpauseCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				info, err := findContainer(g, ref)
				if err != nil {
					return err
				}
				if err := runtime.Unpause(g.runroot, info); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
}
