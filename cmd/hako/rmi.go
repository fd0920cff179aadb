package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRmiCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var firstErr error
			for _, a := range args {
				res, err := s.Remove(a, force, nil)
				if res != nil {
					for _, u := range res.Untagged {
						fmt.Fprintf(out, "Untagged: %s\n", u)
					}
					for _, d := range res.Deleted {
						fmt.Fprintf(out, "Deleted: %s\n", d)
					}
				}
				if err != nil {
					err = noSuchImage(err, a)
					if firstErr == nil {
						firstErr = err
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "Error: %s\n", err)
					}
				}
			}
			return firstErr
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force removal of the image")
	return cmd
}
