package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Storage drivers: how a container's root filesystem is made of its
// image's layers.
const (
	// DriverOverlay stacks the layer directories with overlayfs; a
	// container's changes go to its upper directory.
	DriverOverlay = "overlay"
	// DriverVFS keeps each layer directory as the full tree of its chain
	// (ApplyOptions.Flat) and gives a container a plain copy of its top
	// layer: for storage roots where overlayfs cannot put an upper dir
	// (a root itself on overlayfs, a filesystem without xattrs or d_type).
	DriverVFS = "vfs"
)

// ValidDriver reports whether name is a storage driver hako has.
func ValidDriver(name string) bool { return name == DriverOverlay || name == DriverVFS }

// CopyTree copies the directory src and everything below it to dst, which
// must not exist: a plain copy (no reflink or hardlink to src is needed)
// keeping owners, modes, times, xattrs, symlinks, device nodes, fifos and
// the hard links between files of the tree. No symlink is followed;
// sockets are left out. The copy is not synced: the caller syncs once.
func CopyTree(ctx context.Context, src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("copying %s: not a directory", src)
	}
	bufp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bufp)
	c := &treeCopier{ctx: ctx, buf: *bufp, links: map[[2]uint64]string{}}
	if err := c.entry(src, dst, &st); err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return nil
}

type treeCopier struct {
	ctx   context.Context
	buf   []byte
	links map[[2]uint64]string // source (dev, inode) → its first copy
}

// entry copies src (whose lstat is st) to the new path dst.
func (c *treeCopier) entry(src, dst string, st *unix.Stat_t) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdir(dst, 0o700); err != nil {
			return err
		}
		if err := c.children(src, dst); err != nil {
			return err
		}
	case unix.S_IFREG:
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := c.links[key]; ok {
			return unix.Link(first, dst) // the link shares the first copy's metadata
		}
		if st.Nlink > 1 {
			c.links[key] = dst
		}
		if err := c.file(src, dst); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := unix.Symlink(target, dst); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknod(dst, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)); err != nil {
			return err
		}
	default:
		return nil // sockets are not copied
	}
	return copyMeta(src, dst, st)
}

func (c *treeCopier) children(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		s, d := filepath.Join(src, n), filepath.Join(dst, n)
		var st unix.Stat_t
		if err := unix.Lstat(s, &st); err != nil {
			return err
		}
		if err := c.entry(s, d, &st); err != nil {
			return err
		}
	}
	return nil
}

func (c *treeCopier) file(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	// io.CopyBuffer between two files lets the kernel copy (copy_file_range).
	_, err = io.CopyBuffer(out, in, c.buf)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyMeta gives dst src's owner, xattrs, mode and times, in that order:
// chown clears set-id bits and file capabilities.
func copyMeta(src, dst string, st *unix.Stat_t) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	xattrs, err := readXattrs(src)
	if err != nil {
		return err
	}
	for name, v := range xattrs {
		if strings.HasPrefix(name, overlayXattrPrefix) {
			continue // overlay's own marks: no vfs tree holds them
		}
		err := unix.Lsetxattr(dst, name, []byte(v), 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !ignorableXattrErr(name, err) {
			return fmt.Errorf("setting xattr %s on %s: %w", name, dst, err)
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times of %s: %w", dst, err)
	}
	return nil
}

// SyncFS flushes the filesystem holding dir (syncfs), once after a copy.
func SyncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// flatWhiteout applies a whiteout to a full tree (ApplyOptions.Flat):
// ".wh.NAME" deletes NAME, ".wh..wh..opq" deletes what the lowers put in
// its directory; entries of this layer stay.
func (x *extractor) flatWhiteout(hdr *tar.Header, parent, base string) error {
	pfd, err := x.dir(parent, true)
	if err != nil {
		return err
	}
	if base == opaqueMarker {
		return x.clearLowers(pfd, parent)
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." || strings.HasPrefix(target, whiteoutPrefix) {
		return fmt.Errorf("invalid whiteout %q", hdr.Name)
	}
	if x.touched[path.Join(parent, target)] {
		return nil
	}
	return x.clear(pfd, target)
}

// clearLowers removes from the directory dirfd (layer path p) everything
// this layer did not make, descending into the directories it did.
func (x *extractor) clearLowers(dirfd int, p string) error {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %q: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("reading %q: %w", p, err)
	}
	for _, n := range names {
		child := path.Join(p, n)
		if !x.touched[child] {
			if err := x.clear(fd, n); err != nil {
				return err
			}
			continue
		}
		cfd, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOTDIR || err == unix.ELOOP {
			continue // a file of this layer
		}
		if err != nil {
			return fmt.Errorf("opening %q: %w", child, err)
		}
		err = x.clearLowers(cfd, child)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}
