// Package monitor is the process that watches over a detached container
// (hako run -d, hako start): a re-exec of the hako binary in its own
// session that starts the container, then execs a fresh copy of itself to
// wait for it (wait.go) with its output going to the container's log and
// attach clients, records its exit and, with --rm, removes it, or restarts
// it as its --restart policy says (runtime/restart.go). Its imports stay
// small (runtime and cgroups; no image, registry or CLI code): one monitor
// runs per running container.
package monitor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/internal/earlysignal"
	"github.com/hako-run/hako/runtime"
)

// envKey marks the re-exec as a monitor, so a user's "hako monitor" is
// never mistaken for one.
const envKey = earlysignal.EnvKey

// portsEnvKey tells the monitor how many port reservations follow fd 4.
const portsEnvKey = "_HAKO_MONITOR_PORTS"

// The monitor's inherited descriptors.
const (
	lockFD   = 3 // the container's lock, handed over by the starting hako
	reportFD = 4 // a pipe: "0\n" once the container runs, else "CODE message\n"
)

// IsMonitor reports whether this process was started as a monitor. main
// calls it before any CLI parsing.
func IsMonitor() bool {
	return os.Getenv(envKey) == "1" && len(os.Args) == 5 && os.Args[1] == "monitor"
}

// Start hands the created container c to a new monitor and returns once
// the container runs (0) or failed to start (125, 126 or 127 with the
// error, as hako run). Once the monitor started, c belongs to it; if Start
// fails before that, the caller still owns c.
func Start(c *runtime.Container, root, runRoot string) (code int, started bool, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return runtime.ExitCannotRun, false, fmt.Errorf("starting the container monitor: %w", err)
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return runtime.ExitCannotRun, false, fmt.Errorf("starting the container monitor: %w", err)
	}
	// The monitor runs in /: relative --root and --runroot must not move.
	if root, err = filepath.Abs(root); err == nil {
		runRoot, err = filepath.Abs(runRoot)
	}
	if err != nil {
		w.Close()
		null.Close()
		return runtime.ExitCannotRun, false, fmt.Errorf("starting the container monitor: %w", err)
	}
	// The host port reservations go to the monitor too (fds 5…), which
	// holds them for the container's life.
	ports, err := c.PortFiles()
	if err != nil {
		w.Close()
		null.Close()
		return runtime.ExitCannotRun, false, err
	}
	defer func() {
		for _, f := range ports {
			f.Close()
		}
	}()
	cmd := exec.Command("/proc/self/exe", "monitor", root, runRoot, c.ID)
	// One P: the monitor waits and relays output, and each further P keeps
	// its own allocation cache and spans (an idle monitor's PSS 3.0 →
	// 2.8 MB on a 2-CPU host, BENCHMARKS.md "Process start (h3)"). The
	// container's init gets GOMAXPROCS=1 from libcontainer either way.
	cmd.Env = append(os.Environ(), envKey+"=1", fmt.Sprintf("%s=%d", portsEnvKey, len(ports)), "GOMAXPROCS=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	if c.Debugging() { // hako --debug: the monitor tells the start on our stderr (debug.go)
		cmd.Stderr = os.Stderr
		cmd.Env = append(cmd.Env, debugEnvKey+"=1")
	}
	cmd.ExtraFiles = append([]*os.File{c.LockFile(), w}, ports...) // fds 3, 4, 5…
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	null.Close()
	if err != nil {
		return runtime.ExitCannotRun, false, fmt.Errorf("starting the container monitor: %w", err)
	}
	// The monitor holds the lock now (the same open file): let go of ours.
	c.Disown()
	cmd.Process.Release()
	line, _ := bufio.NewReader(r).ReadString('\n')
	code, err = parseReport(line)
	return code, true, err
}

func parseReport(line string) (int, error) {
	line = strings.TrimSuffix(line, "\n")
	if line == "" {
		return runtime.ExitCannotRun, errors.New("the container monitor ended before the container started")
	}
	num, msg, _ := strings.Cut(line, " ")
	code, err := strconv.Atoi(num)
	if err != nil {
		return runtime.ExitCannotRun, fmt.Errorf("the container monitor: %s", line)
	}
	if code == 0 {
		return 0, nil
	}
	return code, errors.New(msg)
}

// Main is the monitor: args "monitor ROOT RUNROOT ID", the lock on fd 3,
// the report pipe on fd 4. It returns the monitor's exit code.
func Main() int {
	// Until it execs into monitor-wait, the monitor allocates a few MB
	// (the container's record, libcontainer's create and start) and
	// collects nothing: let its heap grow into huge pages
	// (runtime/hugeheap.go). Only should that exec fail does this process
	// wait itself, with GOGC doubled.
	runtime.HugeHeap()
	nports, _ := strconv.Atoi(os.Getenv(portsEnvKey))
	os.Unsetenv(envKey)
	os.Unsetenv(portsEnvKey)
	// No descriptor may leak into the container's init.
	unix.CloseOnExec(lockFD)
	unix.CloseOnExec(reportFD)
	var ports []*os.File
	for fd := reportFD + 1; fd <= reportFD+nports; fd++ {
		unix.CloseOnExec(fd)
		ports = append(ports, os.NewFile(uintptr(fd), "port"))
	}
	lock := os.NewFile(lockFD, "lock")
	report := os.NewFile(reportFD, "report")
	root, runRoot, id := os.Args[2], os.Args[3], os.Args[4]
	fail := func(code int, err error) int {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(report, "%d %s\n", code, msg)
		report.Close()
		return code
	}
	cg, err := cgroups.Detect()
	if err != nil {
		return fail(runtime.ExitCannotRun, fmt.Errorf("detecting cgroups: %w", err))
	}
	c, err := runtime.Adopt(root, runRoot, id, lock, cg)
	if err != nil {
		return fail(runtime.ExitCannotRun, err)
	}
	c.HoldPorts(ports)
	quiet := debugUntilStarted(c) // debug.go
	logCfg := c.Log
	if logCfg == nil {
		if logCfg, err = runtime.ParseLogOpts(nil); err != nil {
			return fail(runtime.ExitCannotRun, err)
		}
	}
	// The log is written by the process that waits (wait.go); it is
	// opened here for what a start that fails leaves, and to fail the
	// start when it cannot be.
	lw, err := runtime.OpenLog(c.Dir(), id, logCfg)
	if err != nil {
		if c.Record.Remove {
			c.Remove()
		} else {
			c.Abort() // keep a container the user did not ask to lose
		}
		return fail(runtime.ExitCannotRun, err)
	}
	// The attach socket (runtime/attach.go): made now, served once the
	// container runs.
	ln, err := runtime.ListenAttach(runRoot, id)
	if err != nil {
		lw.Close()
		if c.Record.Remove {
			c.Remove()
		} else {
			c.Abort() // keep a container the user did not ask to lose
		}
		return fail(runtime.ExitCannotRun, err)
	}
	sock, err := ln.File()
	ln.Close() // sock holds it
	if err != nil {
		lw.Close()
		runtime.RemoveAttachSocket(runRoot, id)
		if c.Record.Remove {
			c.Remove()
		} else {
			c.Abort()
		}
		return fail(runtime.ExitCannotRun, fmt.Errorf("making the attach socket: %w", err))
	}
	startedAt := time.Now()
	h, code, err := c.StartDetached(lw.Stream("stdout"), lw.Stream("stderr"))
	lw.Close()
	if err != nil {
		sock.Close()
		runtime.RemoveAttachSocket(runRoot, id)
		c.Release()
		return fail(code, err)
	}
	quiet()
	io.WriteString(report, "0\n")
	report.Close()
	held, _ := c.HeldPortFiles()
	return handOff(&waitState{
		root: root, runRoot: runRoot, id: id, lock: lock, listener: sock, ports: held,
		run: h, logSize: logCfg.Config["max-size"], logFiles: logCfg.Config["max-file"],
		runState: runtime.RunState{Started: startedAt},
	})
}
