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
	"github.com/hako-run/hako/internal/termscreen"
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

// onTerminal feeds events to a progress printer writing to a pty of width
// columns, pausing after each as long as pause says, then writes after (as
// pull writes its status) and returns all that the terminal received.
func onTerminal(t *testing.T, width uint16, events []image.Event, pause func(image.Event) time.Duration, after string) string {
	t.Helper()
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
	if err := pty.Resize(console.WinSize{Height: 24, Width: width}); err != nil {
		t.Fatal(err)
	}
	pp := newProgressPrinter(slave)
	if pp.tty == nil {
		t.Fatal("a terminal got plain progress")
	}
	for _, e := range events {
		pp.event(e)
		time.Sleep(pause(e))
	}
	pp.wait()
	slave.WriteString(after)
	slave.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	return screen.String()
}

// On a terminal, each layer gets a bar with its byte counts.
func TestProgressTerminal(t *testing.T) {
	got := onTerminal(t, 120, pullEvents, func(image.Event) time.Duration { return 30 * time.Millisecond }, "")
	for _, want := range []string{"aaaaaaaaaaaa", "Pull complete", "4.0 MiB / 4.0 MiB", "bbbbbbbbbbbb", "Already exists"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal progress lacks %q:\n%q", want, got)
		}
	}
}

// The last frame shows every layer as Docker ends it, Pull complete or
// Already exists, even when the layers' last steps come just before the
// pull ends (bars once completed at Download complete, and the last frame
// drawn then showed Extracting).
func TestProgressTerminalLastFrame(t *testing.T) {
	// A base layer the store has, then three fresh ones.
	events := []image.Event{{Layer: "000000000000", Status: image.StatusExists, Total: 1 << 20}}
	for _, l := range []string{"111111111111", "222222222222", "333333333333"} {
		events = append(events,
			image.Event{Layer: l, Status: image.StatusWaiting, Total: 2 << 20},
			image.Event{Layer: l, Status: image.StatusDownloading, Current: 1 << 20, Total: 2 << 20},
			image.Event{Layer: l, Status: image.StatusDownloaded, Current: 2 << 20, Total: 2 << 20},
			image.Event{Layer: l, Status: image.StatusExtracting, Total: 2 << 20},
		)
	}
	for _, l := range []string{"111111111111", "222222222222", "333333333333"} {
		events = append(events, image.Event{Layer: l, Status: image.StatusComplete, Total: 2 << 20})
	}
	// Steps outlast the redraws (progressRefresh, 150 ms); the final ones come at once,
	// as small layers finish, right before pull waits for the bars.
	pause := func(e image.Event) time.Duration {
		if e.Status == image.StatusComplete || e.Status == image.StatusExists {
			return 0
		}
		return 250 * time.Millisecond
	}
	out := onTerminal(t, 120, events, pause, "Status: Downloaded newer image for x:latest\n")
	screen := termscreen.Screen(out)
	want := map[string]string{"111111111111": "Pull complete", "222222222222": "Pull complete", "333333333333": "Pull complete", "000000000000": "Already exists"}
	if len(screen) != len(want)+1 || screen[len(screen)-1] != "Status: Downloaded newer image for x:latest" {
		t.Fatalf("last frame:\n%s", strings.Join(screen, "\n"))
	}
	for _, line := range screen[:len(want)] {
		layer, _, _ := strings.Cut(line, " ")
		if status, ok := want[layer]; !ok || !strings.Contains(line, status) {
			t.Errorf("last frame shows %q, want %s %s", line, layer, status)
		}
		delete(want, layer)
	}
	if len(want) != 0 {
		t.Errorf("last frame lacks %v:\n%s", want, strings.Join(screen, "\n"))
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
	if pp := newProgressPrinter(slave); pp.tty != nil {
		t.Error("a zero-width terminal got progress bars")
	}
}

// On a narrow terminal no line wraps (a wrapped line would throw the next
// frame's cursor movement off): the bar narrows, then goes.
func TestProgressNarrowTerminal(t *testing.T) {
	for _, width := range []uint16{80, 50, 30} {
		got := onTerminal(t, width, pullEvents, func(image.Event) time.Duration { return 20 * time.Millisecond }, "")
		for _, line := range termscreen.Screen(got) {
			if len(line) >= int(width) {
				t.Errorf("%d columns: line of %d: %q", width, len(line), line)
			}
		}
		if !strings.Contains(got, "Pull complete") {
			t.Errorf("%d columns: no Pull complete in %q", width, got)
		}
	}
}

func TestProgressBar(t *testing.T) {
	for _, c := range []struct {
		l    layerProgress
		want string
	}{
		{layerProgress{total: 100}, "[--------]"},
		{layerProgress{current: 50, total: 100}, "[====>---]"},
		{layerProgress{current: 100, total: 100}, "[=======>]"},
		{layerProgress{current: 100, total: 100, finished: true}, "[========]"},
		{layerProgress{finished: true}, "[========]"},
	} {
		if got := c.l.bar(10); got != c.want {
			t.Errorf("bar of %+v = %q, want %q", c.l, got, c.want)
		}
	}
	for n, want := range map[int64]string{0: "0.0 b", 1023: "1023.0 b", 1536: "1.5 KiB", 4 << 20: "4.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
