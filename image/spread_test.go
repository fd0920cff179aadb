package image

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hako-run/hako/internal/testimage"
	"golang.org/x/sys/unix"
)

// TestPullSpreadsLayerTrees: on ext4, the layer area a pull extracts into
// carries FS_TOPDIR_FL (rootfs.SpreadTrees), and the layers in it do not.
func TestPullSpreadsLayerTrees(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(s.layers, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.EXT4_SUPER_MAGIC {
		t.Skipf("the store is not on ext4 (statfs type %#x)", st.Type)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	refStr := strings.TrimPrefix(srv.URL, "http://") + "/busybox:latest"
	ref, err := name.ParseReference(refStr)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	const topdir = 0x00020000 // FS_TOPDIR_FL
	if flags := inodeFlags(t, s.layers); flags&topdir != 0 {
		t.Fatalf("a new store's layer area has FS_TOPDIR_FL (%#x) before any pull", flags)
	}
	if _, err := s.Pull(context.Background(), refStr, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if flags := inodeFlags(t, s.layers); flags&topdir == 0 {
		t.Errorf("layer area flags %#x after a pull: no FS_TOPDIR_FL", flags)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) == 0 {
		t.Fatal("test image has no layers")
	}
	for _, c := range ChainIDs(cfg.RootFS.DiffIDs) {
		if flags := inodeFlags(t, s.LayerDir(c)); flags&topdir != 0 {
			t.Errorf("layer %s has FS_TOPDIR_FL (%#x): the flag must not be inherited", c, flags)
		}
	}
}

func inodeFlags(t *testing.T, dir string) uint32 {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatal(err)
	}
	return flags
}
