package main

import (
	"fmt"

	"github.com/hako-run/hako/image"
	"github.com/spf13/cobra"
)

func newPushCommand(g *globalOptions) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer interruptible(cmd)()
			s, err := openStore(g)
			if err != nil {
				return err
			}
			repo, err := s.PushRepo(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var pp *progressPrinter
			if !quiet {
				fmt.Fprintf(out, "The push refers to repository [%s]\n", repo)
				pp = newProgressPrinter(out)
			}
			var progress image.Progress
			if pp != nil {
				progress = pp.event
			}
			res, err := s.Push(cmd.Context(), args[0], progress)
			if pp != nil {
				pp.wait()
			}
			if err != nil {
				return err
			}
			if quiet {
				fmt.Fprintln(out, res.Repo+":"+res.Tag)
				return nil
			}
			fmt.Fprintf(out, "%s: digest: %s size: %d\n", res.Tag, res.Digest, res.Size)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the pushed reference")
	return cmd
}
