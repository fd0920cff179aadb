package main

import (
	"fmt"
	"os"

	"github.com/hako-run/hako/image"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newLoadCommand(g *globalOptions) *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive or an OCI layout (from STDIN by default)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer interruptible(cmd)()
			s, err := openStore(g)
			if err != nil {
				return err
			}
			var res *image.LoadResult
			if input != "" {
				res, err = s.LoadFile(cmd.Context(), input, nil)
			} else {
				if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					return usageError("requested load from stdin, but stdin is a terminal: give -i FILE or redirect a file")
				}
				res, err = s.Load(cmd.Context(), ctxReader{cmd.Context(), cmd.InOrStdin()}, nil)
			}
			out := cmd.OutOrStdout()
			if quiet {
				res = &image.LoadResult{}
			}
			// What was left out, then what was loaded, as Docker lists it.
			for _, sk := range res.Skipped {
				fmt.Fprintln(out, sk)
			}
			for _, l := range res.Loaded {
				if l.Name != "" {
					fmt.Fprintf(out, "Loaded image: %s\n", l.Name)
				} else {
					fmt.Fprintf(out, "Loaded image ID: %s\n", l.ID)
				}
			}
			if err != nil {
				return fmt.Errorf("loading images: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read from a tar archive file or OCI layout directory, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress the load output")
	return cmd
}
