package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/runtime"
)

// findContainer finds a container by name, ID or unique ID prefix.
func findContainer(g *globalOptions, ref string) (*runtime.Info, error) {
	return runtime.FindContainer(g.root, ref)
}

// eachContainer calls fn for each argument, as Docker's multi-container
// commands do: one error line per failed argument, the others still done,
// exit 1 (or the code an exitError carries) if any failed.
func eachContainer(stderr io.Writer, args []string, fn func(ref string) error) error {
	code := 0
	for _, a := range args {
		err := fn(a)
		if err == nil {
			continue
		}
		c := 1
		var ee *exitError
		if errors.As(err, &ee) {
			c = ee.code
		}
		if code == 0 {
			code = c
		}
		fmt.Fprintf(stderr, "Error: %s\n", err)
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// parseSignal takes a signal as Docker does: "SIGTERM", "TERM" or "15".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal: %s", s)
}

func detectCgroups() (*cgroups.Host, error) {
	cg, err := cgroups.Detect()
	if err != nil {
		return nil, fmt.Errorf("detecting cgroups: %w", err)
	}
	return cg, nil
}

func newStopCommand(g *globalOptions) *cobra.Command {
	var timeout int
	var signal string
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sig unix.Signal
			if signal != "" {
				var err error
				if sig, err = parseSignal(signal); err != nil {
					return usageError("%v", err)
				}
			}
			cg, err := detectCgroups()
			if err != nil {
				return err
			}
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				info, err := findContainer(g, ref)
				if err != nil {
					return err
				}
				if err := stopContainer(g, cg, info, sig, timeout); err != nil {
					return fmt.Errorf("stopping container %s: %w", ref, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", -1, "seconds to wait before killing the container (default 10)")
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "signal to send (default: the image's StopSignal, or SIGTERM)")
	return cmd
}

func newKillCommand(g *globalOptions) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := parseSignal(signal)
			if err != nil {
				return usageError("%v", err)
			}
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				info, err := findContainer(g, ref)
				if err != nil {
					return err
				}
				if err := runtime.Kill(info, sig); err != nil {
					return fmt.Errorf("cannot kill container: %s: %w", ref, err)
				}
				if sig == unix.SIGKILL { // as Docker: thawed, so that it dies
					if err := runtime.ThawPaused(g.runroot, info); err != nil {
						return fmt.Errorf("cannot kill container: %s: %w", ref, err)
					}
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "KILL", "signal to send to the container")
	return cmd
}

func newRmCommand(g *globalOptions, use string) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
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
				if force {
					if err := runtime.ThawPaused(g.runroot, info); err != nil {
						return err
					}
				}
				if err := runtime.Remove(g.root, g.runroot, cg, info, force, volumes); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	return cmd
}

func newWaitCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cg, err := detectCgroups()
			if err != nil {
				return err
			}
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				info, err := findContainer(g, ref)
				if err != nil {
					if !errors.Is(err, runtime.ErrNoSuchContainer) {
						return err
					}
					if code, ok := runtime.RemovedExitCode(g.runroot, ref); ok {
						fmt.Fprintln(cmd.OutOrStdout(), code) // a -d --rm container removed before this wait began
						return nil
					}
					return err
				}
				code, err := runtime.Wait(g.runroot, cg, info)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), code)
				return nil
			})
		},
	}
}

func newStartCommand(g *globalOptions) *cobra.Command {
	var attach, interactive, restartable bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args: func(cmd *cobra.Command, args []string) error {
			if restartable { // boot.go: no container named
				if len(args) > 0 || attach {
					return usageError("--all-restartable takes no container and no -a")
				}
				return nil
			}
			return minArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach && len(args) > 1 {
				return usageError("you cannot start and attach multiple containers at once")
			}
			cg, err := detectCgroups()
			if err != nil {
				return err
			}
			repairContainers(g, cmd.ErrOrStderr())
			if restartable {
				return startRestartable(cmd.OutOrStdout(), cmd.ErrOrStderr(), g, cg)
			}
			if attach || interactive {
				keys, err := runtime.ParseDetachKeys(detachKeys)
				if err != nil {
					return err
				}
				return startAttached(cmd, g, cg, args[0], keys, interactive)
			}
			return eachContainer(cmd.ErrOrStderr(), args, func(ref string) error {
				if _, err := startContainer(g, cg, ref); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach STDOUT/STDERR and forward signals and the exit code")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach container's STDIN")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "override the key sequence for detaching a container")
	cmd.Flags().BoolVar(&restartable, "all-restartable", false, "start every stopped container whose restart policy brings it back after a reboot (run it at boot)")
	return cmd
}

// startContainer runs a stopped container again through a new monitor. A
// running one is left alone.
// stopContainer stops info's container as docker stop does: sig (0: the
// image's StopSignal, else SIGTERM), then SIGKILL after timeout seconds
// (negative: 10).
func stopContainer(g *globalOptions, cg *cgroups.Host, info *runtime.Info, sig unix.Signal, timeout int) error {
	if sig == 0 {
		var err error
		if sig, err = parseSignal(info.StopSignal); info.StopSignal == "" || err != nil {
			sig = unix.SIGTERM
		}
	}
	wait := 10 * time.Second
	if timeout >= 0 {
		wait = time.Duration(timeout) * time.Second
	}
	if err := runtime.ThawPaused(g.runroot, info); err != nil { // a frozen process cannot stop
		return err
	}
	return runtime.Stop(g.runroot, cg, info, sig, wait)
}

func startContainer(g *globalOptions, cg *cgroups.Host, ref string) (*runtime.Info, error) {
	info, release, err := startContainerFor(g, cg, ref, false)
	release()
	return info, err
}

// startContainerFor is startContainer; for a reader (start -a) of a --rm
// container it also holds the record until release, so a container that
// ends at once is not removed before its output and code are read.
func startContainerFor(g *globalOptions, cg *cgroups.Host, ref string, reader bool) (info *runtime.Info, release func(), err error) {
	release = func() {}
	if info, err = findContainer(g, ref); err != nil {
		return nil, release, err
	}
	c, err := runtime.Reopen(g.root, g.runroot, info.ID, cg)
	if errors.Is(err, runtime.ErrRunning) {
		return info, release, nil
	}
	if err != nil {
		return nil, release, &exitError{code: runtime.ExitCannotRun, err: err}
	}
	if reader {
		if release, err = runtime.HoldForReader(info); err != nil {
			c.Abort()
			return nil, func() {}, &exitError{code: runtime.ExitCannotRun, err: err}
		}
	}
	if err := handToMonitor(g, c, func() { c.Abort() }); err != nil {
		release()
		return nil, func() {}, err
	}
	if info, err = findContainer(g, info.ID); err != nil { // as it runs now (a new log, state)
		release()
		return nil, func() {}, err
	}
	return info, release, nil
}

// startAttached is start -a: the container's output from this start on,
// then its exit code as hako's.
func startAttached(cmd *cobra.Command, g *globalOptions, cg *cgroups.Host, ref string, keys []byte, interactive bool) error {
	since := time.Now()
	info, release, err := startContainerFor(g, cg, ref, true)
	if err != nil {
		return err
	}
	defer release()
	if !hasTTY(info) { // -a forwards signals, as Docker's (sigproxy.go)
		defer proxySignals(info)()
	}
	if info.Attachable() { // -i or -t: through its monitor (attach.go)
		release() // its monitor sends the code after the removal, which the hold would stop
		return attachTo(cmd, g, info, keys, interactive)
	}
	lo := runtime.LogOptions{Follow: true, Tail: -1, Since: since}
	ended := func() bool { // a held --rm container ends with its code recorded
		return info.Ended() || runtime.RemovedAfterRun(g.runroot, info.ID)
	}
	if err := runtime.ReadLogs(info, lo, cmd.OutOrStdout(), cmd.ErrOrStderr(), ended); err != nil {
		return err
	}
	release() // the removal may go on: Wait reads the code it leaves
	code, err := runtime.Wait(g.runroot, cg, info)
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}
