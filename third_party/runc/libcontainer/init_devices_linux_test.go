package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 10).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	devices "github.com/opencontainers/cgroups/devices/config"
	"golang.org/x/sys/unix"

	"github.com/opencontainers/runc/internal/pathrs"
)

// describeTree lists every entry under root: path, type and mode, device
// number, owner, link target.
func describeTree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		line := fmt.Sprintf("%s %o %d:%d %d:%d", rel, st.Mode, unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)), st.Uid, st.Gid)
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestCreateDevicesAsUpstream makes the same nodes upstream's way (a
// parent resolved per node) and with the parents kept, and compares the
// trees, a symlinked node name among them.
func TestCreateDevicesAsUpstream(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("needs root for mknod")
	}
	nodes := []*devices.Device{
		{Path: "/dev/null", Rule: devices.Rule{Type: devices.CharDevice, Major: 1, Minor: 3}, FileMode: 0o666},
		{Path: "/dev/zero", Rule: devices.Rule{Type: devices.CharDevice, Major: 1, Minor: 5}, FileMode: 0o666, Uid: 5, Gid: 6},
		{Path: "/dev/net/tun", Rule: devices.Rule{Type: devices.CharDevice, Major: 10, Minor: 200}, FileMode: 0o600},
		{Path: "/dev/fifo", Rule: devices.Rule{Type: devices.FifoDevice}, FileMode: 0o640},
		{Path: "/dev/link", Rule: devices.Rule{Type: devices.CharDevice, Major: 1, Minor: 7}, FileMode: 0o666},
		{Path: "/dev/null", Rule: devices.Rule{Type: devices.CharDevice, Major: 1, Minor: 3}, FileMode: 0o666}, // exists: skipped
		{Path: "/dev//./full", Rule: devices.Rule{Type: devices.CharDevice, Major: 1, Minor: 7}, FileMode: 0o666},
		{Path: "", Rule: devices.Rule{Type: devices.CharDevice, Major: 1, Minor: 9}},
	}
	tmp := t.TempDir()
	var trees []string
	for _, way := range []string{"upstream", "kept"} {
		root := filepath.Join(tmp, way)
		// /dev/link is a dangling symlink out of /dev: both ways must
		// follow it, as MkdirAllParentInRoot does.
		if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../elsewhere/link", filepath.Join(root, "dev/link")); err != nil {
			t.Fatal(err)
		}
		// /dev/ptmx exists (setupPtmx replaces it); /dev/core is a
		// dangling symlink out of /dev, which a link made there follows.
		if err := os.WriteFile(filepath.Join(root, "dev/ptmx"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../elsewhere/core", filepath.Join(root, "dev/core")); err != nil {
			t.Fatal(err)
		}
		rootFd, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		old := syscall.Umask(0o022)
		parents := deviceParents{}
		for _, n := range nodes {
			if way == "upstream" {
				err = createDeviceNode(rootFd, n, false)
			} else {
				err = createDeviceNodeIn(rootFd, parents, n, false)
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", way, n.Path, err)
			}
		}
		links := [][2]string{{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/kcore", "/dev/core"}, {"x", "/dev/null"}}
		if way == "upstream" {
			if err := pathrs.UnlinkInRoot(rootFd, "/dev/ptmx", 0); err != nil {
				t.Fatal(err)
			}
			if err := pathrs.SymlinkInRoot("pts/ptmx", rootFd, "/dev/ptmx"); err != nil {
				t.Fatal(err)
			}
		} else if err := setupPtmx(rootFd, parents); err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if way == "upstream" {
				err = pathrs.SymlinkInRoot(l[0], rootFd, l[1])
			} else {
				err = parents.symlink(rootFd, l[0], l[1])
			}
			if (l[1] == "/dev/null") != errors.Is(err, os.ErrExist) {
				t.Fatalf("%s: link %s: %v", way, l[1], err)
			}
		}
		syscall.Umask(old)
		if way == "kept" && len(parents) == 0 {
			t.Fatal("no parent kept")
		}
		parents.close()
		rootFd.Close()
		trees = append(trees, describeTree(t, root))
	}
	if trees[0] != trees[1] {
		t.Fatalf("upstream:\n%s\nkept:\n%s", trees[0], trees[1])
	}
	for _, want := range []string{"elsewhere/link 20666 1:7", "elsewhere/core 120777 0:0 0:0 -> /proc/kcore", "dev/ptmx 120777 0:0 0:0 -> pts/ptmx", "dev/fd 120777 0:0 0:0 -> /proc/self/fd"} {
		if !strings.Contains(trees[1], want) {
			t.Fatalf("%q is missing:\n%s", want, trees[1])
		}
	}
}
