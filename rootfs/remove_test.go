package rootfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveTree(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(root, "tree")
	for _, d := range []string{"a/b/c", "a/empty", "d"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"f", "a/f", "a/b/c/f"} {
		if err := os.WriteFile(filepath.Join(tree, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Symlinks go, never what they point to.
	if err := os.Symlink(outside, filepath.Join(tree, "a/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(tree, "d/dirlink")); err != nil {
		t.Fatal(err)
	}
	// A read-only directory is no obstacle (as for os.RemoveAll, as root).
	if err := os.Chmod(filepath.Join(tree, "a/b"), 0o555); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTree(tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Fatalf("tree still there: %v", err)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Fatalf("a symlink's target was touched: %q %v", b, err)
	}
	// Missing: nothing to do. A file: removed.
	if err := RemoveTree(tree); err != nil {
		t.Fatalf("missing path: %v", err)
	}
	if err := RemoveTree(outside); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(outside); !os.IsNotExist(err) {
		t.Fatalf("file still there: %v", err)
	}
}

func TestRemoveOverlayDirs(t *testing.T) {
	dir := t.TempDir()
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	// What a volatile overlay leaves, plus a container's writes.
	for _, d := range []string{"upper/etc", "work/work/incompat/volatile", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"upper/etc/passwd", "work/work/incompat/volatile/dirty"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(dir, "config.json")
	if err := os.WriteFile(keep, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RemoveOverlayDirs(upper, work, merged); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "config.json" {
		t.Fatalf("left in the directory: %v", ents)
	}
	// Again, with nothing there (and a vfs container's lone merged/).
	if err := RemoveOverlayDirs(upper, work, merged); err != nil {
		t.Fatal(err)
	}
	if err := RemoveOverlayDirs("", "", keep); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(keep); !os.IsNotExist(err) {
		t.Fatalf("merged/ as a file still there: %v", err)
	}
}
