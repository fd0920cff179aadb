package main

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/console"
	"github.com/hako-run/hako/image"
)

var pullEvents = []image.Event{
	{Layer: "aaaaaaaaaaaa", Status: image.StatusWaiting, Total: 4 << 20},
	{Layer: "aaaaaaaaaaaa", Status: image.StatusDownloading, Current: 1 << 20, Total: 4 << 20},
	{Layer: "aaaaaaaaaaaa", Status: image.StatusDownloading, Current: 3 << 20, Total: 4 << 20},
	{Layer: "aaaaaaaaaaaa", Status: image.StatusDownloaded, Current: 4 << 20, Total: 4 << 20},
	{Layer: "aaaaaaaaaaaa", Status: image.StatusExtracting, Total: 4 << 20},
	{Layer: "aaaaaaaaaaaa", Status: image.StatusComplete, Total: 4 << 20},
	{Layer: "bbbbbbbbbbbb", Status: image.StatusExists, Total: 1 << 20},
}

// Off a terminal, each layer step is one plain line, as Docker prints them.
func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	pp := newProgressPrinter(&out)
	for _, e := range pullEvents {
		pp.event(e)
	}
	pp.wait()
	want := "aaaaaaaaaaaa: Waiting\naaaaaaaaaaaa: Download complete\naaaaaaaaaaaa: Extracting\naaaaaaaaaaaa: Pull complete\nbbbbbbbbbbbb: Already exists\n"
	if out.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", out.String(), want)
	}
}

// On a terminal, each layer gets a bar with its byte counts.
func TestProgressTerminal(t *testing.T) {
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pty.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				close(done)
				return
			}
		}
	}()
	if err := pty.Resize(console.WinSize{Height: 24, Width: 120}); err != nil {
		t.Fatal(err)
	}
	pp := newProgressPrinter(slave)
	if pp.p == nil {
		t.Fatal("a terminal got plain progress")
	}
	for _, e := range pullEvents {
		pp.event(e)
		time.Sleep(30 * time.Millisecond)
	}
	pp.wait()
	slave.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	mu.Lock()
	got := screen.String()
	mu.Unlock()
	for _, want := range []string{"aaaaaaaaaaaa", "Pull complete", "4.0 MiB / 4.0 MiB", "bbbbbbbbbbbb", "Already exists"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal progress lacks %q:\n%q", want, got)
		}
	}
}

// A terminal of width 0 (a serial console that never set its size) gets the
// plain lines: bars would render nothing there.
func TestProgressZeroWidthTerminal(t *testing.T) {
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if pp := newProgressPrinter(slave); pp.p != nil {
		t.Error("a zero-width terminal got progress bars")
	}
}
