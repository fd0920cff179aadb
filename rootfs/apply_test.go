package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// capNetRaw is a security.capability value (v2) granting CAP_NET_RAW, effective.
func capNetRaw() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000001)
	binary.LittleEndian.PutUint32(b[4:], 1<<13)
	return string(b)
}

func richLayer(t testing.TB) []byte {
	ping := fileE("bin/ping", "ping binary", 0o4755)
	ping.hdr.Uid, ping.hdr.Gid = 1000, 1000
	ping.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.security.capability":    capNetRaw(),
		"SCHILY.xattr.user.note":              "hello",
		"SCHILY.xattr.trusted.overlay.opaque": "y",
		"SCHILY.xattr.trusted.evil":           "x",
		"SCHILY.xattr.user.overlay.redirect":  "/etc",
	}
	nobody := dirE("home/nobody/", 0o700)
	nobody.hdr.Uid, nobody.hdr.Gid = 65534, 65534
	nobody.hdr.ModTime = time.Date(2011, 1, 2, 3, 4, 5, 600, time.UTC)
	tmp := dirE("tmp/", 0o1777)
	sgid := dirE("srv/", 0o2775)
	sgid.hdr.Gid = 50
	data := fileE("home/nobody/data", strings.Repeat("x", 3<<20), 0o600) // bigger than the copy buffer
	data.hdr.Uid, data.hdr.Gid = 65534, 65534
	sh := symE("bin/sh", "/bin/busybox")
	sh.hdr.Uid = 7
	return tarOf(t,
		dirE("./", 0o755),
		dirE("bin/", 0o755),
		ping,
		linkE("bin/ping6", "bin/ping"),
		sh,
		symE("bin/rel", "../home"),
		dirE("dev/", 0o755),
		nodE("dev/null", tar.TypeChar, 1, 3, 0o666),
		nodE("dev/loop9", tar.TypeBlock, 7, 9, 0o660),
		nodE("dev/fifo", tar.TypeFifo, 0, 0, 0o640),
		tmp, sgid,
		dirE("home/", 0o755),
		nobody,
		data,
		fileE("empty", "", 0o644),
	)
}

func TestApplyLayerRegularTree(t *testing.T) {
	plain := richLayer(t)
	for _, tc := range []struct {
		name  string
		layer []byte
	}{{"tar", plain}, {"gzip", gzipOf(t, plain)}, {"zstd", zstdOf(t, plain)}} {
		t.Run(tc.name, func(t *testing.T) {
			dir, res := apply(t, tc.layer)
			if want := digest.FromBytes(plain); res.DiffID != want {
				t.Errorf("DiffID = %s, want %s", res.DiffID, want)
			}
			if res.Size != int64(len(plain)) || res.Entries != 16 {
				t.Errorf("Size, Entries = %d, %d, want %d, 16", res.Size, res.Entries, len(plain))
			}
			checkRichTree(t, dir)
		})
	}
}

func checkRichTree(t *testing.T, dir string) {
	p := func(n string) string { return filepath.Join(dir, n) }
	type want struct {
		name     string
		mode     uint32
		uid, gid uint32
	}
	for _, w := range []want{
		{".", unix.S_IFDIR | 0o755, 0, 0},
		{"bin/ping", unix.S_IFREG | 0o4755, 1000, 1000},
		{"bin/sh", unix.S_IFLNK | 0o777, 7, 0},
		{"dev/null", unix.S_IFCHR | 0o666, 0, 0},
		{"dev/loop9", unix.S_IFBLK | 0o660, 0, 0},
		{"dev/fifo", unix.S_IFIFO | 0o640, 0, 0},
		{"tmp", unix.S_IFDIR | 0o1777, 0, 0},
		{"srv", unix.S_IFDIR | 0o2775, 0, 50},
		{"home/nobody", unix.S_IFDIR | 0o700, 65534, 65534},
		{"home/nobody/data", unix.S_IFREG | 0o600, 65534, 65534},
		{"empty", unix.S_IFREG | 0o644, 0, 0},
	} {
		st := lstat(t, p(w.name))
		if st.Mode != w.mode || st.Uid != w.uid || st.Gid != w.gid {
			t.Errorf("%s: mode %o owner %d:%d, want %o %d:%d", w.name, st.Mode, st.Uid, st.Gid, w.mode, w.uid, w.gid)
		}
	}
	if st := lstat(t, p("dev/null")); unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("dev/null is %d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if st := lstat(t, p("dev/loop9")); unix.Major(st.Rdev) != 7 || unix.Minor(st.Rdev) != 9 {
		t.Errorf("dev/loop9 is %d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if l, _ := os.Readlink(p("bin/sh")); l != "/bin/busybox" {
		t.Errorf("bin/sh -> %q", l)
	}
	if l, _ := os.Readlink(p("bin/rel")); l != "../home" {
		t.Errorf("bin/rel -> %q", l)
	}
	a, b := lstat(t, p("bin/ping")), lstat(t, p("bin/ping6"))
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("bin/ping6 is not a hardlink of bin/ping (ino %d/%d nlink %d)", a.Ino, b.Ino, a.Nlink)
	}
	if v, err := getxattr(p("bin/ping"), "security.capability"); err != nil || v != capNetRaw() {
		t.Errorf("security.capability = %q, %v (lost to chown?)", v, err)
	}
	if v, err := getxattr(p("bin/ping"), "user.note"); err != nil || v != "hello" {
		t.Errorf("user.note = %q, %v", v, err)
	}
	for _, x := range []string{"trusted.overlay.opaque", "trusted.evil", "user.overlay.redirect"} {
		if _, err := getxattr(p("bin/ping"), x); err != unix.ENODATA {
			t.Errorf("%s from the layer was set (err %v)", x, err)
		}
	}
	if b, _ := os.ReadFile(p("home/nobody/data")); len(b) != 3<<20 {
		t.Errorf("home/nobody/data has %d bytes", len(b))
	}
	// Directory times are set after their children were created.
	if st := lstat(t, p("home/nobody")); int64(st.Mtim.Sec) != time.Date(2011, 1, 2, 3, 4, 5, 0, time.UTC).Unix() || st.Mtim.Nsec != 600 {
		t.Errorf("home/nobody mtime = %d.%d", st.Mtim.Sec, st.Mtim.Nsec)
	}
	for _, n := range []string{".", "bin", "dev", "home", "bin/ping", "bin/sh", "dev/null", "dev/fifo"} {
		if st := lstat(t, p(n)); int64(st.Mtim.Sec) != testTime.Unix() {
			t.Errorf("%s mtime = %s, want %s", n, time.Unix(int64(st.Mtim.Sec), 0).UTC(), testTime)
		}
	}
}

func TestApplyLayerWhiteouts(t *testing.T) {
	wh := fileE("etc/.wh.passwd", "", 0o644)
	wh.hdr.Uid, wh.hdr.Gid = 3, 4
	dir, _ := apply(t, tarOf(t,
		dirE("etc/", 0o755),
		fileE("etc/passwd", "root", 0o644),
		dirE("etc/sub/", 0o755),
		fileE("etc/sub/x", "x", 0o644),
		wh,                                   // replaces the file extracted above
		fileE("etc/.wh.sub", "", 0o644),      // replaces a whole directory
		fileE(".wh.gone", "", 0o644),         // nothing there yet
		fileE("opt/.wh..wh..opq", "", 0o644), // implicit parent, made opaque
		fileE("opt/new", "n", 0o644),
	))
	for _, n := range []string{"etc/passwd", "etc/sub", "gone"} {
		st := lstat(t, filepath.Join(dir, n))
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%s is not a 0/0 char device (mode %o rdev %d)", n, st.Mode, st.Rdev)
		}
	}
	if st := lstat(t, filepath.Join(dir, "etc/passwd")); st.Uid != 3 || st.Gid != 4 {
		t.Errorf("whiteout owner %d:%d, want 3:4", st.Uid, st.Gid)
	}
	if v, err := getxattr(filepath.Join(dir, "opt"), "trusted.overlay.opaque"); err != nil || v != "y" {
		t.Errorf("opt opaque xattr = %q, %v", v, err)
	}
	if names := readDirNames(t, dir); strings.Join(names, ",") != "etc,gone,opt" {
		t.Errorf("root has %v: a .wh. file was written", names)
	}
	if names := readDirNames(t, filepath.Join(dir, "opt")); strings.Join(names, ",") != "new" {
		t.Errorf("opt has %v", names)
	}
}

func TestApplyLayerInvalidWhiteouts(t *testing.T) {
	for _, name := range []string{".wh.", ".wh..", "etc/.wh..", "etc/.wh...", ".wh..wh.x"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "l")
			os.Mkdir(dir, 0o755)
			_, err := ApplyLayer(context.Background(), dir, bytes.NewReader(tarOf(t, fileE(name, "", 0o644))), ApplyOptions{})
			if err == nil {
				t.Fatalf("whiteout %q accepted", name)
			}
		})
	}
}

func TestApplyLayerReplaceAndMerge(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	before := snapshot(t, outside)

	merged := dirE("d/", 0o711)
	merged.hdr.Uid = 9
	dir, _ := apply(t, tarOf(t,
		dirE("d/", 0o755),
		fileE("d/kept", "k", 0o644),
		merged,                   // dir over dir: merge, children stay
		symE("v", victim),        // then a file over the symlink: replaced, not followed
		fileE("v", "new", 0o644), //
		symE("s", outside),       // a dir over a symlink: replaced
		dirE("s/", 0o755),
		fileE("s/in", "in", 0o644),
		dirE("f/", 0o755), // a file over a directory with content
		fileE("f/x", "x", 0o644),
		fileE("f", "file", 0o644),
		fileE("n", "file", 0o644), // a fifo, a device, a symlink, a hardlink over it, in turn
		nodE("n", tar.TypeFifo, 0, 0, 0o644),
		nodE("n", tar.TypeChar, 1, 3, 0o644),
		symE("n", victim),
		fileE("m", "m", 0o644),
		linkE("n", "m"),
		symE("dirlink", outside), // a symlink over a symlink
		symE("dirlink", "/etc"),
	))
	if st := lstat(t, filepath.Join(dir, "d")); st.Mode != unix.S_IFDIR|0o711 || st.Uid != 9 {
		t.Errorf("merged dir: mode %o uid %d", st.Mode, st.Uid)
	}
	if _, err := os.Stat(filepath.Join(dir, "d/kept")); err != nil {
		t.Errorf("merge lost a child: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "v")); string(b) != "new" || lstat(t, filepath.Join(dir, "v")).Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("v not replaced by a file")
	}
	if st := lstat(t, filepath.Join(dir, "s")); st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("s not replaced by a dir")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "file" {
		t.Errorf("f not replaced by a file")
	}
	if a, b := lstat(t, filepath.Join(dir, "n")), lstat(t, filepath.Join(dir, "m")); a.Ino != b.Ino {
		t.Errorf("n is not a hardlink of m")
	}
	if l, _ := os.Readlink(filepath.Join(dir, "dirlink")); l != "/etc" {
		t.Errorf("dirlink -> %q", l)
	}
	if after := snapshot(t, outside); after != before {
		t.Errorf("outside dir changed:\n%s\nwant\n%s", after, before)
	}
}

func TestApplyLayerImplicitParents(t *testing.T) {
	lowerTime := time.Date(2015, 6, 7, 8, 9, 10, 0, time.UTC)
	lower := filepath.Join(t.TempDir(), "lower")
	if err := os.MkdirAll(filepath.Join(lower, "var/lib/data"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(lower, "var/lib/data"), 65534, 65534)
	unix.Chmod(filepath.Join(lower, "var/lib/data"), 0o2700)
	os.Chtimes(filepath.Join(lower, "var/lib/data"), lowerTime, lowerTime)
	os.Chmod(filepath.Join(lower, "var"), 0o711)
	// A nearer lower with a file at "opt" hides a lower directory "opt".
	near := filepath.Join(t.TempDir(), "near")
	os.Mkdir(near, 0o755)
	os.WriteFile(filepath.Join(near, "opt"), nil, 0o644)
	os.MkdirAll(filepath.Join(lower, "opt"), 0o700)
	// A symlink in a lower is not followed to find metadata.
	os.Symlink("/", filepath.Join(near, "lnk"))

	layer := tarOf(t, fileE("var/lib/data/new", "n", 0o644), fileE("opt/x", "x", 0o644), fileE("lnk/etc/y", "y", 0o644))
	dir, _ := apply(t, layer, near, lower)
	for _, c := range []struct {
		name     string
		mode     uint32
		uid      uint32
		mtimeSec int64
	}{
		{"var", unix.S_IFDIR | 0o711, 0, -1},
		{"var/lib", unix.S_IFDIR | 0o755, 0, -1},
		{"var/lib/data", unix.S_IFDIR | 0o2700, 65534, lowerTime.Unix()},
		{"opt", unix.S_IFDIR | 0o755, 0, -1},
		{"lnk/etc", unix.S_IFDIR | 0o755, 0, -1},
	} {
		st := lstat(t, filepath.Join(dir, c.name))
		if st.Mode != c.mode || st.Uid != c.uid || (c.mtimeSec >= 0 && int64(st.Mtim.Sec) != c.mtimeSec) {
			t.Errorf("%s: mode %o uid %d mtime %d, want %o %d %d", c.name, st.Mode, st.Uid, st.Mtim.Sec, c.mode, c.uid, c.mtimeSec)
		}
	}
	// Without lowers: root 0755.
	dir, res := apply(t, layer)
	if st := lstat(t, filepath.Join(dir, "var/lib/data")); st.Mode != unix.S_IFDIR|0o755 || st.Uid != 0 {
		t.Errorf("no lowers: mode %o uid %d", st.Mode, st.Uid)
	}
	// Fixed up afterwards (parallel extraction): the same as with lowers.
	if err := FixImplicitDirs(dir, res.Implicit, []string{near, lower}); err != nil {
		t.Fatal(err)
	}
	withLowers, _ := apply(t, layer, near, lower)
	for _, name := range []string{"var", "var/lib", "var/lib/data", "opt", "lnk", "lnk/etc"} {
		a, b := lstat(t, filepath.Join(dir, name)), lstat(t, filepath.Join(withLowers, name))
		if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || (name == "var/lib/data" && a.Mtim != b.Mtim) {
			t.Errorf("%s fixed up: mode %o uid %d mtime %v; extracted with lowers: %o %d %v", name, a.Mode, a.Uid, a.Mtim, b.Mode, b.Uid, b.Mtim)
		}
	}
}

// An implicit directory that a later entry of the same layer declares keeps
// the entry's metadata, whatever the lowers say.
func TestFixImplicitDirsKeepsExplicitEntries(t *testing.T) {
	lower := t.TempDir()
	os.MkdirAll(filepath.Join(lower, "a"), 0o700)
	os.Chown(filepath.Join(lower, "a"), 65534, 65534)
	layer := tarOf(t, fileE("a/f", "f", 0o644), dirE("a", 0o750))
	dir, res := apply(t, layer)
	if err := FixImplicitDirs(dir, res.Implicit, []string{lower}); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(dir, "a")); st.Mode != unix.S_IFDIR|0o750 || st.Uid != 0 {
		t.Errorf("a: mode %o uid %d, want the entry's 0750 root", st.Mode, st.Uid)
	}
}

// eofReader records whether its reader was read to EOF.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

func TestApplyLayerDrainsToEOF(t *testing.T) {
	plain := append(tarOf(t, fileE("a", "a", 0o644)), make([]byte, 10<<10)...) // padding after the end marker
	for _, tc := range []struct {
		name  string
		layer []byte
	}{{"tar", plain}, {"gzip", gzipOf(t, plain)}, {"zstd", zstdOf(t, plain)}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "l")
			os.Mkdir(dir, 0o755)
			r := &eofReader{r: bytes.NewReader(tc.layer)}
			res, err := ApplyLayer(context.Background(), dir, r, ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.eof {
				t.Error("stream not read to EOF")
			}
			if want := fmt.Sprintf("sha256:%x", sha256.Sum256(plain)); string(res.DiffID) != want || res.Size != int64(len(plain)) {
				t.Errorf("DiffID %s size %d, want %s %d", res.DiffID, res.Size, want, len(plain))
			}
		})
	}
}

func TestApplyLayerErrors(t *testing.T) {
	good := tarOf(t, fileE("a", "aaaa", 0o644))
	for _, tc := range []struct {
		name  string
		layer []byte
		want  string
	}{
		{"unknown type", tarOf(t, ent{hdr: tar.Header{Typeflag: 'Z', Name: "z", ModTime: testTime}}), "unsupported tar entry type"},
		{"truncated", good[:514], "unexpected EOF"},
		{"corrupt gzip", gzipOf(t, good)[:40], "unexpected EOF"},
		{"garbage", bytes.Repeat([]byte("garbage!"), 128), "reading layer"},
		{"hardlink to missing", tarOf(t, linkE("l", "missing")), "missing"},
		{"root not a dir", tarOf(t, symE("./", "/tmp")), "refusing layer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "l")
			os.Mkdir(dir, 0o755)
			_, err := ApplyLayer(context.Background(), dir, bytes.NewReader(tc.layer), ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := ApplyLayer(ctx, t.TempDir(), bytes.NewReader(good), ApplyOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

// sparseTar builds a layer with a PAX 1.0 sparse entry: one data byte at offset 0, then a hole
// up to size. Go's writer drops GNU.sparse.* records, so they are written under a placeholder
// key of the same length and patched in.
func sparseTar(t testing.TB, name string, size int64) []byte {
	mapBlock := make([]byte, 512)
	copy(mapBlock, "1\n0\n1\n")
	body := string(mapBlock) + "A"
	e := ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, ModTime: testTime, Size: int64(len(body)),
		PAXRecords: map[string]string{
			"GNU.sparsE.major": "1", "GNU.sparsE.minor": "0",
			"GNU.sparsE.name": name, "GNU.sparsE.realsize": fmt.Sprint(size),
		}}, body: body}
	return bytes.ReplaceAll(tarOf(t, e), []byte("GNU.sparsE."), []byte("GNU.sparse."))
}

func TestApplyLayerSparseFile(t *testing.T) {
	const size = 256 << 20 // holes must not be written out
	dir, _ := apply(t, sparseTar(t, "sparse", size))
	st := lstat(t, filepath.Join(dir, "sparse"))
	if st.Size != size || st.Blocks*512 > 1<<20 {
		t.Errorf("size %d, %d bytes allocated", st.Size, st.Blocks*512)
	}
	f, _ := os.Open(filepath.Join(dir, "sparse"))
	defer f.Close()
	b := make([]byte, 2)
	f.Read(b)
	if string(b) != "A\x00" {
		t.Errorf("content starts with %q", b)
	}
}
