package main

import "github.com/spf13/cobra"

// newImageCommand is Docker's management form: hako image ls|rm|inspect|…
// are the same commands as hako images|rmi|inspect|…, plus image prune.
func newImageCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  exactArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	ls := newImagesCommand(g)
	ls.Use, ls.Aliases = "ls [OPTIONS] [REPOSITORY[:TAG]]", []string{"list", "images"}
	rm := newRmiCommand(g)
	rm.Use, rm.Aliases = "rm [OPTIONS] IMAGE [IMAGE...]", []string{"rmi", "remove"}
	inspect := newInspectCommand(g)
	inspect.Flags().Set("type", "image")
	inspect.Short = "Display detailed information on one or more images"
	cmd.AddCommand(ls, rm, inspect, newPullCommand(g), newPushCommand(g), newTagCommand(g), newSaveCommand(g),
		newLoadCommand(g), newHistoryCommand(g), newImportCommand(g), newImagePruneCommand(g))
	return cmd
}
