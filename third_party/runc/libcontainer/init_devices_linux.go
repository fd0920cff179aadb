package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 10).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	devices "github.com/opencontainers/cgroups/devices/config"
	"golang.org/x/sys/unix"

	"github.com/opencontainers/runc/internal/pathrs"
)

// deviceParents keeps the directory handles createDevices has resolved, so
// that the devices of one directory (all of /dev, in practice) resolve it
// once instead of once each: pathrs.MkdirAllParentInRoot costs some 40
// system calls, its checks included, where the node itself costs six.
type deviceParents map[string]*os.File

// parent returns the directory to make the node at path in and its name
// there, as pathrs.MkdirAllParentInRoot(root, path) does; the caller
// closes the directory when owned. A kept handle is reused only for a
// lexically clean path whose last component is not a symlink
// (MkdirAllParentInRoot would follow one, and the parent could differ).
// The handle is on the directory resolved for an earlier node and stays on
// it whatever happens to the path since.
func (p deviceParents) parent(root *os.File, path string) (dir *os.File, name string, owned bool, err error) {
	clean := pathrs.LexicallyCleanPath(path)
	parent, base := filepath.Dir(clean), filepath.Base(clean)
	if d, ok := p[parent]; ok && clean == path {
		var st unix.Stat_t
		err := unix.Fstatat(int(d.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) || (err == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK) {
			return d, base, false, nil
		}
	}
	d, n, err := pathrs.MkdirAllParentInRoot(root, path, 0o755)
	if err != nil {
		return nil, "", false, err
	}
	if _, ok := p[parent]; !ok && clean == path && n == base {
		p[parent] = d
		return d, n, false, nil
	}
	return d, n, true, nil
}

func (p deviceParents) close() {
	for _, d := range p {
		d.Close()
	}
}

// createDeviceNodeIn is upstream's createDeviceNode with the parent
// directory from parents.
func createDeviceNodeIn(rootFd *os.File, parents deviceParents, node *devices.Device, bind bool) error {
	if node.Path == "" {
		// The node only exists for cgroup reasons, ignore it here.
		return nil
	}
	destDir, destName, owned, err := parents.parent(rootFd, node.Path)
	if err != nil {
		return fmt.Errorf("mkdir parent of device inode %q: %w", node.Path, err)
	}
	if owned {
		defer destDir.Close()
	}

	if bind {
		return bindMountDeviceNode(destDir, destName, node)
	}
	if err := mknodDevice(destDir, destName, node); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil
		} else if errors.Is(err, os.ErrPermission) {
			return bindMountDeviceNode(destDir, destName, node)
		}
		return err
	}
	return nil
}

// symlink is pathrs.SymlinkInRoot(target, root, path) with the parent from
// p (see parent).
func (p deviceParents) symlink(root *os.File, target, path string) error {
	dir, name, owned, err := p.parent(root, path)
	if err != nil {
		return err
	}
	if owned {
		defer dir.Close()
	}
	if err := unix.Symlinkat(target, int(dir.Fd()), name); err != nil {
		return &os.PathError{Op: "symlinkat", Path: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// unlink is pathrs.UnlinkInRoot(root, path, 0) with a kept parent when
// there is one: unlinkat(2) acts on the name itself, symlink or not, and
// the kept handle is the directory UnlinkInRoot would resolve.
func (p deviceParents) unlink(root *os.File, path string) error {
	clean := pathrs.LexicallyCleanPath(path)
	d, ok := p[filepath.Dir(clean)]
	if !ok || clean != path {
		return pathrs.UnlinkInRoot(root, path, 0)
	}
	name := filepath.Base(clean)
	if err := unix.Unlinkat(int(d.Fd()), name, 0); err != nil {
		return &os.PathError{Op: "unlinkat", Path: d.Name() + "/" + name, Err: err}
	}
	return nil
}
