package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// fixtures holds files copied from other projects; see testdata/NOTICE.
const fixtures = "testdata"

func applyFile(t *testing.T, file string, lowers ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := apply(t, b, lowers...)
	return dir
}

// TestFixtureWhiteoutLayers applies regclient's base and whiteout layers and mounts them.
func TestFixtureWhiteoutLayers(t *testing.T) {
	base := applyFile(t, "regclient/testdata/layer.tar")
	wh := applyFile(t, "regclient/testdata/layer-wh.tar", base)
	merged := filepath.Join(t.TempDir(), "merged")
	mkdirs(t, merged)
	mountForTest(t, []string{wh, base}, "", "", merged)
	if names := readDirNames(t, merged); strings.Join(names, ",") != "exdir,layer1.txt,layer3.txt" {
		t.Errorf("merged view: %v", names)
	}
	if names := readDirNames(t, filepath.Join(merged, "exdir")); len(names) != 0 {
		t.Errorf("opaque exdir shows %v", names)
	}
}

// TestFixtureZstdLayer applies a real zstd layer from go-containerregistry.
func TestFixtureZstdLayer(t *testing.T) {
	dir := applyFile(t, "go-containerregistry/pkg/crane/testdata/content.tar.zst")
	if st := lstat(t, filepath.Join(dir, "bat")); st.Mode&0o7777 != 0o555 || st.Size != 4 {
		t.Errorf("bat: mode %o size %d", st.Mode, st.Size)
	}
}

func TestApplyLayerGlobalHeaderAndEmpty(t *testing.T) {
	layer := tarOf(t,
		ent{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "global", PAXRecords: map[string]string{"comment": "x"}}},
		fileE("a", "a", 0o644))
	dir, res := apply(t, layer)
	if res.Entries != 1 || strings.Join(readDirNames(t, dir), ",") != "a" {
		t.Errorf("entries %d, tree %v", res.Entries, readDirNames(t, dir))
	}
	// A zero-byte blob is an empty layer.
	d := t.TempDir()
	res, err := ApplyLayer(context.Background(), d, bytes.NewReader(nil), ApplyOptions{})
	if err != nil || res.Entries != 0 || res.DiffID != digest.FromBytes(nil) {
		t.Errorf("empty layer: %+v, %v", res, err)
	}
}
