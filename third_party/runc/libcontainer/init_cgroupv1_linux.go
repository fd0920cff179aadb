package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 9).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/opencontainers/runc/internal/pathrs"
	"github.com/opencontainers/runc/libcontainer/configs"
)

// cgroupV1BindAttrs maps the mount flags the v1 cgroup binds may carry to
// mount_setattr(2) attributes. A bind with any other flag (atime flags,
// say) takes upstream's way.
var cgroupV1BindAttrs = map[int]uint64{
	unix.MS_RDONLY: unix.MOUNT_ATTR_RDONLY,
	unix.MS_NOSUID: unix.MOUNT_ATTR_NOSUID,
	unix.MS_NODEV:  unix.MOUNT_ATTR_NODEV,
	unix.MS_NOEXEC: unix.MOUNT_ATTR_NOEXEC,
}

// errCgroupV1Upstream says the fast way does not apply and nothing was
// mounted: upstream's way follows.
var errCgroupV1Upstream = errors.New("cgroup v1 binds: upstream's way")

// mountCgroupV1Binds makes the v1 cgroup binds of mountCgroupV1 (the
// container's own cgroup of each hierarchy, under the tmpfs just mounted at
// m.Destination) with the mount API: for each, open_tree(2) clones the
// host's directory, mount_setattr(2) sets the flags of the cgroup mount
// (ro, nosuid, nodev, noexec) and move_mount(2) attaches it on a directory
// made in the tmpfs through a handle on the tmpfs itself. Upstream's way
// makes each bind through mountToRootfs: the mountpoint made with
// MkdirAllInRoot from the rootfs, the bind and its read-only remount
// through /proc/thread-self/fd with pathrs-lite's checks before and after,
// some 130 system calls per hierarchy; here it is 7, and no path string of
// the container's tree is resolved after the tmpfs handle is open. The
// result is the same mounts with the same flags (see
// init_cgroupv1_linux_test.go); the source paths are resolved as
// upstream's mount(2) resolves them, in the init's mount namespace before
// pivot_root.
//
// It returns errCgroupV1Upstream, having mounted nothing, when it does not
// apply: a cgroup namespace, rootless cgroups, an SELinux mount label,
// propagation flags or mount flags beyond those four, a destination that
// is not the fresh tmpfs, or a kernel without the mount API.
func mountCgroupV1Binds(m *configs.Mount, c *mountConfig, binds []*configs.Mount) error {
	if c.cgroupns || c.rootlessCgroups || c.label != "" || len(m.PropagationFlags) != 0 || m.ClearedFlags != 0 {
		return errCgroupV1Upstream
	}
	var attrs uint64
	for flag := m.Flags; flag != 0; flag &= flag - 1 {
		attr, ok := cgroupV1BindAttrs[flag&-flag]
		if !ok {
			return errCgroupV1Upstream
		}
		attrs |= attr
	}
	dest := pathrs.LexicallyCleanPath(m.Destination)
	for _, b := range binds {
		if filepath.Dir(pathrs.LexicallyCleanPath(b.Destination)) != dest || strings.Contains(filepath.Base(b.Destination), "/") {
			return errCgroupV1Upstream
		}
	}

	dir, err := pathrs.OpenInRoot(c.root, dest, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return errCgroupV1Upstream
	}
	defer dir.Close()
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(dir.Fd()), &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		return errCgroupV1Upstream
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(dir.Fd()), &st); err != nil || st.Nlink != 2 {
		// Not the empty tmpfs mountCgroupV1 has just made.
		return errCgroupV1Upstream
	}

	for i, b := range binds {
		if err := bindCgroupV1(int(dir.Fd()), filepath.Base(b.Destination), b.Source, attrs); err != nil {
			if i == 0 && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM)) {
				// No mount API (or not for this): the directory made
				// is left in the tmpfs, where upstream's way makes it.
				return errCgroupV1Upstream
			}
			return fmt.Errorf("error mounting %q to rootfs at %q: %w", b.Source, b.Destination, err)
		}
	}
	return nil
}

// bindCgroupV1 attaches a clone of source, with attrs, on dirFd/name,
// which it makes (mode 0755, as MkdirAllInRoot would) unless it exists.
func bindCgroupV1(dirFd int, name, source string, attrs uint64) error {
	if err := unix.Mkdirat(dirFd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "mkdirat", Path: name, Err: err}
	}
	dst, err := unix.Openat(dirFd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "openat", Path: name, Err: err}
	}
	defer unix.Close(dst)
	tree, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return &os.PathError{Op: "open_tree", Path: source, Err: err}
	}
	defer unix.Close(tree)
	// As upstream's MS_BIND|MS_REMOUNT with these flags: exactly them on
	// the top mount (any other of the four, or nosymfollow, cleared), its
	// atime flags kept.
	clear := uint64(unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC|unix.MOUNT_ATTR_NOSYMFOLLOW) &^ attrs
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: attrs, Attr_clr: clear}); err != nil {
		return &os.PathError{Op: "mount_setattr", Path: source, Err: err}
	}
	if err := unix.MoveMount(tree, "", dst, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "move_mount", Path: name, Err: err}
	}
	return nil
}
