package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenInRootStaysInside: links that point out of the root, absolutely
// or by climbing with .., open the file of that name inside it.
func TestOpenInRootStaysInside(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	inside := filepath.Join(root, outside)
	if err := os.MkdirAll(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inside, "secret"), []byte("root"), 0o600); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"abs":   filepath.Join(outside, "secret"),
		"climb": "../../../../../../../.." + outside + "/secret",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
		f, err := OpenInRoot(root, link, unix.O_RDONLY)
		if err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		b := make([]byte, 8)
		n, _ := f.Read(b)
		f.Close()
		if string(b[:n]) != "root" {
			t.Errorf("%s -> %s opened %q, want the file inside the root", link, target, b[:n])
		}
	}
	if _, err := OpenInRoot(root, "missing", unix.O_RDONLY); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestMkdirAllInRoot(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "srv"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside+"/made", filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	created, err := MkdirAllInRoot(root, "/srv/a/b", 0o755)
	if err != nil || strings.Join(created, " ") != "/srv/a /srv/a/b" {
		t.Errorf("MkdirAllInRoot /srv/a/b: %q, %v; want /srv/a /srv/a/b", created, err)
	}
	if created, err := MkdirAllInRoot(root, "/srv/a/b", 0o755); err != nil || len(created) != 0 {
		t.Errorf("again: %q, %v; want nothing created", created, err)
	}
	// A dangling link to a host path is not followed out of the root, nor
	// guessed at: the caller resolves links first (as EnsureWorkdir does).
	if _, err := MkdirAllInRoot(root, "/dangling/sub", 0o755); !errors.Is(err, unix.ENOENT) {
		t.Errorf("through a dangling link: %v, want ENOENT", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("created on the host: %v", entries)
	}
	if _, err := MkdirAllInRoot(root, "/file/sub", 0o755); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("under a file: %v, want ENOTDIR", err)
	}
}
