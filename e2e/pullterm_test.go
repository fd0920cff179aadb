package e2e

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerd/console"
	"github.com/hako-run/hako/internal/termscreen"
	"github.com/hako-run/hako/internal/testimage"
)

// TestPullTerminalLastFrame pulls a 3-layer image with hako's output on a
// terminal and replays what the terminal received: the screen ends as
// Docker's does, every layer "Pull complete" above the digest and status.
func TestPullTerminalLastFrame(t *testing.T) {
	img := busybox.img
	for _, f := range []string{"one", "two"} {
		var err error
		if img, err = testimage.WithLayer(img, map[string]testimage.File{"layer-" + f: {Mode: 0o644, Content: []byte(f + "\n")}}); err != nil {
			t.Fatal(err)
		}
	}
	p := push(t, registry+"/pullterm:latest", img)
	if len(p.layers) != 3 {
		t.Fatalf("test image has %d layers, want 3", len(p.layers))
	}

	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	if err := pty.Resize(console.WinSize{Height: 30, Width: 120}); err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	cmd := s.cmd("pull", p.ref)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close() // hako holds its own copy; EOF comes when it exits
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, pty); close(copied) }()
	timer := time.AfterFunc(hakoTimeout, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	timer.Stop()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
		t.Fatal("the terminal did not reach EOF after hako exited")
	}
	if err != nil {
		t.Fatalf("hako pull on a terminal: %v\n%q", err, out.String())
	}

	screen := termscreen.Screen(out.String())
	want := []string{"latest: Pulling from pullterm"}
	for _, l := range p.layers {
		want = append(want, shortID(l.String())+" Pull complete")
	}
	want = append(want, "Digest: "+p.manifest.String(), "Status: Downloaded newer image for "+p.ref, p.ref)
	if len(screen) != len(want) {
		t.Fatalf("last frame has %d lines, want %d:\n%s\nraw: %q", len(screen), len(want), strings.Join(screen, "\n"), out.String())
	}
	for i, line := range screen {
		if !strings.HasPrefix(line, want[i]) {
			t.Errorf("last frame line %d: %q, want it to start %q", i+1, line, want[i])
		}
	}
	if t.Failed() {
		t.Logf("last frame:\n%s", strings.Join(screen, "\n"))
	}
}
