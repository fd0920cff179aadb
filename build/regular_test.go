package build

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// within fails the test when f takes more than a few seconds (a FIFO
// opened for reading blocks until a writer comes).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

// TestADDDoesNotOpenFIFOs: ADD looks into regular files only for an
// archive (as buildkit): a FIFO or a device in the context is copied as
// what it is, never opened (a FIFO would hang the build, a device node a
// context tar made could be any of the host's).
func TestADDDoesNotOpenFIFOs(t *testing.T) {
	ctx := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(ctx, "x.tar"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &source{what: "the build context", root: ctx, context: true, close: func() {}}
	within(t, "isArchive of a FIFO", func() {
		if ok, err := s.isArchive("x.tar"); ok || err != nil {
			t.Errorf("isArchive(FIFO) = %v, %v; want false, nil", ok, err)
		}
	})
	within(t, "unpack of a FIFO", func() {
		if err := s.unpack(&spoolWriter{}, "x.tar", "/"); err == nil {
			t.Error("unpack of a FIFO succeeded")
		}
	})
}

// TestChownReadsRegularPasswdOnly: --chown's name lookup does not open an
// image's /etc/passwd that is a FIFO (or a device).
func TestChownReadsRegularPasswdOnly(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "etc"), 0o755)
	if err := unix.Mkfifo(filepath.Join(root, "etc", "passwd"), 0o644); err != nil {
		t.Fatal(err)
	}
	within(t, "--chown with a FIFO passwd", func() {
		if _, _, err := resolveChown(root, "app"); err == nil {
			t.Error("--chown app resolved with a FIFO /etc/passwd")
		}
	})
}

// TestDockerignoreStaysInContext: a .dockerignore that is a symlink is
// resolved inside the context, so it cannot make the build read a host
// file (its lines would become patterns); a FIFO is not opened.
func TestDockerignoreStaysInContext(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "host-file")
	if err := os.WriteFile(outside, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(ctx, ".dockerignore")); err != nil {
		t.Fatal(err)
	}
	b := &builder{o: Options{ContextDir: ctx}}
	if err := b.readIgnore(); err != nil {
		t.Fatalf("readIgnore: %v", err)
	}
	if b.ignore != nil {
		t.Errorf("the patterns of %s (outside the context) were read: %v", outside, b.ignore.Patterns())
	}

	ctx2 := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(ctx2, ".dockerignore"), 0o644); err != nil {
		t.Fatal(err)
	}
	b = &builder{o: Options{ContextDir: ctx2}}
	within(t, "a FIFO .dockerignore", func() { b.readIgnore() })
}

// TestDockerignoreNotBypassedBySymlink: a file or directory .dockerignore
// excludes stays out of COPY when a symlink of the context leads to it, as
// with Docker, whose builder never receives an excluded file (the link then
// leads nowhere).
func TestDockerignoreNotBypassedBySymlink(t *testing.T) {
	ctx := t.TempDir()
	for name, body := range map[string]string{".dockerignore": "secret\nsdir\n", "secret": "s3cr3t", "sdir/key": "k", "ok": "fine"} {
		os.MkdirAll(filepath.Dir(filepath.Join(ctx, name)), 0o755)
		if err := os.WriteFile(filepath.Join(ctx, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"link": "secret", "alink": "/secret", "ldir": "sdir", "okl": "ok"} {
		if err := os.Symlink(target, filepath.Join(ctx, link)); err != nil {
			t.Fatal(err)
		}
	}
	b := &builder{o: Options{ContextDir: ctx}}
	if err := b.readIgnore(); err != nil {
		t.Fatal(err)
	}
	s, err := b.source(nil, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"link", "alink", "ldir", "ldir/key", "l*"} {
		if m, err := s.glob(p); err != nil || len(m) != 0 {
			t.Errorf("COPY %s: matches %q (%v), want none: it leads to what .dockerignore excludes", p, m, err)
		}
	}
	if m, err := s.glob("okl"); err != nil || len(m) != 1 {
		t.Errorf("COPY okl (a link to a file not excluded): %q, %v", m, err)
	}
}
