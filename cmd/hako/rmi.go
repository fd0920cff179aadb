package main

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/runtime"
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
			// A killed --rm run must not keep its image alive.
			repairContainers(g, cmd.ErrOrStderr())
			inUse := imagesInUse(g.root)
			out := cmd.OutOrStdout()
			var firstErr error
			for _, a := range args {
				res, err := s.Remove(a, force, inUse)
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

// repairContainers cleans up after containers whose monitor died; a failure
// is only a warning, as in run.
func repairContainers(g *globalOptions, stderr io.Writer) {
	cg, err := cgroups.Detect()
	if err != nil {
		err = fmt.Errorf("repairing containers: detecting cgroups: %w", err)
	} else {
		err = runtime.Repair(g.root, g.runroot, cg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "WARNING: %s\n", err)
	}
}

// imagesInUse tells the image store which images containers use.
func imagesInUse(root string) image.InUse {
	return func() (map[v1.Hash]bool, error) {
		ids, err := runtime.ImagesInUse(root)
		if err != nil {
			return nil, err
		}
		used := make(map[v1.Hash]bool, len(ids))
		for id := range ids {
			h, err := v1.NewHash(id)
			if err != nil {
				return nil, fmt.Errorf("container image ID %q: %w", id, err)
			}
			used[h] = true
		}
		return used, nil
	}
}
