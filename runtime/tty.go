package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// tty relays a container's pty, following runc's tty.go: the container's
// init allocates the pty in its own devpts and sends the master over a unix
// socket; hako copies between it and its own stdio, with the user's
// terminal in raw mode.
type tty struct {
	stdio    Stdio
	parent   *os.File // our end of the console socket
	child    *os.File // the container's end
	received chan recvResult
	master   console.Console
	host     console.Console // the user's terminal, when stdin is one (raw mode)
	sizer    console.Console // the terminal whose size the pty follows
	output   chan struct{}   // closed when the master's output is copied
	handoff  bool            // the master is handed on (StartDetached), not relayed
	masterF  *os.File        // the master's file
	// stoppable: the copies poll, so that stopCopies can end them between
	// two reads (a foreground run that hands its wait on, handoff.go).
	stoppable bool
	stop      atomic.Bool
	copies    sync.WaitGroup
	orig      *unix.Termios // the user's terminal before raw mode
}

type recvResult struct {
	f   *os.File
	err error
}

// newTTY sets up the console socket on p and starts waiting for the master.
func newTTY(p *libcontainer.Process, stdio Stdio, handoff bool) (*tty, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating console socket: %w", err)
	}
	t := &tty{
		stdio:    stdio,
		parent:   os.NewFile(uintptr(fds[0]), "console-parent"),
		child:    os.NewFile(uintptr(fds[1]), "console-child"),
		received: make(chan recvResult, 1),
		output:   make(chan struct{}),
		handoff:  handoff,
	}
	t.host = terminal(stdio.Stdin)
	t.sizer = t.host
	if t.sizer == nil {
		t.sizer = terminal(stdio.Stdout) // -t without -i: size only, no raw mode
	}
	if t.sizer != nil {
		if size, err := t.sizer.Size(); err == nil {
			p.ConsoleWidth, p.ConsoleHeight = size.Width, size.Height
		}
	}
	p.ConsoleSocket = t.child
	go func() {
		f, err := recvFile(t.parent)
		t.received <- recvResult{f, err}
	}()
	return t, nil
}

// setRaw puts the user's terminal in raw mode as Docker's CLI does
// (x/term's MakeRaw: cfmakeraw(3), output processing off too): the
// container's pty already turns its "\n" into "\r\n". containerd/console's
// SetRaw keeps OPOST, which would need the pty's ONLCR cleared, and that
// cannot be done before the container's process writes or reads the pty's
// settings. The console's Reset restores the terminal as
// console.ConsoleFromFile found it.
func setRaw(c console.Console) error {
	_, err := term.MakeRaw(int(c.Fd()))
	return err
}

// terminal returns the console of a stream that is a terminal, else nil.
func terminal(stream any) console.Console {
	f, ok := stream.(*os.File)
	if !ok {
		return nil
	}
	c, err := console.ConsoleFromFile(f)
	if err != nil {
		return nil
	}
	return c
}

// recvFile receives one file descriptor sent with SCM_RIGHTS.
func recvFile(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, 0)
	if err != nil {
		return nil, fmt.Errorf("receiving the container's pty: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receiving the container's pty: bad control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receiving the container's pty: no file descriptor")
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// start takes the master once the container runs and starts the copying.
func (t *tty) start() error {
	t.child.Close()
	var r recvResult
	select {
	case r = <-t.received:
	case <-time.After(10 * time.Second):
		return errors.New("the container did not send its pty")
	}
	if r.err != nil {
		return r.err
	}
	master, err := console.ConsoleFromFile(r.f)
	if err != nil {
		r.f.Close()
		return fmt.Errorf("using the container's pty: %w", err)
	}
	// The pty keeps ONLCR, as Docker's does: the container's "\n" reaches
	// the user's terminal, and a log, as "\r\n"; the terminal's raw mode
	// has no output processing (setRaw).
	t.master, t.masterF = master, r.f
	if t.handoff {
		return nil // the waiting process relays it (handoff.go)
	}
	if t.host != nil {
		if f, ok := t.stdio.Stdin.(*os.File); ok {
			t.orig, _ = unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		}
		if err := setRaw(t.host); err != nil {
			return fmt.Errorf("setting the terminal to raw mode: %w", err)
		}
	}
	t.resize()
	t.startCopies()
	return nil
}

// startCopies copies the user's input to the pty and its output back.
func (t *tty) startCopies() {
	var out io.Writer = io.Discard
	if t.stdio.Stdout != nil {
		out = t.stdio.Stdout
	}
	if !t.stoppable {
		if t.stdio.Stdin != nil {
			go io.Copy(t.master, t.stdio.Stdin) // ends with hako; stdin reads can't be interrupted
		}
		go func() {
			io.Copy(out, t.master) // ends with EIO when the container's side closes
			close(t.output)
		}()
		return
	}
	t.stop.Store(false)
	output := make(chan struct{})
	t.output = output
	if in, ok := t.stdio.Stdin.(*os.File); ok {
		t.copies.Add(1)
		go func() { defer t.copies.Done(); pollCopy(t.master, in, &t.stop) }()
	}
	t.copies.Add(1)
	go func() {
		defer t.copies.Done()
		if pollCopy(out, t.masterF, &t.stop) {
			close(output)
		}
	}()
}

// stopCopies ends the copies between two reads: what is unread stays in
// the terminal and the pty for whoever reads them next.
func (t *tty) stopCopies() {
	t.stop.Store(true)
	t.copies.Wait()
}

// pollCopy copies src to dst as io.Copy does, but waits for src with
// poll(2), at most 50 ms at a time, so that stop ends it between two
// reads. It returns true at src's end (or a failed write), false when
// stopped.
func pollCopy(dst io.Writer, src *os.File, stop *atomic.Bool) bool {
	fd := int(src.Fd())
	buf := make([]byte, 8<<10)
	for !stop.Load() {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 50); n == 0 || err == unix.EINTR {
			continue
		} else if err != nil {
			return true
		}
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if n <= 0 {
			return true // end of file, or EIO once the container's side closed
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return true
		}
	}
	return false
}

// resize gives the pty the size of the user's terminal.
func (t *tty) resize() {
	if t.sizer != nil && t.master != nil {
		t.master.ResizeFrom(t.sizer)
	}
}

// drain waits (briefly) for the output of the exited container.
func (t *tty) drain() {
	if t.master == nil {
		return
	}
	select {
	case <-t.output:
	case <-time.After(2 * time.Second):
	}
}

// abort stops waiting for a master that will never come: once every copy
// of the child end is closed, the receiver sees end of file.
func (t *tty) abort() {
	t.child.Close()
}

// takeMaster hands the pty master over: close leaves it open.
func (t *tty) takeMaster() *os.File {
	f := t.masterF
	t.master, t.masterF = nil, nil
	return f
}

// close restores the user's terminal and closes the pty.
func (t *tty) close() {
	if t.host != nil {
		t.host.Reset()
	}
	if t.master != nil {
		t.master.Close()
	}
	t.child.Close()
	t.parent.Close()
}
