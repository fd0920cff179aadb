package main

import (
	"fmt"

	"github.com/hako-run/hako/image"
	"github.com/spf13/cobra"
)

type pullOptions struct {
	quiet    bool
	platform platformValue
}

func newPullCommand(g *globalOptions) *cobra.Command {
	var o pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the image reference")
	f.Var(&o.platform, "platform", "pick this os/arch[/variant] of a multi-platform image")
	return cmd
}

func runPull(cmd *cobra.Command, g *globalOptions, o pullOptions, ref string) error {
	defer interruptible(cmd)()
	s, err := openStore(g)
	if err != nil {
		return err
	}
	opts := image.PullOptions{Platform: o.platform.p}
	out := cmd.OutOrStdout()
	var pp *progressPrinter
	if !o.quiet {
		parsed, err := image.ParseReference(ref, s.Insecure...)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: Pulling from %s\n", parsed.Identifier(), parsed.Context().RepositoryStr())
		pp = newProgressPrinter(out)
		opts.Progress = pp.event
	}
	res, err := s.Pull(cmd.Context(), ref, opts)
	if pp != nil {
		pp.wait()
	}
	if err != nil {
		return err
	}
	parsed, _ := image.ParseReference(res.Name, s.Insecure...)
	if !o.quiet {
		fmt.Fprintf(out, "Digest: %s\n", res.Digest)
		if res.Fresh {
			fmt.Fprintf(out, "Status: Downloaded newer image for %s\n", image.FamiliarName(parsed))
		} else {
			fmt.Fprintf(out, "Status: Image is up to date for %s\n", image.FamiliarName(parsed))
		}
	}
	fmt.Fprintln(out, res.Name)
	return nil
}
