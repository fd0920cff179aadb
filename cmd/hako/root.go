package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Version is the release; commit is set by the linker (-X main.commit=…).
const Version = "0.1.0"

var commit = "unknown"

// globalOptions are the flags every command shares.
type globalOptions struct {
	root    string
	runroot string
	debug   bool
	// storageDriver is --storage-driver (store.go); "" leaves the choice
	// to the config file, then to the root.
	storageDriver string
}

// exitError carries a process exit code up to main with the message to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments: Docker exits 125 for those.
func usageError(format string, a ...any) error {
	return &exitError{code: 125, err: fmt.Errorf(format, a...)}
}

func defaultRoot() string {
	if r := os.Getenv("HAKO_ROOT"); r != "" {
		return r
	}
	return "/var/lib/hako"
}

func newRootCommand(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "hako",
		Short: "A daemonless container runtime",
		// cobra prints "hako version " + Version for --version; a version
		// template would link text/template's method lookup (internal/gotemplate).
		Version:       Version + ", build " + commit,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Docker's CLI stops parsing hako's own flags at the first argument
		// (the image of run, the command after it).
		TraverseChildren: false,
	}
	root.PersistentPreRunE = needRoot
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: 125, err: fmt.Errorf("%w\nSee '%s --help'", err, c.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.root, "root", defaultRoot(), "directory of hako's persistent state (env HAKO_ROOT)")
	pf.StringVar(&g.runroot, "runroot", "/run/hako", "directory of hako's runtime state (tmpfs)")
	pf.BoolVar(&g.debug, "debug", false, "show each step hako takes")
	pf.StringVar(&g.storageDriver, "storage-driver", "", "overlay or vfs (copies; for roots overlayfs cannot use); default: the root's, else overlay where it works")

	root.AddCommand(
		newVersionCommand(),
		newInfoCommand(g),
		newBundleCommand(g),
		newCreateCommand(g),
		newRestartCommand(g),
		newPullCommand(g),
		newImagesCommand(g),
		newInspectCommand(g),
		newTagCommand(g),
		newRmiCommand(g),
		newLoadCommand(g),
		newSaveCommand(g),
		newRunCommand(g),
		newVolumeCommand(g),
		newNetworkCommand(g),
		newLoginCommand(g),
		newLogoutCommand(),
		newPushCommand(g),
		newCommitCommand(g),
		newHistoryCommand(g),
		newExportCommand(g),
		newImportCommand(g),
		newSearchCommand(g),
	)
	// Containers after run -d (lifecycle.go, ps.go, logs.go).
	root.AddCommand(newPsCommand(g, "ps"), newPortCommand(g), newExecCommand(g), newLogsCommand(g), newStopCommand(g), newKillCommand(g),
		newRmCommand(g, "rm"), newWaitCommand(g), newStartCommand(g), newContainerCommand(g))
	root.AddCommand(newGenerateCommand(g)) // generate.go: systemd units
	root.AddCommand(newAttachCommand(g))   // attach.go
	root.AddCommand(newBuildCommand(g))    // build.go
	root.AddCommand(newRenameCommand(g))   // rename.go
	root.AddCommand(newTopCommand(g))      // top.go
	root.AddCommand(newStatsCommand(g))    // stats.go

	root.AddCommand(newCpCommand(g), newPauseCommand(g), newUnpauseCommand(g), // cp.go, pause.go
		newImageCommand(g), newSystemCommand(g)) // image.go, system.go, prune.go
	return root
}

// needRoot stops commands other than version and help before they get half
// way as another user (a layer's chown failing, a mount refused): hako
// writes root-owned stores and creates namespaces, mounts and cgroups.
func needRoot(cmd *cobra.Command, _ []string) error {
	if os.Geteuid() == 0 || cmd.Name() == "version" || cmd.Name() == "help" {
		return nil
	}
	code := 1
	if cmd.Name() == "run" {
		code = 125 // hako itself failed, as Docker counts it
	}
	return &exitError{code: code, err: fmt.Errorf("hako needs root (containers without root are not supported yet): run it with sudo")}
}

func versionLine() string {
	return fmt.Sprintf("hako version %s, build %s", Version, commit)
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the hako version",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return nil
		},
	}
}

// exactArgs, minArgs and rangeArgs are cobra's argument checks, turned into
// usage errors (exit 125) worded as Docker words them.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%q requires exactly %d argument(s).\nSee '%s --help'", cmd.CommandPath(), n, cmd.CommandPath())
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError("%q requires at least %d argument(s).\nSee '%s --help'", cmd.CommandPath(), n, cmd.CommandPath())
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError("%q requires between %d and %d arguments.\nSee '%s --help'", cmd.CommandPath(), lo, hi, cmd.CommandPath())
		}
		return nil
	}
}

// execute runs the CLI and returns the process exit code. Errors are printed
// as one line (plus Docker's "See --help" hint for usage errors).
func execute(args []string) int {
	return run(args, os.Stdin, os.Stdout, os.Stderr)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var g globalOptions
	root := newRootCommand(&g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if isUsageError(err) {
		code = 125
		err = fmt.Errorf("%w\nSee '%s --help'", err, cmd.CommandPath())
	}
	if ee != nil && ee.err == nil {
		return code
	}
	fmt.Fprintf(stderr, "Error: %s\n", err)
	return code
}

// isUsageError recognises the errors cobra returns itself before any RunE.
func isUsageError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "flag needs an argument")
}
