package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako"
)

// newCreateCommand is docker create: the container run would make, not
// started; hako start runs it.
func newCreateCommand(g *globalOptions) *cobra.Command {
	cmd := newRunLikeCommand(g, func(cmd *cobra.Command, o runOptions, args []string) error {
		return runCreate(cmd, g, o, args[0], args[1:])
	})
	cmd.Use = "create [OPTIONS] IMAGE [COMMAND] [ARG...]"
	cmd.Short = "Create a new container without starting it"
	return cmd
}

func runCreate(cmd *cobra.Command, g *globalOptions, o runOptions, ref string, args []string) error {
	if o.detach {
		return usageError("unknown shorthand flag: 'd' in -d") // as docker create
	}
	o.detach = true // start hands it to a monitor, with run -d's log settings
	opts, err := runConfig(cmd, g, o, ref, args)
	if err != nil {
		return &exitError{code: 125, err: err}
	}
	opts.Container.Park = true // start mounts its rootfs again
	c, err := hako.Create(cmd.Context(), opts)
	if err != nil {
		return &exitError{code: 125, err: err}
	}
	id := c.ID
	if err := c.Park(); err != nil {
		return &exitError{code: 125, err: err}
	}
	fmt.Fprintln(cmd.OutOrStdout(), id)
	return nil
}

// newRestartCommand is docker restart: stop (if it runs), then start.
func newRestartCommand(g *globalOptions) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cg, err := detectCgroups()
			if err != nil {
				return err
			}
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				info, err := findContainer(g, ref)
				if err != nil {
					return err
				}
				if info.Remove {
					// Its stop would delete it (Docker suspends --rm for a
					// restart; hako cannot yet).
					return fmt.Errorf("cannot restart container %s: it was run with --rm, which removes it when it stops", ref)
				}
				if info.State.Running {
					if err := stopContainer(g, cg, info, 0, timeout); err != nil {
						return fmt.Errorf("restarting container %s: %w", ref, err)
					}
				}
				if _, err := startContainer(g, cg, info.ID); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", -1, "seconds to wait for the stop before killing the container (default 10)")
	return cmd
}
