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

// topCommand is one of hako's top-level commands: its name (the first word
// of its Use; none has aliases) and its constructor.
type topCommand struct {
	name  string
	build func(*globalOptions) *cobra.Command
}

// topCommands are the root's commands in the order it adds them. A new
// top-level command goes here (TestTopCommandNames checks the names).
var topCommands = []topCommand{
	{"version", func(*globalOptions) *cobra.Command { return newVersionCommand() }},
	{"info", newInfoCommand},
	{"bundle", newBundleCommand},
	{"create", newCreateCommand},
	{"restart", newRestartCommand},
	{"pull", newPullCommand},
	{"images", newImagesCommand},
	{"inspect", newInspectCommand},
	{"tag", newTagCommand},
	{"rmi", newRmiCommand},
	{"load", newLoadCommand},
	{"save", newSaveCommand},
	{"run", newRunCommand},
	{"volume", newVolumeCommand},
	{"network", newNetworkCommand},
	{"login", newLoginCommand},
	{"logout", func(*globalOptions) *cobra.Command { return newLogoutCommand() }},
	{"push", newPushCommand},
	{"commit", newCommitCommand},
	{"history", newHistoryCommand},
	{"export", newExportCommand},
	{"import", newImportCommand},
	{"search", newSearchCommand},
	// Containers after run -d (lifecycle.go, ps.go, logs.go).
	{"ps", func(g *globalOptions) *cobra.Command { return newPsCommand(g, "ps") }},
	{"port", newPortCommand},
	{"exec", newExecCommand},
	{"logs", newLogsCommand},
	{"stop", newStopCommand},
	{"kill", newKillCommand},
	{"rm", func(g *globalOptions) *cobra.Command { return newRmCommand(g, "rm") }},
	{"wait", newWaitCommand},
	{"start", newStartCommand},
	{"container", newContainerCommand},
	{"generate", newGenerateCommand}, // generate.go: systemd units
	{"attach", newAttachCommand},     // attach.go
	{"build", newBuildCommand},       // build.go
	{"rename", newRenameCommand},     // rename.go
	{"top", newTopCommand},           // top.go
	{"stats", newStatsCommand},       // stats.go
	{"cp", newCpCommand},             // cp.go
	{"pause", newPauseCommand},       // pause.go
	{"unpause", newUnpauseCommand},
	{"image", newImageCommand},   // image.go
	{"system", newSystemCommand}, // system.go, prune.go
}

// newRootCommand builds the command tree: all of it when only is "", else
// the root with the one top-level command named only. Each constructor
// registers its flags and touches its own code, which every hako process
// (each CLI call, each container's init) would otherwise pay for all ~60
// commands before running one.
func newRootCommand(g *globalOptions, only string) *cobra.Command {
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

	for _, c := range topCommands {
		if only == "" || c.name == only {
			root.AddCommand(c.build(g))
		}
	}
	if only != "" {
		// Only the root's own help lists the completion command.
		root.CompletionOptions.DisableDefaultCmd = true
	}
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
	return runTree(commandTree(&g, args), args, stdin, stdout, stderr)
}

// commandTree builds the tree cobra needs for args: only the top-level
// command they name when that is enough, else the whole tree.
func commandTree(g *globalOptions, args []string) *cobra.Command {
	var root *cobra.Command
	if name := commandWord(args); name != "" {
		// Build only that command when cobra finds it (or one of its
		// subcommands) for these arguments: cobra then runs the same
		// command with the same flags as in the whole tree, and nothing it
		// prints names the other commands.
		root = newRootCommand(g, name)
		if c, _, err := root.Find(args); err != nil || c == root {
			root = nil
		}
	}
	if root == nil { // help, completion, an unknown command, hako alone
		*g = globalOptions{}
		root = newRootCommand(g, "")
	}
	return root
}

// runTree runs the command args select in root and returns the exit code.
func runTree(root *cobra.Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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

// commandWord returns the top-level command args name, if one of
// topCommands, skipping the root's flags before it; "" when the whole tree
// is needed (no command, an unknown one, or a help flag anywhere).
func commandWord(args []string) string {
	name := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" || strings.HasPrefix(a, "--help=") {
			return ""
		}
		if name != "" {
			continue
		}
		switch {
		case a == "--":
			return ""
		case a == "--root" || a == "--runroot" || a == "--storage-driver":
			i++ // the flag's value
		case strings.HasPrefix(a, "-"):
		default:
			name = a
		}
	}
	for _, c := range topCommands {
		if c.name == name {
			return name
		}
	}
	return ""
}

// isUsageError recognises the errors cobra returns itself before any RunE.
func isUsageError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "flag needs an argument")
}
