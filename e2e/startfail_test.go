package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedStartKeepsStopMark: a start that fails leaves a container
// stopped by hand stopped by hand, so the boot command does not bring back
// an unless-stopped container the user stopped.
func TestFailedStartKeepsStopMark(t *testing.T) {
	s := runStore(t)
	id := strings.TrimSpace(s.mustHako(t, "run", "-d", "--restart", "unless-stopped", busybox.ref, "sleep", "300"))
	t.Cleanup(func() { s.hako(t, "rm", "-f", id) })
	s.mustHako(t, "stop", "-t", "0", id)
	dir := filepath.Join(s.root, "containers", id)
	mark := filepath.Join(dir, "stopped.json")
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("no stop mark after stop: %v", err)
	}
	// Break the next mount: the overlay's work dir is gone (a file instead).
	work := filepath.Join(dir, "work")
	if err := os.RemoveAll(work); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(work, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, code := s.hako(t, "start", id); code == 0 {
		t.Fatal("start with a broken rootfs succeeded")
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the failed start removed the stop mark: %v", err)
	}
	if out, _, _ := s.hako(t, "start", "--all-restartable"); strings.Contains(out, id[:12]) || strings.Contains(out, id) {
		t.Errorf("the boot command started a container stopped by hand: %q", out)
	}
	os.Remove(work)
	os.Mkdir(work, 0o700)
}
