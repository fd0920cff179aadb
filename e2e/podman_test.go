package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSaveLoadsIntoPodman checks `hako save` against a real peer: podman
// (Debian's) loads the archive and sees the same image ID (config digest),
// and an archive podman saved loads into hako with that ID too.
func TestSaveLoadsIntoPodman(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman is needed as the test oracle (make test installs it): %v", err)
	}
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	archive := filepath.Join(t.TempDir(), "box.tar")
	s.mustHako(t, "save", "-o", archive, busybox.ref)

	removePodmanCacheAfter(t)
	podRoot, podRun := t.TempDir(), t.TempDir()
	podman := func(args ...string) string {
		t.Helper()
		full := append([]string{"--root", podRoot, "--runroot", podRun, "--storage-driver", "vfs",
			"--cgroup-manager", "cgroupfs", "--events-backend", "none"}, args...)
		out, err := exec.Command("podman", full...).CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		exec.Command("podman", "--root", podRoot, "--runroot", podRun, "--storage-driver", "vfs", "system", "reset", "-f").Run()
		os.RemoveAll(podRoot)
	})
	podman("load", "-i", archive)
	ids := podman("images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")
	if !strings.Contains(ids, strings.TrimPrefix(busybox.config.String(), "sha256:")) || !strings.Contains(ids, busybox.ref) {
		t.Fatalf("podman images after loading hako's archive:\n%s\nwant ID %s named %s", ids, busybox.config, busybox.ref)
	}

	// And back: podman's own docker-archive into a fresh hako store.
	back := filepath.Join(t.TempDir(), "podman.tar")
	podman("save", "--format", "docker-archive", "-o", back, busybox.ref)
	s2 := newStore(t)
	out := s2.mustHako(t, "load", "-i", back)
	if !strings.Contains(out, "Loaded image: "+busybox.ref) {
		t.Errorf("hako load of podman's archive printed %q", out)
	}
	if id := strings.TrimSpace(s2.mustHako(t, "inspect", "--format", "{{.Id}}", busybox.ref)); id != busybox.config.String() {
		t.Errorf("image ID after the round trip through podman = %s, want %s", id, busybox.config)
	}
}
