package runtime

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/rootfs"
)

// OpenRootfs returns an O_PATH handle of the container's root filesystem,
// for hako cp: a vfs container's merged/ directory; the overlay at merged/ while the container has it mounted
// (created or running), else the overlay of its layers and upper directory
// mounted for this process alone (rootfs.MountPrivate) while the
// container's lock is held, so it cannot start meanwhile. done closes the
// handle and lets go. The handle reaches the rootfs as /proc/self/fd/N from
// any thread.
//
// Volumes and bind mounts are not part of it: they are mounted in the
// container's own mount namespace only (see MountAt).
func OpenRootfs(root string, info *Info) (f *os.File, done func(), err error) {
	merged := filepath.Join(info.Dir, mergedDir)
	if info.VFS() { // a plain directory, whether the container runs or not
		f, err := os.OpenFile(merged, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("opening the rootfs of container %s: %w", info.ID, err)
		}
		return f, func() { f.Close() }, nil
	}
	if f, err := os.OpenFile(merged, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		var st unix.Statfs_t
		if unix.Fstatfs(int(f.Fd()), &st) == nil && st.Type == unix.OVERLAYFS_SUPER_MAGIC {
			return f, func() { f.Close() }, nil
		}
		f.Close()
	}
	c, unlock, err := LockStopped(root, info.ID)
	if err != nil {
		return nil, nil, err
	}
	if len(c.LayerDirs) == 0 {
		unlock()
		return nil, nil, fmt.Errorf("container %s was made by an older hako that did not record its layers", info.ID)
	}
	lowers, err := overlayLowers(c.Dir, c.LayerDirs)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	f, err = rootfs.MountPrivate(lowers, c.Upper(), filepath.Join(c.Dir, workDir), filepath.Join(c.Dir, mergedDir))
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return f, func() { f.Close(); unlock() }, nil
}

// MountAt returns the mount of the container's spec that holds the
// container path p, if any: what is there is not in the container's rootfs
// but in the mount's source (a volume's or bind mount's host directory or
// file, hako's hosts and resolv.conf) or in a filesystem of its own (proc,
// tmpfs…).
func MountAt(info *Info, p string) (m CpMount, ok bool) {
	if info.Spec == nil {
		return m, false
	}
	p = path.Clean("/" + p)
	for _, sm := range info.Spec.Mounts {
		d := path.Clean(sm.Destination)
		if d == "/" || !(p == d || strings.HasPrefix(p, d+"/")) || len(d) <= len(m.Destination) {
			continue
		}
		typ := sm.Type
		if typ == "" && (slices.Contains(sm.Options, "bind") || slices.Contains(sm.Options, "rbind")) {
			typ = "bind"
		}
		m = CpMount{Destination: d, Source: sm.Source, Type: typ, ReadOnly: slices.Contains(sm.Options, "ro")}
		ok = true
	}
	return m, ok
}

// CpMount is a mount of a container, as cp sees it.
type CpMount struct {
	Destination string // in the container
	Source      string // on the host, for a bind mount
	Type        string // bind, tmpfs, proc…
	ReadOnly    bool
}
