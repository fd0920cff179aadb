package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 13).

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A start that fails after Run began its open of the exec fifo ends the
// open, whether it is waiting in the kernel or has not begun, and leaves
// no goroutine waiting.
func TestCancelRunFifo(t *testing.T) {
	for _, wait := range []time.Duration{0, 20 * time.Millisecond} {
		c := &Container{stateDir: t.TempDir()}
		if err := unix.Mkfifo(filepath.Join(c.stateDir, execFifoFilename), 0o622); err != nil {
			t.Fatal(err)
		}
		c.runFifo = &runFifo{}
		c.openRunFifo()
		if c.runFifo.ch == nil {
			t.Fatal("openRunFifo began no open")
		}
		time.Sleep(wait)
		done := make(chan struct{})
		go func() {
			c.cancelRunFifo()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("cancelRunFifo (open waited %v) did not return", wait)
		}
		if c.runFifo != nil {
			t.Fatal("runFifo still set")
		}
	}
}

// Run's open is what exec uses: the init's write and exit complete it.
func TestRunFifoUsedByExec(t *testing.T) {
	c := &Container{stateDir: t.TempDir()}
	fifo := filepath.Join(c.stateDir, execFifoFilename)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		t.Fatal(err)
	}
	c.runFifo = &runFifo{}
	c.openRunFifo()
	ch := c.runFifo.ch
	// The init's side: open for writing (does not block: the reader
	// waits), write, close as its execve does.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("0")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := handleFifoResult(<-ch); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fifo); !os.IsNotExist(err) {
		t.Fatalf("exec fifo not removed: %v", err)
	}
}
