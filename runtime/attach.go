package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// Attach: the monitor of every detached container serves clients (hako
// attach, start -a) on a unix socket, RUNROOT/attach/<id>.sock, with the
// container's output as it comes; with -t it keeps the pty master, with -i
// the write end of the stdin pipe, for their input.
//
// The protocol is frames both ways: one type byte, a 4-byte big-endian
// length, the payload.
//
//	client → monitor: 'i' input bytes, 'w' window size (uint16 cols, uint16 rows)
//	monitor → client: 'o' stdout (or the pty's) bytes, 'e' stderr bytes,
//	                  'x' the container's exit code (int32), last
const (
	frameInput  = 'i'
	frameResize = 'w'
	frameOutput = 'o'
	frameStderr = 'e'
	frameExit   = 'x'
)

// maxFrame bounds a frame's payload, so a bad peer cannot make us allocate.
const maxFrame = 1 << 20

func writeFrame(w io.Writer, typ byte, p []byte) error {
	hdr := [5]byte{typ}
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	_, err := w.Write(append(hdr[:], p...))
	return err
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("attach: frame of %d bytes", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return hdr[0], p, err
}

// attachDir holds the monitors' sockets.
func attachDir(runRoot string) string { return filepath.Join(runRoot, "attach") }

// sockName is the socket's name in attachDir. Both sides reach it through
// /proc/self/fd/DIRFD/NAME, which stays short of sun_path's 108 bytes
// however long RUNROOT is.
func sockName(id string) string { return id + ".sock" }

// viaDir runs f with a short path to name in dir.
func viaDir(dir, name string, f func(path string) error) error {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return f(fmt.Sprintf("/proc/self/fd/%d/%s", fd, name))
}

// Attachable reports whether the container keeps a stdin or pty for attach.
func (r *Record) Attachable() bool {
	return r.OpenStdin || (r.Spec != nil && r.Spec.Process != nil && r.Spec.Process.Terminal)
}

// AttachHub is the monitor's side: the container's output goes to the
// log and to every client; the clients' input goes to the container, if it
// keeps a stdin or pty. The monitor's waiting process serves it
// (monitor/wait.go); the socket and the connected clients are handed on
// across its re-execs (Handoff).
type AttachHub struct {
	stdout     hubStream
	stderr     hubStream
	ln         *net.UnixListener
	path       string
	acceptDone chan struct{}
	mu         sync.Mutex
	clients    map[net.Conn]bool
	input      io.Writer               // the pty master or the stdin pipe of the current run
	resize     func(cols, rows uint16) // -t: the pty's
}

// ListenAttach makes the container's attach socket, for NewAttachHub
// (in the same process, or handed to a re-exec).
func ListenAttach(runRoot, id string) (*net.UnixListener, error) {
	dir := attachDir(runRoot)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the attach socket: %w", err)
	}
	os.Remove(filepath.Join(dir, sockName(id))) // a dead monitor's
	var ln net.Listener
	err := viaDir(dir, sockName(id), func(p string) (err error) {
		ln, err = net.Listen("unix", p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("making the attach socket: %w", err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // the /proc path is not the real one
	return ul, nil
}

// RemoveAttachSocket removes the container's attach socket.
func RemoveAttachSocket(runRoot, id string) {
	os.Remove(filepath.Join(attachDir(runRoot), sockName(id)))
}

// NewAttachHub serves the container's attach socket ln (ListenAttach's)
// with clients already connected; stdout and stderr (the log's streams)
// are where the output goes besides the clients.
func NewAttachHub(runRoot, id string, ln *net.UnixListener, clients []net.Conn, stdout, stderr io.Writer) *AttachHub {
	h := &AttachHub{ln: ln, path: filepath.Join(attachDir(runRoot), sockName(id)),
		clients: map[net.Conn]bool{}, acceptDone: make(chan struct{})}
	h.stdout, h.stderr = hubStream{h, stdout, frameOutput}, hubStream{h, stderr, frameStderr}
	for _, conn := range clients {
		h.clients[conn] = true
		go h.serve(conn)
	}
	go h.accept()
	return h
}

func (h *AttachHub) accept() {
	defer close(h.acceptDone)
	for {
		conn, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		h.clients[conn] = true
		h.mu.Unlock()
		go h.serve(conn)
	}
}

func (h *AttachHub) serve(conn net.Conn) {
	defer h.drop(conn)
	for {
		typ, p, err := readFrame(conn)
		if err != nil {
			return
		}
		h.mu.Lock()
		in, resize := h.input, h.resize
		h.mu.Unlock()
		switch typ {
		case frameInput:
			if in != nil {
				in.Write(p)
			}
		case frameResize:
			if resize != nil && len(p) == 4 {
				resize(binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]))
			}
		}
	}
}

func (h *AttachHub) drop(conn net.Conn) {
	h.mu.Lock()
	delete(h.clients, conn)
	h.mu.Unlock()
	conn.Close()
}

// Stdout and Stderr are the container's output streams.
func (h *AttachHub) Stdout() io.Writer { return &h.stdout }
func (h *AttachHub) Stderr() io.Writer { return &h.stderr }

// hubStream is one output stream: to its log stream and to the clients.
type hubStream struct {
	h   *AttachHub
	log io.Writer
	typ byte // frameOutput or frameStderr
}

// Write sends the container's output to the log and to the clients.
func (s *hubStream) Write(p []byte) (int, error) {
	h := s.h
	n, err := s.log.Write(p)
	h.mu.Lock()
	for conn := range h.clients {
		// A client that stops reading is dropped rather than stall the
		// container (and its log).
		conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if writeFrame(conn, s.typ, p) != nil {
			delete(h.clients, conn)
			conn.Close()
		}
	}
	h.mu.Unlock()
	return n, err
}

// UseInput makes w the current run's input (-i's stdin pipe, or -t's pty
// master, with resize for its window size); nil, nil: none.
func (h *AttachHub) UseInput(w io.Writer, resize func(cols, rows uint16)) {
	h.mu.Lock()
	h.input, h.resize = w, resize
	h.mu.Unlock()
}

// Ended tells the clients the container's exit code and lets them go: a
// client attaches to one run, as Docker's.
func (h *AttachHub) Ended(code int) {
	h.mu.Lock()
	h.input, h.resize = nil, nil
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	for conn := range h.clients {
		writeFrame(conn, frameExit, b[:])
		conn.Close()
		delete(h.clients, conn)
	}
	h.mu.Unlock()
}

// Handoff stops accepting and returns the socket and the connected
// clients as files, to be handed to a re-exec of the monitor (which makes
// a new hub of them). The hub is not used afterwards.
func (h *AttachHub) Handoff() (ln *os.File, clients []*os.File, err error) {
	h.ln.SetDeadline(time.Unix(1, 0)) // Accept returns now
	<-h.acceptDone
	if ln, err = h.ln.File(); err != nil {
		return nil, nil, fmt.Errorf("handing over the attach socket: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for conn := range h.clients {
		if uc, ok := conn.(*net.UnixConn); ok {
			if f, err := uc.File(); err == nil {
				clients = append(clients, f)
			}
		}
	}
	return ln, clients, nil
}

// Close stops serving and removes the socket.
func (h *AttachHub) Close() {
	h.ln.Close()
	os.Remove(h.path)
}

// ErrDetached is the client's end by the detach keys.
var ErrDetached = errors.New("read escape sequence")

// AttachOptions is hako attach's.
type AttachOptions struct {
	Stdin      io.Reader // nil: --no-stdin; unread unless the container has -i or -t
	Stdout     io.Writer
	Stderr     io.Writer // nil: with Stdout
	DetachKeys []byte    // the sequence that detaches; empty: none
}

// Attach connects to the monitor of the running container info and relays
// until the container ends (its exit code) or the detach keys are read
// (ErrDetached). A container without -i or -t gets its output relayed
// only, as Docker's: stdin is not read, the terminal not made raw.
func Attach(runRoot string, info *Info, o AttachOptions) (int, error) {
	if info.Log == nil {
		return 1, fmt.Errorf("container %s runs in the foreground of a hako run: its terminal has it, there is nothing to attach to", info.ID[:12])
	}
	if o.Stderr == nil {
		o.Stderr = o.Stdout
	}
	tty := info.Spec != nil && info.Spec.Process != nil && info.Spec.Process.Terminal
	if !info.Attachable() {
		o.Stdin = nil
	}
	var conn net.Conn
	err := viaDir(attachDir(runRoot), sockName(info.ID), func(p string) (err error) {
		conn, err = net.Dial("unix", p)
		return err
	})
	if err != nil {
		return 1, fmt.Errorf("attaching to container %s: its monitor does not answer: %w", info.ID[:12], err)
	}
	defer conn.Close()
	var wmu sync.Mutex // input and resize frames come from two goroutines
	send := func(typ byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return writeFrame(conn, typ, p)
	}
	var host, sizer console.Console // the terminal, for a container's pty only
	if tty {
		host = terminal(o.Stdin)
		if sizer = host; sizer == nil {
			sizer = terminal(o.Stdout)
		}
	}
	if host != nil {
		if err := setRaw(host); err != nil {
			return 1, fmt.Errorf("setting the terminal to raw mode: %w", err)
		}
		defer host.Reset()
	}
	if sizer != nil {
		stopWinch := watchResize(sizer, send)
		defer stopWinch()
	}
	detached := make(chan struct{})
	if o.Stdin != nil {
		sendInput := func(p []byte) error { return send(frameInput, p) }
		if !info.OpenStdin { // -t without -i: stdin is read for the detach keys only
			sendInput = func([]byte) error { return nil }
		}
		go func() {
			if relayInput(o.Stdin, o.DetachKeys, sendInput) {
				close(detached)
				conn.Close()
			}
		}()
	}
	for {
		typ, p, err := readFrame(conn)
		if err != nil {
			select {
			case <-detached:
				return 0, ErrDetached
			default:
			}
			return 1, fmt.Errorf("attaching to container %s: the monitor went away", info.ID[:12])
		}
		switch typ {
		case frameOutput:
			o.Stdout.Write(p)
		case frameStderr:
			o.Stderr.Write(p)
		case frameExit:
			if len(p) == 4 {
				return int(int32(binary.BigEndian.Uint32(p))), nil
			}
		}
	}
}

// relayInput sends stdin on, holding back a prefix of the detach keys
// until it either completes (true: detach) or breaks (the held bytes go
// on). It returns false at the end of stdin or a send error.
func relayInput(in io.Reader, keys []byte, send func([]byte) error) bool {
	buf := make([]byte, 32*1024)
	matched := 0
	for {
		n, err := in.Read(buf)
		out := make([]byte, 0, n+len(keys))
		for _, b := range buf[:n] {
			if len(keys) > 0 && b == keys[matched] {
				matched++
				if matched == len(keys) {
					if len(out) > 0 {
						send(out)
					}
					return true
				}
				continue
			}
			out = append(out, keys[:matched]...)
			matched = 0
			if len(keys) > 0 && b == keys[0] {
				matched = 1
				continue
			}
			out = append(out, b)
		}
		if len(out) > 0 && send(out) != nil {
			return false
		}
		if err != nil {
			return false
		}
	}
}

// ParseDetachKeys reads Docker's --detach-keys: comma-separated keys, each
// a single character or ctrl-X (X a letter or one of @[\]^_).
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = "ctrl-p,ctrl-q"
	}
	var keys []byte
	for _, k := range splitComma(s) {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case len(k) == 6 && k[:5] == "ctrl-":
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c >= '@' && c <= '_' && !(c >= 'A' && c <= 'Z'):
				keys = append(keys, c-'@')
			default:
				return nil, fmt.Errorf("invalid detach keys %q: unknown character %q", s, k)
			}
		default:
			return nil, fmt.Errorf("invalid detach keys %q: unknown character %q", s, k)
		}
	}
	return keys, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// watchResize sends the terminal's size now and on every SIGWINCH.
func watchResize(t console.Console, send func(byte, []byte) error) (stop func()) {
	sendSize := func() {
		if size, err := t.Size(); err == nil {
			var b [4]byte
			binary.BigEndian.PutUint16(b[:], size.Width)
			binary.BigEndian.PutUint16(b[2:], size.Height)
			send(frameResize, b[:])
		}
	}
	sendSize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				sendSize()
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(winch); close(done) }
}
