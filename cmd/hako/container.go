package main

import "github.com/spf13/cobra"

// newContainerCommand is Docker's management form: hako container ls|rm|…
// are the same commands as hako ps|rm|….
func newContainerCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  exactArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	ls := newPsCommand(g, "ls")
	ls.Aliases = []string{"ps", "list"}
	inspect := newInspectCommand(g)
	inspect.Flags().Set("type", "container")
	inspect.Short = "Show low-level information on containers"
	cmd.AddCommand(ls, newRmCommand(g, "rm"), newStopCommand(g), newStartCommand(g), newKillCommand(g),
		newWaitCommand(g), newLogsCommand(g), inspect, newRunCommand(g), newPortCommand(g), newExecCommand(g),
		newCpCommand(g), newPauseCommand(g), newUnpauseCommand(g), newContainerPruneCommand(g),
		newCreateCommand(g), newRestartCommand(g))
	cmd.AddCommand(newAttachCommand(g), newRenameCommand(g), newTopCommand(g), newStatsCommand(g))
	return cmd
}
