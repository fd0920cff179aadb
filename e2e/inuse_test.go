package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hako-run/hako/internal/testimage"
)

// TestRmiImageInUse: an image a container uses (here an exited one, whose
// upper directory sits on the image's layers) cannot be removed; rmi -f of
// its tag only untags it, as in Docker, and its layers stay until the
// container is gone.
func TestRmiImageInUse(t *testing.T) {
	s := runStore(t)
	s.mustRun(t, busybox.ref, "sh", "-c", "echo data > /file")
	ids := s.containerIDs(t)
	if len(ids) != 1 {
		t.Fatalf("records %v, want one", ids)
	}
	dir := filepath.Join(s.root, "containers", ids[0])
	layers := s.layerDirs(t)
	if len(layers) == 0 {
		t.Fatal("no layers after pull")
	}

	out, errOut, code := s.hako(t, "rmi", busybox.ref)
	wantOneError(t, "rmi of an image in use", errOut, code)
	if !strings.Contains(errOut, "conflict: unable to delete "+shortID(busybox.config.String())) ||
		!strings.Contains(errOut, "image is being used by") {
		t.Errorf("rmi stderr %q, want Docker's conflict message", errOut)
	}
	if out != "" {
		t.Errorf("rmi stdout %q, want nothing untagged", out)
	}
	if n := s.refEntries(t, busybox.ref); n != 1 {
		t.Errorf("index entries for %s after a refused rmi: %d, want 1", busybox.ref, n)
	}
	if got := s.layerDirs(t); !slices.Equal(got, layers) {
		t.Errorf("layers after a refused rmi: %q, want %q", got, layers)
	}

	out = s.mustHako(t, "rmi", "-f", busybox.ref)
	// Docker prints only Untagged lines here and keeps a dangling image.
	if !strings.Contains(out, "Untagged: ") || strings.Contains(out, "Deleted: ") {
		t.Errorf("rmi -f stdout %q, want only Untagged lines", out)
	}
	if rows := s.images(t); len(rows) != 1 || rows[0].Repository != "<none>" || rows[0].ID != shortID(busybox.config.String()) {
		t.Errorf("images after rmi -f of an image in use: %+v, want one dangling <none> row", rows)
	}
	if n := s.refEntries(t, busybox.ref); n != 0 {
		t.Errorf("index entries for %s after rmi -f: %d, want 0", busybox.ref, n)
	}
	if got := s.layerDirs(t); !slices.Equal(got, layers) {
		t.Errorf("layers after rmi -f: %q, want %q kept for the container", got, layers)
	}
	for _, h := range append(slices.Clone(busybox.layers), busybox.config, busybox.manifest) {
		if _, err := os.Stat(filepath.Join(s.root, "images", "blobs", "sha256", h.Hex)); err != nil {
			t.Errorf("blob %s of the image in use: %v", h, err)
		}
	}
	// The container is intact.
	for _, f := range []string{"config.json", "status.json", "upper/file"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("container after rmi -f: %v", err)
		}
	}
	checkBusyboxExtracted(t, s)

	// Once the container is gone, the dangling image can be removed by ID,
	// and garbage collection takes its layers.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	img, err := testimage.WithLayer(busybox.img, map[string]testimage.File{"other": {Mode: 0o644, Content: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	other := push(t, registry+"/inuse-other:latest", img)
	s.mustHako(t, "pull", "-q", other.ref)
	s.mustHako(t, "rmi", other.ref)
	s.mustHako(t, "rmi", shortID(busybox.config.String()))
	if got := s.layerDirs(t); len(got) != 0 {
		t.Errorf("layers after the container and both images are gone: %q", got)
	}
}

// TestRmiImageOfRunningContainer: a running container's image is in use too.
func TestRmiImageOfRunningContainer(t *testing.T) {
	s := runStore(t)
	cmd := s.cmd("run", "--rm", "--network", "none", busybox.ref, "sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	id, pid := s.waitForInit(t, "sleep")
	layers := s.layerDirs(t)

	_, errOut, code := s.hako(t, "rmi", busybox.ref)
	wantOneError(t, "rmi of a running container's image", errOut, code)
	if got := s.layerDirs(t); !slices.Equal(got, layers) {
		t.Errorf("layers after a refused rmi: %q, want %q", got, layers)
	}
	if !processRunning(pid) {
		t.Errorf("container %s stopped by rmi", id)
	}
	// End the container the normal way: its monitor sees it killed.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 137 {
		t.Errorf("hako run exit %d, want 137", code)
	}
}
