package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWriteDiff: an upper directory with a new file, a hardlink pair, an
// xattr, a whiteout and an opaque directory becomes the OCI entries for
// them, byte for byte the same on a second run, and applies back to the
// same tree.
func TestWriteDiff(t *testing.T) {
	upper := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(upper, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(upper, "etc", "conf"), []byte("new"), 0o640))
	must(os.Chown(filepath.Join(upper, "etc", "conf"), 1000, 1001))
	must(os.Link(filepath.Join(upper, "etc", "conf"), filepath.Join(upper, "etc", "conf2")))
	must(unix.Lsetxattr(filepath.Join(upper, "etc", "conf"), "user.note", []byte("kept"), 0))
	must(unix.Mknod(filepath.Join(upper, "etc", "gone"), unix.S_IFCHR|0o000, 0))
	must(os.Mkdir(filepath.Join(upper, "data"), 0o700))
	must(unix.Lsetxattr(filepath.Join(upper, "data"), "trusted.overlay.opaque", []byte("y"), 0))
	must(os.WriteFile(filepath.Join(upper, "data", "fresh"), []byte("x"), 0o644))
	must(os.Symlink("/etc/conf", filepath.Join(upper, "link")))
	// Bind-mount targets: etc/hosts beside real changes, and a directory
	// made only to hold one.
	must(os.WriteFile(filepath.Join(upper, "etc", "hosts"), nil, 0o644))
	must(os.Mkdir(filepath.Join(upper, "run"), 0o755))
	must(os.WriteFile(filepath.Join(upper, "run", "hostname"), nil, 0o644))
	old := time.Unix(1_600_000_000, 0)
	must(os.Chtimes(filepath.Join(upper, "etc", "conf"), old, old))

	var a, b bytes.Buffer
	must(WriteDiff(&a, upper, "etc/hosts", "run/hostname"))
	must(WriteDiff(&b, upper, "etc/hosts", "run/hostname"))
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two diffs of one upper directory differ")
	}

	type entry struct {
		typ  byte
		link string
	}
	got := map[string]entry{}
	var order []string
	tr := tar.NewReader(bytes.NewReader(a.Bytes()))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		got[h.Name] = entry{h.Typeflag, h.Linkname}
		order = append(order, h.Name)
		if h.Name == "etc/conf" {
			if h.Uid != 1000 || h.Gid != 1001 || h.Mode != 0o640 || h.PAXRecords["SCHILY.xattr.user.note"] != "kept" || !h.ModTime.Equal(old) {
				t.Errorf("etc/conf header %+v lost metadata", h)
			}
		}
		for k := range h.PAXRecords {
			if len(k) > 29 && k[:29] == "SCHILY.xattr.trusted.overlay" {
				t.Errorf("%s carries overlay's own xattr %s", h.Name, k)
			}
		}
	}
	want := map[string]entry{
		"data/":             {tar.TypeDir, ""},
		"data/.wh..wh..opq": {tar.TypeReg, ""},
		"data/fresh":        {tar.TypeReg, ""},
		"etc/":              {tar.TypeDir, ""},
		"etc/.wh.gone":      {tar.TypeReg, ""},
		"etc/conf":          {tar.TypeReg, ""},
		"etc/conf2":         {tar.TypeLink, "etc/conf"},
		"link":              {tar.TypeSymlink, "/etc/conf"},
	}
	for n, e := range want {
		if got[n] != e {
			t.Errorf("entry %s = %+v, want %+v", n, got[n], e)
		}
	}
	if len(got) != len(want) {
		t.Errorf("entries %v, want %d", order, len(want))
	}

	// Applied as a layer, it gives overlay's marks back.
	dir := t.TempDir()
	if _, err := ApplyLayer(context.Background(), dir, bytes.NewReader(a.Bytes()), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "etc", "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/gone after apply: %v %+v, want a 0/0 whiteout", err, st)
	}
	v := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(dir, "data"), "trusted.overlay.opaque", v); err != nil || string(v[:n]) != "y" {
		t.Errorf("data after apply is not opaque: %v", err)
	}
}

// TestWriteDiffReadsInsideUpper: an entry the walk saw as d/f, whose d a
// running container then swapped for a symlink out of the tree, is not
// read through the link: the host file never lands in the layer.
func TestWriteDiffReadsInsideUpper(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "f"), []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	upper := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(upper, "d")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := writeEntries(&buf, upper, []string{"d/f"}, nil, nil)
	if err == nil || bytes.Contains(buf.Bytes(), []byte("host secret")) {
		t.Fatalf("writeEntries through a swapped symlink: err %v, layer holds the host file: %v", err, bytes.Contains(buf.Bytes(), []byte("host secret")))
	}
}

// A running container may swap a directory for a symlink between the
// walk and the read of an entry below it: the entry's link target and
// xattrs are then read inside the tree, never from the host file the
// symlink names.
func TestWriteDiffEntryParentSwappedForSymlink(t *testing.T) {
	tmp := t.TempDir()
	upper, outside := filepath.Join(tmp, "upper"), filepath.Join(tmp, "outside")
	for _, d := range []string{upper, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("host-secret-target", filepath.Join(outside, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(upper, "a")); err != nil { // the swapped parent
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := writeEntries(&buf, upper, []string{"a/link"}, nil, nil)
	if errors.Is(err, unix.ENOSYS) {
		t.Skip("no openat2")
	}
	tr := tar.NewReader(&buf)
	for {
		h, rerr := tr.Next()
		if rerr != nil {
			break
		}
		if h.Linkname == "host-secret-target" {
			t.Fatalf("the layer holds %s -> %s, a link outside the tree", h.Name, h.Linkname)
		}
	}
	if err == nil {
		t.Fatal("an entry below a swapped parent was written")
	}
}
