package rootfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mountForTest mounts and registers an unmount with t.Cleanup.
func mountForTest(t *testing.T, lowers []string, upper, work, target string) {
	t.Helper()
	if err := Mount(lowers, upper, work, target); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() { unmountIfMounted(t, target) })
}

func unmountIfMounted(t *testing.T, target string) {
	if !isMountPoint(t, target) {
		return
	}
	if err := Unmount(target); err != nil {
		t.Errorf("cleanup: %v", err)
		unix.Unmount(target, unix.MNT_DETACH) // never leave a mount behind
	}
}

// mountOptions returns the super options of the mount at target, or "" if none.
func mountOptions(t *testing.T, target string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == target {
			return f[len(f)-1]
		}
	}
	return ""
}

func isMountPoint(t *testing.T, target string) bool { return mountOptions(t, target) != "" }

func mkdirs(t *testing.T, dirs ...string) {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// twoLayers extracts a base layer and a layer above it that deletes etc/a and makes opt opaque.
func twoLayers(t *testing.T) (top, bottom string) {
	bottom, _ = apply(t, tarOf(t,
		dirE("etc/", 0o755), fileE("etc/a", "a", 0o644), fileE("etc/b", "b", 0o644),
		dirE("opt/", 0o755), fileE("opt/old", "old", 0o644), dirE("opt/sub/", 0o755), fileE("opt/sub/x", "x", 0o644),
	))
	top, _ = apply(t, tarOf(t,
		dirE("etc/", 0o755), fileE("etc/.wh.a", "", 0o644),
		dirE("opt/", 0o755), fileE("opt/.wh..wh..opq", "", 0o644), fileE("opt/new", "new", 0o644),
	), bottom)
	return top, bottom
}

func TestMountOverlay(t *testing.T) {
	top, bottom := twoLayers(t)
	base := t.TempDir()
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	mkdirs(t, upper, work, merged)
	mountForTest(t, []string{top, bottom}, upper, work, merged)

	if opts := mountOptions(t, merged); !strings.Contains(opts, "upperdir="+upper) {
		t.Errorf("mount options %q", opts)
	}
	// redirect_dir=off: renaming a directory from a lower is refused (mv copies instead), so
	// the upper dir never holds redirect xattrs.
	if err := os.Rename(filepath.Join(merged, "etc"), filepath.Join(merged, "etc2")); !errors.Is(err, unix.EXDEV) {
		t.Errorf("rename of a lower dir: %v, want EXDEV", err)
	}
	if _, err := os.Lstat(filepath.Join(merged, "etc/a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deleted etc/a still visible: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(merged, "etc/b")); string(b) != "b" {
		t.Errorf("etc/b = %q", b)
	}
	if names := readDirNames(t, filepath.Join(merged, "opt")); strings.Join(names, ",") != "new" {
		t.Errorf("opaque opt shows %v", names)
	}

	if err := os.WriteFile(filepath.Join(merged, "etc/c"), []byte("c"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(merged, "etc/b")); err != nil {
		t.Fatal(err)
	}
	// A busy mount is an error, not detached.
	f, err := os.Open(filepath.Join(merged, "etc/c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Unmount(merged); !errors.Is(err, unix.EBUSY) {
		t.Errorf("Unmount of a busy mount: %v, want EBUSY", err)
	}
	f.Close()
	if err := Unmount(merged); err != nil {
		t.Fatal(err)
	}
	if isMountPoint(t, merged) {
		t.Fatal("still mounted")
	}
	if b, _ := os.ReadFile(filepath.Join(upper, "etc/c")); string(b) != "c" {
		t.Errorf("upper etc/c = %q", b)
	}
	if st := lstat(t, filepath.Join(upper, "etc/b")); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("upper etc/b is not a whiteout: mode %o", st.Mode)
	}
}

func TestMountReadOnly(t *testing.T) {
	top, bottom := twoLayers(t)
	for _, tc := range []struct {
		name   string
		lowers []string
		see    string
	}{{"two layers", []string{top, bottom}, "etc/b"}, {"one layer", []string{bottom}, "etc/a"}} {
		t.Run(tc.name, func(t *testing.T) {
			merged := filepath.Join(t.TempDir(), "merged")
			mkdirs(t, merged)
			mountForTest(t, tc.lowers, "", "", merged)
			if _, err := os.Stat(filepath.Join(merged, tc.see)); err != nil {
				t.Error(err)
			}
			err := os.WriteFile(filepath.Join(merged, "new"), nil, 0o644)
			if !errors.Is(err, unix.EROFS) {
				t.Errorf("write to read-only view: %v, want EROFS", err)
			}
		})
	}
}

func TestMountArguments(t *testing.T) {
	d := t.TempDir()
	for _, tc := range []struct {
		name                string
		lowers              []string
		upper, work, target string
	}{
		{"no lowers", nil, "", "", d},
		{"upper without work", []string{d}, d, "", d},
		{"colon in path", []string{d + "/a:b"}, "", "", d},
	} {
		if err := Mount(tc.lowers, tc.upper, tc.work, tc.target); err == nil {
			unix.Unmount(tc.target, 0)
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// manyLayers extracts n layers, each adding its own file and overwriting "top", under
// parent/<name(i)>, and returns them top first.
func manyLayers(t *testing.T, parent string, n int, name func(int) string) []string {
	lowers := make([]string, n)
	for i := range n {
		dir := filepath.Join(parent, name(i))
		mkdirs(t, dir)
		layer := tarOf(t, fileE(fmt.Sprintf("f%03d", i), "x", 0o644), fileE("top", fmt.Sprint(i), 0o644))
		if _, err := ApplyLayer(context.Background(), dir, bytes.NewReader(layer), ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		lowers[n-1-i] = dir
	}
	return lowers
}

func hexName(i int) string { return fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i)})) }

func checkManyLayers(t *testing.T, merged string, n int) {
	if names := readDirNames(t, merged); len(names) != n+1 {
		t.Errorf("merged view has %d entries, want %d", len(names), n+1)
	}
	if b, _ := os.ReadFile(filepath.Join(merged, "top")); string(b) != fmt.Sprint(n-1) {
		t.Errorf("top = %q, want the top layer's", b)
	}
}

// TestMount120Layers mounts 120 layers named like chain IDs: their absolute paths are far over
// a page.
func TestMount120Layers(t *testing.T) {
	const n = 120
	base := t.TempDir()
	lowers := manyLayers(t, filepath.Join(base, "layers"), n, hexName)
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	mkdirs(t, upper, work, merged)
	if l := len(overlayOptions(lowers, upper, work)); l < 2*os.Getpagesize() {
		t.Fatalf("test options are only %d bytes", l)
	}
	mountForTest(t, lowers, upper, work, merged)
	checkManyLayers(t, merged, n)
	if err := os.WriteFile(filepath.Join(merged, "w"), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(merged); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(upper, "w")); string(b) != "w" {
		t.Errorf("upper w = %q", b)
	}

	ro := filepath.Join(base, "ro")
	mkdirs(t, ro)
	mountForTest(t, lowers, "", "", ro)
	checkManyLayers(t, ro, n)
}

// TestMountRelative covers the path for kernels without lowerdir+: lowers relative to their
// common parent, and a clear error when even that is over a page.
func TestMountRelative(t *testing.T) {
	const n = 120
	base := t.TempDir()
	long := filepath.Join(base, strings.Repeat("d", 200), "layers")
	lowers := manyLayers(t, long, n, func(i int) string { return fmt.Sprintf("%03d", i) })
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	mkdirs(t, upper, work, merged)
	if err := mountRelative(lowers, upper, work, merged, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmountIfMounted(t, merged) })
	checkManyLayers(t, merged, n)
	cwd, _ := os.Getwd()
	if cwd == long {
		t.Error("mountRelative changed the process's cwd")
	}
	if err := Unmount(merged); err != nil {
		t.Fatal(err)
	}

	hexLowers := manyLayers(t, filepath.Join(base, "hex"), n, hexName)
	err := mountRelative(hexLowers, upper, work, merged, nil)
	if err == nil {
		t.Cleanup(func() { unmountIfMounted(t, merged) })
		t.Fatal("mounted options over a page")
	}
	if !strings.Contains(err.Error(), "limit") {
		t.Errorf("unclear error: %v", err)
	}
}

// TestMountVolatile: MountVolatile's overlay is volatile (the kernel shows "volatile" or
// "fsync=volatile"), works as an overlay, and leaves the kernel's marker that the work dir
// must not be mounted again; with many layers (fsconfig) as with few (mount(2)).
func TestMountVolatile(t *testing.T) {
	top, bottom := twoLayers(t)
	base := t.TempDir()
	for _, tc := range []struct {
		name   string
		lowers []string
	}{
		{"two layers", []string{top, bottom}},
		{"120 layers", manyLayers(t, filepath.Join(base, "layers"), 120, hexName)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
			mkdirs(t, upper, work, merged)
			if err := MountVolatile(tc.lowers, upper, work, merged); err != nil {
				t.Fatalf("MountVolatile: %v", err)
			}
			t.Cleanup(func() { unmountIfMounted(t, merged) })
			if noVolatile.Load() {
				t.Skip("the kernel has no overlay volatile option (before 5.10)")
			}
			if opts := mountOptions(t, merged); !strings.Contains(opts, "volatile") {
				t.Errorf("mount options %q: not volatile", opts)
			}
			if err := os.WriteFile(filepath.Join(merged, "w"), []byte("w"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := Unmount(merged); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(upper, "w")); string(b) != "w" {
				t.Errorf("upper w = %q", b)
			}
			if _, err := os.Stat(filepath.Join(work, "work/incompat/volatile")); err != nil {
				t.Errorf("no volatile marker in the work dir: %v", err)
			}
			// The marker makes the kernel refuse this work dir from now on: the upper dir of
			// a volatile overlay is only good until it is unmounted.
			if err := Mount(tc.lowers, upper, work, merged); err == nil {
				unmountIfMounted(t, merged)
				t.Fatal("a volatile overlay's work dir mounted again")
			}
			// Unless KeepVolatile synced it and dropped the marker.
			if err := KeepVolatile(upper, work); err != nil {
				t.Fatal(err)
			}
			if err := Mount(tc.lowers, upper, work, merged); err != nil {
				t.Fatalf("mounting again after KeepVolatile: %v", err)
			}
			if b, _ := os.ReadFile(filepath.Join(merged, "w")); string(b) != "w" {
				t.Errorf("w = %q after mounting again", b)
			}
			if err := Unmount(merged); err != nil {
				t.Fatal(err)
			}
			if err := KeepVolatile(upper, work); err != nil { // no marker: nothing to do
				t.Error(err)
			}
		})
	}
}
