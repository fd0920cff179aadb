// Package runccompat is hako's runc-compatible mode: invoked as hako-runc,
// the binary speaks runc's command-line dialect as containerd's runc shim
// (through go-runc) uses it, and runs an OCI bundle's spec as given through
// the same libcontainer and start-up speed-ups as hako's own run path.
//
// Process model: like runc, every command is a short-lived process. create
// leaves only the container's init behind, blocked on the exec fifo and
// reparented to the caller (the shim is a child subreaper); start releases
// it. State lives in libcontainer's own layout, ROOT/<id>/state.json.
package runccompat

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"
)

// DefaultRoot is where containers' state lives unless --root says otherwise.
const DefaultRoot = "/run/hako-runc"

// Version is what --version prints; runc's own lines, so that go-runc's
// parser reads it.
const Version = "1.5.3"

// globals are runc's global flags.
type globals struct {
	root          string
	systemdCgroup bool
	debug         bool
	logFile       string
}

type command func(g *globals, args []string) error

var commands = map[string]command{
	"create":   createCmd,
	"start":    startCmd,
	"run":      runCmd,
	"state":    stateCmd,
	"kill":     killCmd,
	"delete":   deleteCmd,
	"list":     listCmd,
	"exec":     execCmd,
	"ps":       psCmd,
	"pause":    pauseCmd,
	"resume":   resumeCmd,
	"features": featuresCmd,
	"update":   updateCmd,
	"spec":     specCmd,
}

// Main runs one hako-runc command line (without argv[0]) and returns the
// process's exit code.
func Main(args []string) int {
	code, err := main(args)
	if err != nil {
		fatal(err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// exitError carries a container's exit code out of run and exec.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main(args []string) (int, error) {
	fs := newFlagSet("")
	g := &globals{}
	root := fs.String(DefaultRoot, "root")
	logFile := fs.String("", "log")
	logFormat := fs.String("text", "log-format")
	fs.String("auto", "rootless") // accepted as go-runc passes it; cgroups follow the euid
	systemd := fs.Bool("systemd-cgroup")
	debug := fs.Bool("debug")
	version := fs.Bool("version", "v")
	help := fs.Bool("help", "h")
	if err := fs.parse(args, true); err != nil {
		return 1, err
	}
	g.root, g.systemdCgroup, g.debug, g.logFile = *root, *systemd, *debug, *logFile
	if err := configLog(*debug, *logFormat, *logFile); err != nil {
		return 1, err
	}
	if *version {
		fmt.Printf("runc version %s\ncommit: hako\nspec: 1.3.0\n", Version)
		return 0, nil
	}
	if *help || len(fs.args) == 0 {
		fmt.Print(usage)
		return 0, nil
	}
	name, rest := fs.args[0], fs.args[1:]
	cmd, ok := commands[name]
	if !ok {
		return 1, fmt.Errorf("No help topic for '%s'", name)
	}
	err := cmd(g, rest)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

const usage = `hako-runc: hako's runc-compatible mode (the command-line dialect containerd's runc shim uses)

USAGE:
   hako-runc [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] [--debug] COMMAND [ARGS]

COMMANDS:
   create, start, run, state, kill, delete, list, exec, ps, pause, resume, update, features, spec
`

// configLog sends logrus (runc's and libcontainer's logger) where --log and
// --log-format say, as runc does: the shim reads the last error from a JSON
// log file.
func configLog(debug bool, format, file string) error {
	if debug {
		logrus.SetLevel(logrus.DebugLevel)
	}
	switch format {
	case "", "text":
	case "json":
		logrus.SetFormatter(new(logrus.JSONFormatter))
	default:
		return errors.New("invalid log-format: " + format)
	}
	if file != "" {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return err
		}
		logrus.SetOutput(f)
	}
	return nil
}

// fatal logs err and, when the log is not stderr, prints it there too.
func fatal(err error) {
	logrus.Error(err)
	if logrus.StandardLogger().Out != io.Writer(os.Stderr) {
		fmt.Fprintln(os.Stderr, err)
	}
}
