package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

type execOptions struct {
	interactive, tty, detach, privileged bool
	env, envFiles                        []string
	workdir, user                        string
}

// newExecCommand is docker exec: a command in a running container, with
// Docker's exit codes (the command's, 126/127 when it cannot start, 125
// when hako fails, 1 for an unknown or stopped container).
func newExecCommand(g *globalOptions) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:                   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short:                 "Execute a command in a running container",
		Args:                  minArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd, g, o, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after CONTAINER belong to the command
	f.BoolVarP(&o.interactive, "interactive", "i", false, "keep STDIN open")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVarP(&o.detach, "detach", "d", false, "run the command in the background")
	f.BoolVar(&o.privileged, "privileged", false, "give the command every capability")
	stringArrayVarP(f, &o.env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY to copy it from hako's environment)")
	stringArrayVar(f, &o.envFiles, "env-file", nil, "read environment variables from a file")
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "user name or UID, optionally with group (name|uid[:group|gid])")
	return cmd
}

func runExec(cmd *cobra.Command, g *globalOptions, o execOptions, ref string, args []string) error {
	env, err := runtime.ParseEnv(o.envFiles, o.env)
	if err != nil {
		return &exitError{code: 125, err: err}
	}
	info, err := findContainer(g, ref)
	if err != nil {
		if errors.Is(err, runtime.ErrNoSuchContainer) {
			return &exitError{code: 1, err: err}
		}
		return &exitError{code: 125, err: err}
	}
	eo := runtime.ExecOptions{
		Args: args, Env: env, WorkingDir: o.workdir, User: o.user,
		Tty: o.tty, Privileged: o.privileged, Detach: o.detach,
		Stdio: runtime.Stdio{Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()},
	}
	if o.interactive {
		eo.Stdio.Stdin = cmd.InOrStdin()
	}
	code, err := runtime.Exec(g.runroot, info, eo)
	if err != nil || code != 0 {
		return &exitError{code: code, err: err}
	}
	return nil
}
