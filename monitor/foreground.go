package monitor

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/internal/earlysignal"
	"github.com/hako-run/hako/runtime"
)

// The foreground hako run is its container's monitor: once the container
// has run for a second, it hands its wait to a fresh re-exec of itself,
// as the detached monitor does (wait.go). The container's stdio are hako's
// own (fds 0, 1, 2), so there is nothing to relay without a pty; with one,
// the wait relays the pty master to and from its terminal, whose settings
// (raw mode) stay as they are and are restored at the end.

// foregroundAfter is how long a foreground run's container runs before
// its wait is handed on: a quick command never pays for the re-exec.
const foregroundAfter = time.Second

// HandOffForeground makes c, a foreground run's container, hand its wait
// on once it has run for a second (runtime.Container.HandOffAfter).
// sigProxy is --sig-proxy.
func HandOffForeground(c *runtime.Container, sigProxy bool) {
	root, runRoot := c.Roots()
	c.HandOffAfter(foregroundAfter, func(h *runtime.Handoff) error {
		ports, err := c.HeldPortFiles()
		if err != nil {
			return err
		}
		lock := c.LockFile()
		if lock == nil {
			return fmt.Errorf("container %s: no lock to hand on", c.ID)
		}
		s := &waitState{root: root, runRoot: runRoot, id: c.ID, lock: lock, ports: ports, run: h,
			foreground: true, sigProxy: sigProxy}
		return execWait(s)
	})
}

// waitForeground is a foreground run's wait: it returns the exit code of
// hako run.
func waitForeground(s *waitState) int {
	run := s.run
	var relays sync.WaitGroup
	if run.Master != nil {
		relays.Add(1)
		go func() {
			defer relays.Done()
			io.CopyBuffer(os.Stdout, readerOnly{run.Master}, make([]byte, relayBuf))
		}()
		if run.InputFromStdin {
			go io.CopyBuffer(run.Master, readerOnly{os.Stdin}, make([]byte, relayBuf)) // ends with hako
		}
	}
	// As hako run did before: every signal but these is passed on
	// (--sig-proxy), or taken and let go.
	sigs := earlysignal.Notify(32) // all, with what arrived since the exec
	followSize := func() {
		if run.Master != nil && run.SizeFrom >= 0 {
			if ws, err := unix.IoctlGetWinsize(run.SizeFrom, unix.TIOCGWINSZ); err == nil {
				resizePty(run.Master, ws.Col, ws.Row)
			}
		}
	}
	// earlysignal does not catch SIGWINCH (Go drops it until Notify): a
	// resize during the exec is taken up here, once the handler is in place.
	followSize()
	go func() {
		for sig := range sigs {
			switch sig {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
			case unix.SIGWINCH:
				followSize()
			default:
				if s.sigProxy {
					unix.Kill(run.PID, sig.(syscall.Signal)) // not reaped: the pid is still the init's
				}
			}
		}
	}()
	time.AfterFunc(100*time.Millisecond, Trim)
	code := reap(run.PID)
	if run.Master != nil {
		done := make(chan struct{})
		go func() { relays.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		if run.Terminal != nil {
			unix.IoctlSetTermios(0, unix.TCSETS, run.Terminal)
		}
		run.Master.Close()
	}
	// Torn down as after any run; a failure is told, the code stands.
	cg, err := cgroups.Detect()
	var c *runtime.Container
	if err == nil {
		c, err = runtime.Resume(s.root, s.runRoot, s.id, s.lock, cg)
	}
	if err == nil {
		c.HoldPorts(s.ports)
		err = c.Finish(code)
		c.Release()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", err)
	}
	return code
}

// encodeTermios and decodeTermios carry a terminal's settings across the
// re-exec (the same binary on both sides).
func encodeTermios(t *unix.Termios) string {
	if t == nil {
		return "-"
	}
	return hex.EncodeToString(unsafe.Slice((*byte)(unsafe.Pointer(t)), unsafe.Sizeof(*t)))
}

func decodeTermios(s string) *unix.Termios {
	b, err := hex.DecodeString(s)
	var t unix.Termios
	if err != nil || len(b) != int(unsafe.Sizeof(t)) {
		return nil
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&t)), len(b)), b)
	return &t
}
