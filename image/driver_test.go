package image

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hako-run/hako/internal/testimage"
	"github.com/hako-run/hako/rootfs"
)

// pushWhiteout serves busybox with a layer that deletes bin/ls.
func pushWhiteout(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	base, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimage.WithLayer(base, map[string]testimage.File{"bin/ls": {Whiteout: true}, "new": {Mode: 0o644, Content: []byte("n")}})
	if err != nil {
		t.Fatal(err)
	}
	refStr := strings.TrimPrefix(srv.URL, "http://") + "/wh:latest"
	ref, err := name.ParseReference(refStr)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return refStr
}

// A root set up with vfs keeps it; its layers are full trees with the
// whiteout applied; another driver is refused.
func TestStoreVFSLayers(t *testing.T) {
	ref := pushWhiteout(t)
	root := t.TempDir()
	s, err := OpenDriver(root, rootfs.DriverVFS)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Pull(context.Background(), ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dirs := res.Image.LayerDirs()
	top := dirs[len(dirs)-1]
	if filepath.Dir(top) != filepath.Join(root, "vfs") {
		t.Errorf("vfs layer at %s, want under ROOT/vfs", top)
	}
	if _, err := os.Lstat(filepath.Join(top, "bin", "ls")); !os.IsNotExist(err) {
		t.Errorf("bin/ls in the top vfs layer: %v, want it deleted", err)
	}
	if _, err := os.Stat(filepath.Join(top, "bin", "busybox")); err != nil {
		t.Errorf("the top vfs layer lacks the lower layer's bin/busybox: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dirs[0], "bin", "ls")); err != nil {
		t.Errorf("the lower vfs layer lost bin/ls: %v", err)
	}
	again, err := Open(root)
	if err != nil || again.Driver() != rootfs.DriverVFS || again.Notice != "" {
		t.Errorf("reopened: driver %q, notice %q, %v; want vfs, silently", again.Driver(), again.Notice, err)
	}
	if _, err := OpenDriver(root, rootfs.DriverOverlay); err == nil {
		t.Error("overlay accepted for a vfs root")
	}
	if d, err := DriverFor(root, "", true); d != rootfs.DriverVFS || err != nil {
		t.Errorf("DriverFor a vfs root = %q, %v", d, err)
	}
}

// An overlay root that moves to vfs (as when a Pi's root becomes an
// overlay) extracts its images' vfs layers from the stored blobs.
func TestEnsureLayersAfterDriverChange(t *testing.T) {
	ref := pushWhiteout(t)
	root := t.TempDir()
	s, err := OpenDriver(root, rootfs.DriverOverlay)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, driverFile), []byte("vfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := v.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.EnsureLayers(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	dirs := img.LayerDirs()
	top := dirs[len(dirs)-1]
	if _, err := os.Stat(filepath.Join(top, "bin", "busybox")); err != nil {
		t.Errorf("the rebuilt top vfs layer lacks bin/busybox: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(top, "bin", "ls")); !os.IsNotExist(err) {
		t.Errorf("bin/ls in the rebuilt top vfs layer: %v", err)
	}
}
