package runccompat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// execCmd runs a new process in a running container from a process JSON
// (--process, as the shim passes it). Detached, the process inherits this
// one's stdio and outlives it (the shim, a subreaper, reaps it).
func execCmd(g *globals, args []string) (retErr error) {
	fs := newFlagSet("exec")
	processFile := fs.String("", "process", "p")
	detach := fs.Bool("detach", "d")
	pidFile := fs.String("", "pid-file")
	consoleSocket := fs.String("", "console-socket")
	preserve := fs.String("0", "preserve-fds")
	fs.Bool("ignore-paused")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if len(fs.args) < 1 {
		return fmt.Errorf("hako-runc: %q requires a minimum of 1 argument(s)", "exec")
	}
	if *processFile == "" {
		return errors.New("hako-runc exec: give the process as --process FILE (a process JSON); command-line processes are not supported")
	}
	if len(fs.args) > 1 {
		return errors.New("hako-runc exec: --process and a command line cannot both be given")
	}
	var preserveFDs int
	if _, err := fmt.Sscanf(*preserve, "%d", &preserveFDs); err != nil || preserveFDs < 0 {
		return fmt.Errorf("invalid --preserve-fds %q", *preserve)
	}
	c, err := load(g, fs.args[0])
	if err != nil {
		return err
	}
	status, err := c.Status()
	if err != nil {
		return err
	}
	if status == libcontainer.Stopped {
		return errors.New("cannot exec in a stopped container")
	}
	if status == libcontainer.Paused && !fsBool(fs, "ignore-paused") {
		return errors.New("cannot exec in a paused container (use --ignore-paused to override)")
	}
	sp, err := loadProcess(*processFile)
	if err != nil {
		return err
	}
	if err := validateProcess(sp, *detach, *consoleSocket); err != nil {
		return err
	}
	p, err := newProcess(sp)
	if err != nil {
		return err
	}
	p.Init = false
	if err := addPreservedFDs(p, preserveFDs); err != nil {
		return err
	}
	closeIO, err := setupIO(p, sp.Terminal, *consoleSocket)
	if err != nil {
		return err
	}
	defer closeIO()
	var sigs chan os.Signal
	if !*detach {
		sigs = make(chan os.Signal, 128)
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	if err := c.Run(p); err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
		}
	}()
	if *pidFile != "" {
		abs, err := filepath.Abs(*pidFile)
		if err != nil {
			return err
		}
		if err := writePidFile(abs, p); err != nil {
			return err
		}
	}
	if *detach {
		return nil
	}
	return &exitError{code: wait(p, sigs)}
}

func fsBool(fs *flagSet, name string) bool { return *fs.bools[name] }

func loadProcess(path string) (*specs.Process, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p specs.Process
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("reading the process file %s: %w", path, err)
	}
	return &p, nil
}
