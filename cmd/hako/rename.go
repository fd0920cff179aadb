package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

// newRenameCommand is docker rename: a new name for a container, running
// or stopped (runtime/rename.go).
func newRenameCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" || args[1] == "" {
				return errors.New("Neither old nor new names may be empty")
			}
			return runtime.Rename(g.root, args[0], args[1])
		},
	}
}
