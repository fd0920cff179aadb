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

// TestPushTerminalLastFrame pushes a 3-layer image with hako's output on a
// terminal and replays what the terminal received: the screen ends as
// Docker's does, every layer "Pushed" (top layer first) above the digest.
func TestPushTerminalLastFrame(t *testing.T) {
	img := busybox.img
	for _, f := range []string{"one", "two"} {
		var err error
		if img, err = testimage.WithLayer(img, map[string]testimage.File{"layer-" + f: {Mode: 0o644, Content: []byte(f + "\n")}}); err != nil {
			t.Fatal(err)
		}
	}
	p := push(t, registry+"/pushterm:latest", img)
	reg := authRegistry(t)
	env := dockerHome(t)
	s := newStore(t)
	s.mustHako(t, "pull", p.ref)
	dest := reg + "/pushterm:latest"
	s.mustHako(t, "tag", p.ref, dest)
	if _, errOut, code := s.hakoEnv(t, env, strings.NewReader(authPassword), "login", "-u", authUser, "--password-stdin", reg); code != 0 {
		t.Fatalf("login: %s", errOut)
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
	cmd := s.cmd("push", dest)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
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
		t.Fatalf("hako push on a terminal: %v\n%q", err, out.String())
	}

	screen := termscreen.Screen(out.String())
	want := []string{"The push refers to repository [" + reg + "/pushterm]"}
	for i := len(p.layers) - 1; i >= 0; i-- {
		want = append(want, shortID(p.layers[i].String())+" Pushed")
	}
	want = append(want, "latest: digest: "+p.manifest.String()+" size: ")
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
