package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/rootfs"
)

// TestBuildRemovesKilledBuildsLeftovers: a build killed with -9 leaves its
// work directories in ROOT/tmp (a COPY's spool and upper dir, with vfs a
// full copy of the stage's tree, a stdin context); the next build removes
// those of dead processes and keeps a live one's.
func TestBuildRemovesKilledBuildsLeftovers(t *testing.T) {
	s, err := image.OpenDriver(t.TempDir(), rootfs.DriverVFS)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(s.Root(), "tmp")
	dead := filepath.Join(tmp, ".tmp-2147483646-1-build-x") // no such pid
	live := filepath.Join(tmp, fmt.Sprintf(".tmp-%d-1-build-context-y", os.Getpid()))
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(filepath.Join(d, "merged", "etc"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Build(context.Background(), Options{Store: s, Dockerfile: []byte("FROM scratch\nLABEL a=b\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("a killed build's %s is still there (%v)", dead, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live build's %s is gone: %v", live, err)
	}
}
