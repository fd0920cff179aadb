package monitor

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/internal/earlysignal"
	"github.com/hako-run/hako/runtime"
)

// The monitor's wait. Starting a container leaves a process holding what
// the start needed: libcontainer's objects, the spec, encoding/json's
// caches, a heap grown for all of them and half-used spans. So, once the
// container runs, the monitor execve(2)s a fresh copy of hako in the same
// process ("hako monitor-wait ROOT RUNROOT ID", marked by _HAKO_MONITOR=wait):
// the container's init stays its child, monitor.json's pid and start time
// stay true, and the descriptors it needs are inherited (the lock on fd 3,
// the output pipes or the pty master, the stdin pipe, the attach socket and
// its connected clients, the port reservations; _HAKO_MONITOR_WAIT names
// them). The wait relays the output to the log and the attach clients and
// reaps the init through a pidfd in Go's poller; then, in the same process,
// it tears the container down with the init's real exit status and applies
// the restart policy. A restart starts the container here and hands the
// new run to a fresh re-exec again.

// waitEnvKey carries the waitState to the re-exec.
const waitEnvKey = "_HAKO_MONITOR_WAIT"

// IsWait reports whether this process is a monitor's wait (main calls it
// before any CLI parsing).
func IsWait() bool {
	return os.Getenv(envKey) == earlysignal.WaitValue && len(os.Args) == 5 && os.Args[1] == "monitor-wait"
}

// waitState is what the wait needs: the container, its run, and the
// restart loop's state.
type waitState struct {
	root, runRoot, id string
	lock              *os.File // fd 3
	listener          *os.File // the attach socket
	clients           []*os.File
	ports             []*os.File
	run               *runtime.Handoff
	logSize, logFiles string // json-file max-size and max-file
	runState          runtime.RunState

	// A foreground hako run's wait (HandOffForeground): it relays the pty
	// to its own stdin and stdout, passes signals on unless sigProxy is
	// off, and exits with the container's code.
	foreground, sigProxy bool
}

// handOff execs the wait with s. Should the exec fail, this process waits
// itself. It returns the monitor's exit code.
func handOff(s *waitState) int {
	err := execWait(s)
	fmt.Fprintf(os.Stderr, "hako monitor: %v\n", err)
	return waitRun(s)
}

// execWait execs the wait with s; it returns only if that failed.
func execWait(s *waitState) error {
	var fds []int
	keep := func(f *os.File) int {
		if f == nil {
			return -1
		}
		fd := int(f.Fd()) // blocking now: the wait makes it nonblocking again
		fds = append(fds, fd)
		return fd
	}
	env := waitEnv(s, keep)
	defer func() {
		// Still here: keep the descriptors from a later start's container.
		for _, fd := range fds {
			unix.CloseOnExec(fd)
		}
	}()
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("handing on the wait: %w", err)
		}
	}
	// One P from the start: the wait never needs two threads at once, and
	// every thread the runtime starts stays, idle, for the container's life.
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			environ = append(environ, kv)
		}
	}
	environ = append(environ, "GOMAXPROCS=1", envKey+"="+earlysignal.WaitValue, waitEnvKey+"="+env)
	err := syscall.Exec("/proc/self/exe", []string{os.Args[0], "monitor-wait", s.root, s.runRoot, s.id}, environ)
	return fmt.Errorf("re-executing to wait: %w", err)
}

// waitEnv is s as _HAKO_MONITOR_WAIT's value; keep gives each file's
// descriptor number (-1 for none).
func waitEnv(s *waitState, keep func(*os.File) int) string {
	list := func(files []*os.File) string {
		var out []string
		for _, f := range files {
			out = append(out, strconv.Itoa(keep(f)))
		}
		return strings.Join(out, ",")
	}
	env := fmt.Sprintf("lock=%d pid=%d out=%d err=%d master=%d in=%d ln=%d clients=%s ports=%s made=%d backoff=%d started=%d logsize=%s logfiles=%s",
		keep(s.lock), s.run.PID, keep(s.run.Stdout), keep(s.run.Stderr), keep(s.run.Master), keep(s.run.Stdin), keep(s.listener),
		list(s.clients), list(s.ports), s.runState.Made, s.runState.Backoff, s.runState.Started.UnixNano(),
		hex.EncodeToString([]byte(s.logSize)), hex.EncodeToString([]byte(s.logFiles)))
	if s.foreground {
		env += fmt.Sprintf(" fg=1 sigproxy=%t stdin=%t sizefrom=%d term=%s", s.sigProxy, s.run.InputFromStdin, s.run.SizeFrom, encodeTermios(s.run.Terminal))
	}
	return env
}

// WaitMain is the wait after a re-exec: it returns the monitor's exit code.
func WaitMain() int {
	os.Unsetenv("GOMAXPROCS") // set by execWait; not for what a restart starts
	env := os.Getenv(waitEnvKey)
	os.Unsetenv(envKey)
	os.Unsetenv(waitEnvKey)
	s := parseWaitEnv(env, func(fd int, name string) *os.File {
		unix.CloseOnExec(fd) // nothing may leak into a restarted container
		unix.SetNonblock(fd, true)
		return os.NewFile(uintptr(fd), name) // nonblocking: in Go's poller
	})
	s.root, s.runRoot, s.id = os.Args[2], os.Args[3], os.Args[4]
	if s.run.PID <= 0 || s.lock == nil {
		fmt.Fprintf(os.Stderr, "hako monitor-wait: no container process or lock in %s\n", waitEnvKey)
		return runtime.ExitCannotRun
	}
	if s.foreground {
		return waitForeground(s)
	}
	return waitRun(s)
}

// parseWaitEnv reads waitEnv's value; open makes a file of an inherited
// descriptor.
func parseWaitEnv(env string, open func(fd int, name string) *os.File) *waitState {
	s := &waitState{run: &runtime.Handoff{SizeFrom: -1}}
	file := func(v, name string) *os.File {
		fd, err := strconv.Atoi(v)
		if err != nil || fd < 0 {
			return nil
		}
		return open(fd, name)
	}
	files := func(v, name string) []*os.File {
		var out []*os.File
		for _, f := range strings.Split(v, ",") {
			if g := file(f, name); g != nil {
				out = append(out, g)
			}
		}
		return out
	}
	for _, kv := range strings.Fields(env) {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "lock":
			if n >= 0 {
				s.lock = open(int(n), "lock") // blocking or not, flock does not care
			}
		case "fg":
			s.foreground = v == "1"
		case "sigproxy":
			s.sigProxy = v == "true"
		case "stdin":
			s.run.InputFromStdin = v == "true"
		case "sizefrom":
			s.run.SizeFrom = int(n)
		case "term":
			s.run.Terminal = decodeTermios(v)
		case "pid":
			s.run.PID = int(n)
		case "out":
			s.run.Stdout = file(v, "stdout")
		case "err":
			s.run.Stderr = file(v, "stderr")
		case "master":
			s.run.Master = file(v, "pty-master")
		case "in":
			s.run.Stdin = file(v, "stdin")
		case "ln":
			s.listener = file(v, "attach")
		case "clients":
			s.clients = files(v, "attach-client")
		case "ports":
			s.ports = files(v, "port")
		case "made":
			s.runState.Made = int(n)
		case "backoff":
			s.runState.Backoff = time.Duration(n)
		case "started":
			s.runState.Started = time.Unix(0, n)
		case "logsize":
			s.logSize = unhex(v)
		case "logfiles":
			s.logFiles = unhex(v)
		}
	}
	return s
}

// unhex is a value waitEnv hex-encoded: the log options are the user's
// (--log-opt max-size="10 m" is a valid size), and a space would end them.
func unhex(v string) string {
	b, _ := hex.DecodeString(v)
	return string(b)
}

// waitRun waits for the run s.run, tears the container down, and restarts
// it as its policy says (handing the new run to a fresh re-exec).
func waitRun(s *waitState) int {
	var stdout, stderr io.Writer = io.Discard, io.Discard
	lw, err := runtime.OpenLog(runtime.ContainerDir(s.root, s.id), s.id, &runtime.LogConfig{
		Type: "json-file", Config: map[string]string{"max-size": s.logSize, "max-file": s.logFiles}})
	if err == nil {
		stdout, stderr = lw.Stream("stdout"), lw.Stream("stderr")
		defer func() {
			if lw != nil {
				lw.Close() // what is left of unfinished lines
			}
		}()
	}
	var ln *net.UnixListener
	if s.listener != nil {
		if l, err := net.FileListener(s.listener); err == nil {
			ln, _ = l.(*net.UnixListener)
		}
		s.listener.Close()
	}
	var clients []net.Conn
	for _, f := range s.clients {
		if conn, err := net.FileConn(f); err == nil {
			clients = append(clients, conn)
		}
		f.Close()
	}
	var hub *runtime.AttachHub
	if ln != nil {
		hub = runtime.NewAttachHub(s.runRoot, s.id, ln, clients, stdout, stderr)
		defer hub.Close()
		stdout, stderr = hub.Stdout(), hub.Stderr()
	}
	code := relayAndWait(s.run, hub, stdout, stderr)

	// The init has ended and was reaped: tear down as after any run.
	cg, err := cgroups.Detect()
	var c *runtime.Container
	if err == nil {
		c, err = runtime.Resume(s.root, s.runRoot, s.id, s.lock, cg)
	}
	if err != nil {
		// The lock goes with this process: a later command repairs it.
		fmt.Fprintf(stderr, "hako: recording the container's end: %v\n", err)
		ended(hub, code)
		return 1
	}
	defer c.Release()
	c.HoldPorts(s.ports)
	ferr := c.Finish(code)
	ended(hub, code) // once the end is recorded: ps and attach right after see it
	if s.run.Stdin != nil {
		s.run.Stdin.Close()
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	rs := s.runState
	if !c.AfterRun(code, ferr, &rs, logf) {
		return 0
	}
	rs.Started = time.Now()
	h, code, err := c.StartDetached(stdout, stderr)
	if err != nil {
		ended(hub, code)
		c.AfterRun(code, err, &rs, logf) // no restart: clears the restart state
		return 0
	}
	next := &waitState{root: s.root, runRoot: s.runRoot, id: s.id, lock: s.lock, run: h,
		logSize: s.logSize, logFiles: s.logFiles, runState: rs}
	if hub != nil {
		if next.listener, next.clients, err = hub.Handoff(); err != nil {
			logf("hako: %v", err) // no attach for this run
		}
	}
	if next.ports, err = c.HeldPortFiles(); err != nil {
		logf("hako: handing on the port reservations: %v", err)
	}
	if lw != nil {
		lw.Close()
		lw = nil
	}
	return handOff(next)
}

func ended(hub *runtime.AttachHub, code int) {
	if hub != nil {
		hub.Ended(code)
	}
}

// relayBuf is each relay's buffer: a container's output is small at a
// time, and the pipes hold 1 MiB besides.
const relayBuf = 4 << 10

// relayAndWait relays the run's output to stdout and stderr (the hub's,
// or the log's), serves its input through hub, forwards the signals that
// end a process to the init, waits for the init to end and reaps it, and
// returns its exit code once its output is relayed.
func relayAndWait(run *runtime.Handoff, hub *runtime.AttachHub, stdout, stderr io.Writer) int {
	var relays sync.WaitGroup
	relay := func(dst io.Writer, src *os.File) {
		relays.Add(1)
		go func() {
			defer relays.Done()
			io.CopyBuffer(dst, readerOnly{src}, make([]byte, relayBuf))
		}()
	}
	drain := 5 * time.Second
	if run.Master != nil {
		relay(stdout, run.Master)
		drain = 2 * time.Second
		if hub != nil {
			hub.UseInput(run.Master, func(cols, rows uint16) { resizePty(run.Master, cols, rows) })
		}
	} else {
		if run.Stdout != nil {
			relay(stdout, run.Stdout)
		}
		if run.Stderr != nil {
			relay(stderr, run.Stderr)
		}
		if hub != nil && run.Stdin != nil {
			hub.UseInput(run.Stdin, nil)
		}
	}
	// As the monitor before it, the wait passes on what asks a process to end.
	sigs := earlysignal.Notify(8, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2) // with what arrived since the exec
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			unix.Kill(run.PID, sig.(syscall.Signal)) // not reaped yet: the pid is still the init's
		}
	}()
	// Idle from here on: drop what start-up mapped and allocated.
	time.AfterFunc(100*time.Millisecond, Trim)
	code := reap(run.PID)
	signal.Stop(sigs)
	done := make(chan struct{})
	go func() { relays.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drain):
	}
	if hub != nil {
		hub.UseInput(nil, nil)
	}
	for _, f := range []*os.File{run.Stdout, run.Stderr, run.Master} {
		if f != nil {
			f.Close()
		}
	}
	return code
}

// readerOnly hides os.File's WriterTo, whose generic path would allocate
// a 32 KiB buffer of its own.
type readerOnly struct{ io.Reader }

// resizePty sets the pty's window size, without os.File.Fd (which would
// take the master out of Go's poller).
func resizePty(f *os.File, cols, rows uint16) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
	})
}

// reap waits for the init, a child of this process, to end and reaps it:
// through a pidfd in Go's poller, so that no thread blocks in wait4(2);
// with a blocking wait on kernels without one (before 5.10).
func reap(pid int) int {
	if fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK); err == nil {
		f := os.NewFile(uintptr(fd), "pidfd")
		defer f.Close()
		if code, reaped := runtime.ReapPidfd(f, pid); reaped {
			return code
		}
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return runtime.ExitKilled // not our child: its status is lost
		}
		return runtime.WaitStatusCode(ws)
	}
}
