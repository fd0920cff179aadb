package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/cgroups"
)

// A detached container's monitor starts it and then hands the waiting to
// a fresh re-exec of itself (monitor/wait.go), in the same process: the
// container's init stays its child, but nothing that starting it left
// (libcontainer's objects, the spec, JSON caches, the heap they grew)
// stays in the process that waits, often for months. StartDetached
// starts; Resume and Finish tear down after the wait; AfterRun is the
// restart policy's step between runs (restart.go).

// Handoff is a started detached run: the container's init, a child of
// this process, and this process's ends of its stdio.
type Handoff struct {
	PID            int
	Stdout, Stderr *os.File // the output pipes' read ends; nil with a pty
	Master         *os.File // -t: the pty master
	Stdin          *os.File // -i without -t: the write end of its stdin

	// A foreground run's (HandOffAfter), with a pty: the user's terminal
	// settings to restore at the end (nil: not a terminal), whether stdin
	// is relayed to the pty, and the descriptor (0 or 1) whose window size
	// the pty follows (-1: none).
	Terminal       *unix.Termios
	InputFromStdin bool
	SizeFrom       int
}

// Close closes the files.
func (h *Handoff) Close() {
	for _, f := range []*os.File{h.Stdout, h.Stderr, h.Master, h.Stdin} {
		if f != nil {
			f.Close()
		}
	}
}

// StartDetached starts the container once and returns without waiting
// for it: libcontainer's objects are let go, its init stays this process's
// child. Its output goes to pipes (or a pty) whose ends the Handoff holds.
// If it cannot start, the container is torn down (as after any run), what
// it wrote is copied to stdout and stderr, and the code and error are
// returned as by Run.
func (c *Container) StartDetached(stdout, stderr io.Writer) (*Handoff, int, error) {
	h := &Handoff{}
	var ours []*os.File // the container's ends, closed once it has them
	if !c.Spec.Process.Terminal {
		outR, outW, err := survivingPipe()
		if err != nil {
			return nil, ExitCannotRun, c.failStart(ExitCannotRun, err)
		}
		errR, errW, err := survivingPipe()
		if err != nil {
			outR.Close()
			outW.Close()
			return nil, ExitCannotRun, c.failStart(ExitCannotRun, err)
		}
		h.Stdout, h.Stderr = outR, errR
		c.stdio = Stdio{Stdout: outW, Stderr: errW}
		ours = []*os.File{outW, errW}
		if c.OpenStdin { // -i: a pipe whose write end the monitor keeps
			inR, inW, err := os.Pipe()
			if err != nil {
				h.Close()
				outW.Close()
				errW.Close()
				return nil, ExitCannotRun, c.failStart(ExitCannotRun, fmt.Errorf("making the container's stdin: %w", err))
			}
			h.Stdin, c.stdio.Stdin = inW, inR
			ours = append(ours, inR)
		}
	}
	c.handoff = true
	r, code, err := c.start()
	for _, f := range ours {
		f.Close()
	}
	c.stdio = Stdio{}
	if err != nil {
		if r != nil {
			r.close()
		}
		// Once its processes are gone, the pipes end.
		var copies sync.WaitGroup
		for _, p := range []struct {
			dst io.Writer
			src *os.File
		}{{stdout, h.Stdout}, {stderr, h.Stderr}} {
			if p.src != nil {
				copies.Add(1)
				go func() { defer copies.Done(); io.Copy(p.dst, p.src) }()
			}
		}
		waitTimeout(&copies, 5*time.Second)
		h.Close()
		return nil, code, c.failStart(code, err)
	}
	if r.tt != nil {
		h.Master = r.tt.takeMaster()
		r.tt.close()
	}
	r.flush()
	h.PID, _ = r.p.Pid()
	return h, 0, nil
}

// failStart tears down after a start that failed with err, keeping the
// lock, and returns err.
func (c *Container) failStart(code int, err error) error {
	c.teardown(code, err) // its failure adds nothing to err: a repair finishes it
	return err
}

// Resume takes up the container id again in its monitor after a re-exec
// (monitor/wait.go): the same process, still recorded in monitor.json,
// holding the lock as lock. It reads the record from disk.
func Resume(root, runRoot, id string, lock *os.File, cg *cgroups.Host) (*Container, error) {
	if cg == nil {
		return nil, errors.New("resuming container: no cgroup host")
	}
	c := &Container{dir: filepath.Join(containersDir(root), id), runRoot: runRoot, cg: cg,
		lockf: lock, unlock: func() { lock.Close() }}
	info, err := loadInfo(c.dir)
	if err != nil {
		return nil, err
	}
	c.Record, c.remove = info.Record, info.Remove
	return c, nil
}

// Finish tears the container down after its init ended with code and was
// reaped: what libcontainer left (its state, processes left in the
// cgroup), then as after any run (teardown), keeping the lock.
func (c *Container) Finish(code int) error {
	lc, err := libcontainer.Load(c.stateRoot(), c.ID)
	switch {
	case err == nil:
		c.destroyErr = destroy(lc)
	case errors.Is(err, libcontainer.ErrNotExist):
	default:
		c.destroyErr = fmt.Errorf("loading container state: %w", err)
	}
	if err := c.teardown(code, nil); err != nil {
		return fmt.Errorf("cleaning up after the container: %w", err)
	}
	return nil
}

// Release lets go of the container's lock: the monitor is done.
func (c *Container) Release() { c.release() }

// HeldPortFiles are the port reservations this process holds for the
// container (duplicates of its own network's, or the files it was
// handed), to be handed on to a re-exec of the monitor.
func (c *Container) HeldPortFiles() ([]*os.File, error) {
	if c.net != nil {
		return c.net.Files()
	}
	return c.heldPorts, nil
}

// ContainerDir is the directory of container id: ROOT/containers/<id>.
func ContainerDir(root, id string) string { return filepath.Join(containersDir(root), id) }

// A foreground hako run is its container's monitor too, for as long as
// the container runs. Once the container has run for a while (a quick
// one never pays for it), it hands its wait to a fresh re-exec of itself
// as the detached monitor does (monitor/wait.go): HandOffAfter.

// HandOffAfter has Run, once the container's process has run for after,
// call handoff with the run: the init (not reaped), the pty master and
// what relaying it needs. handoff execs a process that waits for the
// container and does not return; if it returns an error, Run goes on
// waiting itself. Only a run whose stdio are this process's own 0, 1 and
// 2 (or none) is handed on, and not under --debug (the teardown is told).
func (c *Container) HandOffAfter(after time.Duration, handoff func(*Handoff) error) {
	c.handoffAfter, c.handoffFn = after, handoff
}

// Roots are the --root and --runroot the container lives in.
func (c *Container) Roots() (root, runRoot string) {
	return filepath.Dir(filepath.Dir(c.dir)), c.runRoot
}

// HandsOff reports whether Run will hand its wait on (HandOffAfter).
func (c *Container) HandsOff() bool { return c.canHandOff() }

func (c *Container) canHandOff() bool {
	if c.handoffFn == nil || c.debugf != nil {
		return false
	}
	for i, s := range []any{c.stdio.Stdin, c.stdio.Stdout, c.stdio.Stderr} {
		if s == nil {
			continue
		}
		if f, ok := s.(*os.File); !ok || f.Fd() != uintptr(i) {
			return false
		}
	}
	return true
}

// waitOrHandOff is wait for a run that can be handed on: it waits for the
// init through a pidfd, reaping it only here, and hands the run on once it
// has run for c.handoffAfter.
func (c *Container) waitOrHandOff(r *startedRun, sigs chan os.Signal) (int, error) {
	pid, err := r.p.Pid()
	if err != nil {
		return wait(r.p, sigs, r.tt, !c.noSigProxy)
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil { // before Linux 5.10
		return wait(r.p, sigs, r.tt, !c.noSigProxy)
	}
	pidf := os.NewFile(uintptr(fd), "pidfd")
	defer pidf.Close()
	return c.waitPidfdOrHandOff(pid, pidf, r.tt, sigs)
}

// waitPidfdOrHandOff is waitOrHandOff's wait for the init pid through its
// pidfd pidf; tt is the run's pty (nil: none).
func (c *Container) waitPidfdOrHandOff(pid int, pidf *os.File, tt *tty, sigs chan os.Signal) (int, error) {
	type result struct {
		code   int
		reaped bool
	}
	res := make(chan result, 1)
	waitInit := func() {
		code, reaped := ReapPidfd(pidf, pid)
		res <- result{code, reaped}
	}
	go waitInit()
	timer := time.NewTimer(c.handoffAfter)
	defer timer.Stop()
	handle := func(s os.Signal) {
		switch s {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
		case unix.SIGWINCH:
			if tt != nil {
				tt.resize()
			}
		default:
			if !c.noSigProxy {
				unix.Kill(pid, s.(unix.Signal)) // not reaped: the pid is still the init's
			}
		}
	}
	for {
		select {
		case s := <-sigs:
			handle(s)
		case <-timer.C:
			pidf.SetReadDeadline(time.Now()) // the waiter returns, having reaped or not
			if got := <-res; got.reaped {
				if tt != nil {
					tt.drain()
				}
				return got.code, nil
			}
			pidf.SetReadDeadline(time.Time{})
			h := &Handoff{PID: pid, SizeFrom: -1}
			if t := tt; t != nil {
				t.stopCopies()
				h.Master, h.Terminal = t.masterF, t.orig
				h.InputFromStdin = t.stdio.Stdin != nil
				switch {
				case t.host != nil:
					h.SizeFrom = 0
				case t.sizer != nil:
					h.SizeFrom = 1
				}
			}
			// What came meanwhile (stopping the copies takes up to 50 ms)
			// is passed on now: the exec would drop it with this process.
			for pending := true; pending; {
				select {
				case s := <-sigs:
					handle(s)
				default:
					pending = false
				}
			}
			c.handoffFn(h) // returns only if it failed: wait on here
			if tt != nil {
				tt.startCopies()
			}
			go waitInit()
		case got := <-res:
			if tt != nil {
				tt.drain()
			}
			if !got.reaped {
				return ExitCannotRun, errors.New("waiting for container process: its pidfd failed")
			}
			return got.code, nil
		}
	}
}

// ReapPidfd waits for the process pid, a child of this process, to end
// and reaps it, through its nonblocking pidfd in Go's poller: no thread
// blocks in wait4(2). It returns the shell's exit code; reaped is false
// when pidf's read deadline passed first (the process is not reaped).
func ReapPidfd(pidf *os.File, pid int) (code int, reaped bool) {
	rc, err := pidf.SyscallConn()
	if err != nil {
		return 0, false
	}
	var ws unix.WaitStatus
	var werr error
	err = rc.Read(func(uintptr) bool {
		for {
			wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				werr = err
				return true
			}
			return wpid == pid
		}
	})
	if err != nil {
		return 0, false
	}
	if werr != nil {
		return ExitKilled, true // not our child: its status is lost
	}
	return WaitStatusCode(ws), true
}

// WaitStatusCode is the shell's view of a wait status: the exit status, or
// 128+N for a process killed by signal N.
func WaitStatusCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
