package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// flatChain builds the vfs layer dirs of layers as the image store does:
// each a copy of the one below with the next layer applied flat.
func flatChain(t *testing.T, layers ...[]byte) []string {
	t.Helper()
	base := t.TempDir()
	var dirs []string
	for i, l := range layers {
		dir := filepath.Join(base, string(rune('a'+i)))
		if i == 0 {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		} else if err := CopyTree(context.Background(), dirs[i-1], dir); err != nil {
			t.Fatalf("CopyTree: %v", err)
		}
		if _, err := ApplyLayer(context.Background(), dir, bytes.NewReader(l), ApplyOptions{Flat: true}); err != nil {
			t.Fatalf("ApplyLayer flat, layer %d: %v", i, err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

func TestApplyLayerFlatWhiteouts(t *testing.T) {
	lower := tarOf(t,
		dirE("etc/", 0o755), fileE("etc/passwd", "root", 0o644), fileE("etc/gone", "x", 0o644),
		dirE("data/", 0o750), fileE("data/old", "o", 0o600), dirE("data/sub/", 0o755), fileE("data/sub/deep", "d", 0o644),
		fileE("keep", "k", 0o644), linkE("keep2", "keep"),
		nodE("dev/null", tar.TypeChar, 1, 3, 0o666))
	upper := tarOf(t,
		fileE("etc/.wh.gone", "", 0o600),
		dirE("data/", 0o700), fileE("data/.wh..wh..opq", "", 0o600), fileE("data/new", "n", 0o644),
		fileE(".wh.missing", "", 0o600),                           // names nothing: no error
		fileE("fresh", "f", 0o644), fileE(".wh.fresh", "", 0o600)) // this layer's own entry stays
	dirs := flatChain(t, lower, upper)
	top, bottom := dirs[1], dirs[0]

	if got := readDirNames(t, filepath.Join(top, "etc")); !slices.Equal(got, []string{"passwd"}) {
		t.Errorf("etc after the whiteout = %v, want [passwd]", got)
	}
	if got := readDirNames(t, filepath.Join(top, "data")); !slices.Equal(got, []string{"new"}) {
		t.Errorf("opaque data = %v, want [new]", got)
	}
	if st := lstat(t, filepath.Join(top, "data")); st.Mode&0o7777 != 0o700 {
		t.Errorf("data mode %o, want the layer's 700", st.Mode&0o7777)
	}
	if _, err := os.Stat(filepath.Join(top, "fresh")); err != nil {
		t.Errorf("a whiteout removed its own layer's file: %v", err)
	}
	// No overlay marks anywhere: an overlay upper dir would refuse them.
	filepath.Walk(top, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		unix.Lstat(p, &st)
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			t.Errorf("%s is an overlay whiteout device", p)
		}
		if _, err := getxattr(p, opaqueXattr); err == nil {
			t.Errorf("%s carries %s", p, opaqueXattr)
		}
		return nil
	})
	// The copy keeps hard links, devices and metadata; the lower is intact.
	k, k2 := lstat(t, filepath.Join(top, "keep")), lstat(t, filepath.Join(top, "keep2"))
	if k.Ino != k2.Ino || k.Nlink != 2 {
		t.Errorf("keep and keep2 are no longer one file (inodes %d, %d)", k.Ino, k2.Ino)
	}
	if k.Ino == lstat(t, filepath.Join(bottom, "keep")).Ino {
		t.Error("the upper layer shares an inode with the lower: not a copy")
	}
	if st := lstat(t, filepath.Join(top, "dev/null")); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("dev/null copied as mode %o rdev %d", st.Mode, st.Rdev)
	}
	if snapshot(t, filepath.Join(bottom, "etc")) == snapshot(t, filepath.Join(top, "etc")) {
		t.Error("etc of both layers is the same: the whiteout touched nothing")
	}
	if _, err := os.Stat(filepath.Join(bottom, "etc", "gone")); err != nil {
		t.Errorf("the lower layer lost etc/gone: %v", err)
	}
}

func TestCopyTreeKeepsEverything(t *testing.T) {
	src, _ := apply(t, richLayer(t))
	dst := filepath.Join(t.TempDir(), "copy")
	if err := CopyTree(context.Background(), src, dst); err != nil {
		t.Fatal(err)
	}
	if a, b := snapshot(t, src), snapshot(t, dst); a != b {
		t.Errorf("copy differs from its source:\n%s\n---\n%s", a, b)
	}
}

func TestWriteChangesRoundTrip(t *testing.T) {
	base, _ := apply(t, tarOf(t,
		dirE("etc/", 0o755), fileE("etc/a", "a", 0o644), fileE("etc/b", "b", 0o644),
		dirE("d/", 0o755), fileE("d/x", "x", 0o644), symE("l", "etc/a")))
	ctr := filepath.Join(t.TempDir(), "rootfs")
	if err := CopyTree(context.Background(), base, ctr); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Nothing changed yet: an empty layer.
	var empty bytes.Buffer
	must(WriteChanges(&empty, base, ctr))
	if names := tarNames(t, empty.Bytes()); len(names) != 0 {
		t.Errorf("unchanged copy gives entries %v", names)
	}
	must(os.Remove(filepath.Join(ctr, "etc/b")))
	must(os.WriteFile(filepath.Join(ctr, "etc/a"), []byte("changed"), 0o644))
	must(os.RemoveAll(filepath.Join(ctr, "d")))
	must(os.WriteFile(filepath.Join(ctr, "new"), []byte("n"), 0o600))
	must(os.WriteFile(filepath.Join(ctr, "stub"), nil, 0o644))
	var diff bytes.Buffer
	must(WriteChanges(&diff, base, ctr, "stub"))
	want := []string{".wh.d", "etc/", "etc/a", "etc/.wh.b", "new"}
	if got := tarNames(t, diff.Bytes()); !slices.Equal(got, want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
	// Applied flat on a copy of base, the diff gives the container's tree.
	again := filepath.Join(t.TempDir(), "again")
	must(CopyTree(context.Background(), base, again))
	if _, err := ApplyLayer(context.Background(), again, bytes.NewReader(diff.Bytes()), ApplyOptions{Flat: true}); err != nil {
		t.Fatal(err)
	}
	must(os.Remove(filepath.Join(ctr, "stub")))
	if a, b := readDirNames(t, ctr), readDirNames(t, again); !slices.Equal(a, b) {
		t.Errorf("round trip gives %v, the container has %v", b, a)
	}
	if b, _ := os.ReadFile(filepath.Join(again, "etc/a")); string(b) != "changed" {
		t.Errorf("etc/a = %q after the round trip", b)
	}
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// Flat application is confined as the overlay form is: every hostile
// layer, and whiteouts and opaque markers through symlinks pointing out of
// the tree, change nothing outside it.
func TestApplyLayerFlatHostile(t *testing.T) {
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			layer, sentinel := hostileSetup(t, parent)
			before := snapshot(t, sentinel)
			_, err := ApplyLayer(context.Background(), layer, bytes.NewReader(tc.layer(t, sentinel)), ApplyOptions{Flat: true})
			if tc.refuse && (err == nil || !strings.Contains(err.Error(), "refusing layer")) {
				t.Errorf("want the layer refused, got %v", err)
			}
			checkOutsideUntouched(t, parent, sentinel, before)
		})
	}
	parent := t.TempDir()
	layer, sentinel := hostileSetup(t, parent)
	before := snapshot(t, sentinel)
	if _, err := ApplyLayer(context.Background(), layer, bytes.NewReader(tarOf(t,
		symE("s", sentinel), symE("e", sentinel+"/etc"), symE("up", "../sentinel"))), ApplyOptions{Flat: true}); err != nil {
		t.Fatal(err)
	}
	_, err := ApplyLayer(context.Background(), layer, bytes.NewReader(tarOf(t,
		fileE("s/.wh.passwd", "", 0o600), fileE("e/.wh..wh..opq", "", 0o600),
		fileE("up/.wh.passwd", "", 0o600), fileE("up/etc/.wh..wh..opq", "", 0o600))), ApplyOptions{Flat: true})
	t.Logf("result: %v", err)
	checkOutsideUntouched(t, parent, sentinel, before)
}
