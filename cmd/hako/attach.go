package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

// newAttachCommand is docker attach: this terminal to a detached
// container through its monitor (runtime/attach.go): its output, and with
// -i or -t its input.
func newAttachCommand(g *globalOptions) *cobra.Command {
	var detachKeys string
	var noStdin, sigProxy bool
	c := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := runtime.ParseDetachKeys(detachKeys)
			if err != nil {
				return err
			}
			info, err := findContainer(g, args[0])
			if err != nil {
				return err
			}
			switch {
			case info.State.Restarting:
				return errors.New("You cannot attach to a restarting container, wait until it is running")
			case info.State.Paused:
				return errors.New("You cannot attach to a paused container, unpause it first")
			case !info.State.Running:
				return errors.New("You cannot attach to a stopped container, start it first")
			}
			if sigProxy && !hasTTY(info) {
				defer proxySignals(info)()
			}
			return attachTo(cmd, g, info, keys, !noStdin)
		},
	}
	f := c.Flags()
	f.StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "override the key sequence for detaching a container")
	f.BoolVar(&noStdin, "no-stdin", false, "do not attach STDIN")
	f.BoolVar(&sigProxy, "sig-proxy", true, "proxy all received signals to the process (without -t; ctrl-c then goes to the container)")
	return c
}

// attachTo relays this terminal to info's running container until the
// detach keys (exit 0) or the container's end (its exit code).
func attachTo(cmd *cobra.Command, g *globalOptions, info *runtime.Info, keys []byte, withStdin bool) error {
	o := runtime.AttachOptions{Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), DetachKeys: keys}
	if withStdin {
		o.Stdin = cmd.InOrStdin()
	}
	code, err := runtime.Attach(g.runroot, info, o)
	if errors.Is(err, runtime.ErrDetached) {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s\r\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}
