package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hako-run/hako/internal/testimage"
)

// TestPullImplicitParents pulls an image whose upper layers add files under
// a directory they have no entry for. Layers are extracted in parallel, so
// the directory each upper layer implies must still take its owner and mode
// from the layer below, as overlay shows the upper copy.
func TestPullImplicitParents(t *testing.T) {
	base, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimage.WithLayer(base, map[string]testimage.File{
		"var/":          {Mode: os.ModeDir | 0o755},
		"var/lib/":      {Mode: os.ModeDir | 0o755},
		"var/lib/data/": {Mode: os.ModeDir | os.ModeSetgid | 0o750, Uid: 65534, Gid: 65534},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range []string{"var/lib/data/one", "var/lib/data/two"} {
		if img, err = testimage.WithLayer(img, map[string]testimage.File{f: {Mode: 0o644, Content: []byte{byte('a' + i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	ref := registry + "/implicit:latest"
	push(t, ref, img)

	s := newStore(t)
	s.mustHako(t, "pull", ref)
	found := 0
	for _, f := range []string{"one", "two"} {
		for _, p := range s.layerFiles(t, "var/lib/data/"+f) {
			found++
			fi, err := os.Lstat(filepath.Dir(p))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode()&os.ModePerm != 0o750 || fi.Mode()&os.ModeSetgid == 0 || st.Uid != 65534 || st.Gid != 65534 {
				t.Errorf("%s: mode %v owner %d:%d, want the lower layer's drwxr-s--- 65534:65534", filepath.Dir(p), fi.Mode(), st.Uid, st.Gid)
			}
		}
	}
	if found != 2 {
		t.Fatalf("found %d of the 2 upper-layer files", found)
	}
}

// TestPullSkipsStoredBlobs: layers already in the store are neither
// fetched nor extracted again when another image shares them.
func TestPullSkipsStoredBlobs(t *testing.T) {
	img, err := testimage.WithLayer(busybox.img, map[string]testimage.File{"extra": {Mode: 0o644, Content: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	ref := registry + "/shares-base:latest"
	push(t, ref, img)
	s := newStore(t)
	s.mustHako(t, "pull", "-q", busybox.ref)
	out, errOut, code := s.hako(t, "--debug", "pull", ref)
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, errOut)
	}
	if n := strings.Count(errOut, "downloaded and verified"); n != 1 {
		t.Errorf("second image: %d layer downloads, want 1 (the base layer is stored):\n%s", n, errOut)
	}
	if !strings.Contains(out, "Already exists") {
		t.Errorf("pull output %q does not say the shared layer already exists", out)
	}
}
