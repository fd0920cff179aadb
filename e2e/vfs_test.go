package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/internal/testimage"
)

// pushWhiteoutImage pushes busybox with a layer of files and a layer that
// deletes one (whiteout) and replaces a directory's content (opaque).
func pushWhiteoutImage(t *testing.T, name string) string {
	t.Helper()
	img, err := testimage.WithLayer(busybox.img, map[string]testimage.File{
		"data/":    {Mode: os.ModeDir | 0o755},
		"data/a":   {Mode: 0o644, Content: []byte("a")},
		"data/b":   {Mode: 0o644, Content: []byte("b")},
		"opq/":     {Mode: os.ModeDir | 0o755},
		"opq/old1": {Mode: 0o644, Content: []byte("1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if img, err = testimage.WithLayer(img, map[string]testimage.File{
		"data/a":  {Whiteout: true},
		"opq/":    {Mode: os.ModeDir | 0o755, Opaque: true},
		"opq/new": {Mode: 0o644, Content: []byte("n")},
	}); err != nil {
		t.Fatal(err)
	}
	ref := registry + "/" + name + ":latest"
	push(t, ref, img)
	return ref
}

// cleanupContainers removes every container of s at the end of the test,
// then checks that nothing (mounts, cgroups, state) is left.
func cleanupContainers(t *testing.T, s *store) {
	t.Cleanup(func() {
		if ids := s.containerIDs(t); len(ids) > 0 {
			s.hako(t, append([]string{"rm", "-f"}, ids...)...)
		}
		s.waitNoMonitors(t)
		s.checkNothingLeft(t)
	})
}

// checkFlatLayers fails if a vfs layer dir holds overlay's marks, which an
// overlay upper dir (a root on overlayfs) would refuse to store.
func checkFlatLayers(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			t.Errorf("%s is an overlay whiteout in a vfs layer", p)
		}
		if _, err := unix.Lgetxattr(p, "trusted.overlay.opaque", nil); err == nil {
			t.Errorf("%s is marked opaque in a vfs layer", p)
		}
		return nil
	})
}

// TestVFSForced: --storage-driver vfs on a new root stores each layer as
// the full tree of its chain (whiteouts applied as deletions) and gives
// containers plain copies, recorded so later commands use vfs without the
// flag: run (foreground and -d), exec, cp, stop and start, commit (the
// changes against the image's top layer, deletions as whiteouts), export,
// rm, rmi freeing the vfs dirs, load; another driver for the root is
// refused.
func TestVFSForced(t *testing.T) {
	ref := pushWhiteoutImage(t, "vfs-forced")
	s := newStore(t)
	cleanupContainers(t, s)
	_, errOut, code := s.hako(t, "--storage-driver", "vfs", "pull", "-q", ref)
	if code != 0 || strings.Contains(errOut, "vfs storage driver") {
		t.Fatalf("pull with --storage-driver vfs: exit %d, stderr %q (no fallback notice wanted: it was asked for)", code, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(s.root, "storage-driver")); string(b) != "vfs\n" {
		t.Errorf("ROOT/storage-driver = %q, want vfs", b)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.root, "layers")); len(ents) != 0 {
		t.Errorf("overlay layers/ holds %d entries in a vfs root", len(ents))
	}
	vfsDir := filepath.Join(s.root, "vfs")
	layers, err := os.ReadDir(vfsDir)
	if err != nil || len(layers) != len(busybox.diffIDs)+2 {
		t.Fatalf("vfs/ holds %d layer dirs (%v), want %d", len(layers), err, len(busybox.diffIDs)+2)
	}
	checkFlatLayers(t, vfsDir)

	saved := filepath.Join(t.TempDir(), "image.tar")
	s.mustHako(t, "save", "-o", saved, ref)

	// Files from lower layers visible, the whiteout and opaque dir applied.
	view := "ls /data; echo --; ls /opq; test -x /bin/busybox && echo busybox"
	if out := s.mustRun(t, "--rm", ref, "sh", "-c", view); out != "b\n--\nnew\nbusybox\n" {
		t.Errorf("vfs view %q, want data/b, opq/new and busybox", out)
	}
	if out := s.mustHako(t, "info"); !strings.Contains(out, "Storage Driver: vfs\n") {
		t.Errorf("info does not say Storage Driver: vfs:\n%s", out)
	}
	_, errOut, code = s.hako(t, "--storage-driver", "overlay", "images")
	wantOneError(t, "--storage-driver overlay on a vfs root", errOut, code)
	if !strings.Contains(errOut, "vfs storage driver") {
		t.Errorf("refusal %q does not name the root's driver", errOut)
	}

	// Detached, with exec and cp both ways.
	id := s.runD(t, "--name", "bg", ref, "sleep", "300")
	if out := s.mustHako(t, "exec", "bg", "cat", "/data/b"); out != "b" {
		t.Errorf("exec cat /data/b = %q", out)
	}
	src := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(src, []byte("copied in"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.mustHako(t, "cp", src, "bg:/in.txt")
	if out := s.mustHako(t, "exec", "bg", "cat", "/in.txt"); out != "copied in" {
		t.Errorf("exec cat /in.txt after cp = %q", out)
	}
	if fi, err := os.Stat(filepath.Join(s.root, "containers", id, "merged", "in.txt")); err != nil || fi.Size() != 9 {
		t.Errorf("the vfs rootfs on disk lacks in.txt: %v", err)
	}
	// Stopped and started again: the same copy, no mount to redo.
	s.mustHako(t, "stop", "-t", "1", "bg")
	s.mustHako(t, "start", "bg")
	if out := s.mustHako(t, "exec", "bg", "cat", "/in.txt"); out != "copied in" {
		t.Errorf("after stop and start, /in.txt = %q", out)
	}
	s.mustHako(t, "rm", "-f", "bg")
	if _, err := os.Stat(filepath.Join(s.root, "containers", id)); !os.IsNotExist(err) {
		t.Errorf("rm left the container's copy behind: %v", err)
	}

	// Commit: changes against the image's top layer.
	s.mustRun(t, "--name", "maker", ref, "sh", "-c",
		"echo hi > /x && rm /data/b && rm -rf /opq && mkdir /opq && echo fresh > /opq/fresh && rm /bin/ls")
	out := s.mustHako(t, "cp", "maker:/x", "-")
	if !strings.Contains(out, "hi") {
		t.Errorf("cp from a stopped vfs container: %q lacks hi", out)
	}
	s.mustHako(t, "commit", "maker", "mine:1")
	top := l1Top(t, s, "docker.io/library/mine:1")
	for _, want := range []string{"x", "data/.wh.b", "bin/.wh.ls", "opq/fresh"} {
		if !slices.Contains(top, want) {
			t.Errorf("the committed layer %q lacks %s", top, want)
		}
	}
	for _, n := range top {
		if strings.HasPrefix(n, "etc") || strings.HasPrefix(n, "bin/busybox") {
			t.Errorf("the committed layer holds %s, which the container did not change", n)
		}
	}
	got := s.mustRun(t, "--rm", "mine:1", "sh", "-c", "cat /x; ls /data; ls /opq; test -e /bin/ls || echo ls-gone")
	if got != "hi\nfresh\nls-gone\n" {
		t.Errorf("the committed image holds %q, want hi, an empty /data, opq/fresh only, no ls", got)
	}
	checkFlatLayers(t, vfsDir)

	// Export: the container's whole tree, deletions applied.
	archive := filepath.Join(t.TempDir(), "fs.tar")
	s.mustHako(t, "export", "-o", archive, "maker")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
	if !slices.Contains(names, "x") || !slices.Contains(names, "bin/busybox") || slices.Contains(names, "data/b") || slices.Contains(names, "bin/ls") {
		t.Errorf("export %q: want x and bin/busybox, not data/b or bin/ls", names)
	}

	// rm and rmi free the copies and the layer dirs.
	s.mustHako(t, "rm", "maker")
	s.mustHako(t, "rmi", "mine:1", ref)
	if ents, _ := os.ReadDir(vfsDir); len(ents) != 0 {
		t.Errorf("vfs/ holds %d entries after rmi of every image", len(ents))
	}

	// load builds the same full-tree layers as pull.
	s.mustHako(t, "load", "-i", saved)
	checkFlatLayers(t, vfsDir)
	if out := s.mustRun(t, "--rm", ref, "sh", "-c", view); out != "b\n--\nnew\nbusybox\n" {
		t.Errorf("vfs view after load %q, want data/b, opq/new and busybox", out)
	}
}

// TestVFSFallbackOnOverlayRoot: a storage root on an overlay mount (as a
// Raspberry Pi's read-only overlay root) cannot hold overlay upper dirs:
// hako falls back to vfs by itself, says so once, runs the image, and
// prune frees the copies and layer dirs.
func TestVFSFallbackOnOverlayRoot(t *testing.T) {
	ref := pushWhiteoutImage(t, "vfs-fallback")
	base := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(base, "merged")
	opts := "lowerdir=" + filepath.Join(base, "lower") + ",upperdir=" + filepath.Join(base, "upper") + ",workdir=" + filepath.Join(base, "work")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mounting the test's overlay root: %v", err)
	}
	// Registered first, so it runs last: after the containers are gone.
	t.Cleanup(func() {
		if err := unix.Unmount(merged, 0); err != nil {
			t.Errorf("unmounting the test's overlay root: %v", err)
		}
	})
	s := &store{root: filepath.Join(merged, "hako"), runroot: t.TempDir()}
	cleanupContainers(t, s)

	notices := 0
	count := func(stderr string) { notices += strings.Count(stderr, "using the vfs storage driver") }
	_, errOut, code := s.hako(t, "pull", "-q", ref)
	if code != 0 {
		t.Fatalf("pull on an overlay root: exit %d, stderr %s", code, errOut)
	}
	count(errOut)
	if !strings.Contains(errOut, "cannot hold overlay upper dirs") {
		t.Errorf("pull's stderr %q does not say why it fell back", errOut)
	}
	checkFlatLayers(t, filepath.Join(s.root, "vfs"))
	out, errOut, code := s.run(t, "--rm", ref, "sh", "-c", "ls /data; echo --; ls /opq")
	count(errOut)
	if code != 0 || out != "b\n--\nnew\n" {
		t.Errorf("run on an overlay root: exit %d, %q, want data/b and opq/new; stderr %s", code, out, errOut)
	}
	id := s.runD(t, ref, "sleep", "300")
	out, errOut, _ = s.hako(t, "info")
	count(errOut)
	if !strings.Contains(out, "Storage Driver: vfs\n") {
		t.Errorf("info does not say Storage Driver: vfs:\n%s", out)
	}
	s.mustHako(t, "stop", "-t", "1", id)
	// prune frees the stopped container's copy, then every layer dir.
	s.mustHako(t, "container", "prune", "-f")
	if _, err := os.Stat(filepath.Join(s.root, "containers", id)); !os.IsNotExist(err) {
		t.Errorf("container prune left the container's copy behind: %v", err)
	}
	s.mustHako(t, "image", "prune", "-a", "-f")
	if ents, _ := os.ReadDir(filepath.Join(s.root, "vfs")); len(ents) != 0 {
		t.Errorf("vfs/ holds %d entries after image prune -a", len(ents))
	}
	if notices != 1 {
		t.Errorf("the fallback notice was printed %d times, want once", notices)
	}
}

// TestVFSFromConfigFile: "storage-driver" in hako's config file chooses
// the driver of a new root, as --storage-driver does; a bad value is a
// one-line usage error.
func TestVFSFromConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.json")
	withConf := func(body string, args ...string) (string, string, int) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		s := newStore(t)
		cmd := s.cmd(args...)
		cmd.Env = append(os.Environ(), "HAKO_CONFIG="+conf)
		_, errOut, code := runTool(t, cmd)
		b, _ := os.ReadFile(filepath.Join(s.root, "storage-driver"))
		return string(b), errOut, code
	}
	if rec, errOut, code := withConf(`{"storage-driver": "vfs"}`, "images"); code != 0 || rec != "vfs\n" {
		t.Errorf("config storage-driver vfs: exit %d (%s), ROOT/storage-driver %q", code, errOut, rec)
	}
	if rec, errOut, code := withConf(`{"storage-driver": "vfs"}`, "--storage-driver", "overlay", "images"); code != 0 || rec != "overlay\n" {
		t.Errorf("--storage-driver overlay over the config's vfs: exit %d (%s), ROOT/storage-driver %q", code, errOut, rec)
	}
	_, errOut, code := withConf(`{"storage-driver": "zfs"}`, "images")
	if code != 125 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, `"zfs"`) {
		t.Errorf("config storage-driver zfs: exit %d, stderr %q; want 125 and one line naming it", code, errOut)
	}
}
