package hako_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/internal/testimage"
	"github.com/hako-run/hako/runtime"
)

// libcontainer re-executes the test binary as a container's init.
func init() { runtime.Init() }

// pushBusybox serves busybox with a VOLUME, a working directory and an
// environment variable in its config from an in-process registry.
func pushBusybox(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	bb, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := bb.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	c.Env = append(c.Env, "FROM_IMAGE=yes")
	c.WorkingDir = "/w"
	c.Volumes = map[string]struct{}{"/vol": {}}
	img, err := mutate.Config(bb, c)
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/busybox:latest"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// gcLocked reports whether someone holds the store's gc.lock, as rmi
// would find it.
func gcLocked(t *testing.T, root string) bool {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, "gc.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatal(err)
	}
	return true
}

func TestRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("running containers needs root")
	}
	ref := pushBusybox(t)
	root := t.TempDir()
	store, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var notices []string
	heldWhileResolving := false
	code, err := hako.Run(context.Background(), hako.Options{
		Store: store,
		Image: ref,
		Resolve: image.ResolveOptions{Notice: func(msg string) {
			notices = append(notices, msg)
			heldWhileResolving = gcLocked(t, root)
		}},
		Container: runtime.Config{
			RunRoot: t.TempDir(),
			Options: runtime.SpecOptions{Cmd: []string{"sh", "-c", `echo $FROM_IMAGE; pwd; grep -c " /vol " /proc/mounts; exit 3`}},
			Remove:  true,
			Stdio:   runtime.Stdio{Stdout: &out, Stderr: &out},
		},
	})
	if err != nil || code != 3 {
		t.Fatalf("Run: %d, %v (output %q); want 3", code, err, out.String())
	}
	if got, want := out.String(), "yes\n/w\n1\n"; got != want {
		t.Errorf("output %q, want %q (the image's env, workdir and VOLUME)", got, want)
	}
	if want := "Unable to find image '" + ref + "' locally"; len(notices) != 1 || notices[0] != want {
		t.Errorf("notices %q, want %q", notices, want)
	}
	if !heldWhileResolving {
		t.Error("gc.lock was free while the image was being resolved")
	}
	if gcLocked(t, root) {
		t.Error("gc.lock still held after Run")
	}
	if left, _ := os.ReadDir(filepath.Join(root, "containers")); len(dirs(left)) != 0 {
		t.Errorf("a --rm container left %d directories", len(dirs(left)))
	}
}

func TestCreateMissingImage(t *testing.T) {
	root := t.TempDir()
	store, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	code, err := hako.Run(context.Background(), hako.Options{
		Store:     store,
		Image:     "nothing-here:1",
		Resolve:   image.ResolveOptions{Pull: image.PullNever},
		Container: runtime.Config{RunRoot: t.TempDir(), Options: runtime.SpecOptions{Cmd: []string{"true"}}},
	})
	if code != runtime.ExitCannotRun || !errors.Is(err, image.ErrNotFound) || err.Error() != "No such image: nothing-here:1" {
		t.Errorf("Run of a missing image, --pull never: %d, %v; want 125 and No such image", code, err)
	}
	if left, _ := os.ReadDir(filepath.Join(root, "containers")); len(dirs(left)) != 0 {
		t.Errorf("a failed create left %d directories", len(dirs(left)))
	}
	if gcLocked(t, root) {
		t.Error("gc.lock still held after a failed create")
	}
}

// dirs drops dot entries (containers/.lock).
func dirs(entries []os.DirEntry) []os.DirEntry {
	var ds []os.DirEntry
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			ds = append(ds, e)
		}
	}
	return ds
}
