package runtime

// Seeding a new volume with the image's content at its mount point.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/rootfs"
)

// seedVolume copies the directory target of the container's rootfs (with
// owners, modes, times, xattrs, symlinks, hard links and device nodes) into
// the volume's empty data directory, as Docker's copy-up does. A missing
// or non-directory target, or a non-empty volume, is left alone.
//
// The copy is made in a directory next to _data that no container sees,
// then moved in: a running container that shares the volume can't swap
// a directory being filled for a symlink to the host, and a copy cut short
// leaves the volume empty, to be filled next time.
func seedVolume(rootDir, target, data string) error {
	h, err := rootfs.OpenInRoot(rootDir, target, unix.O_PATH)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil // nothing in the image to seed the volume with
	}
	if err != nil {
		return fmt.Errorf("resolving %s in the rootfs: %w", target, err)
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	// The directory opened in-root, by a path through its handle (the
	// trailing "." makes the magic link resolve, even for Lgetxattr); the
	// copy below never follows a symlink.
	src := fmt.Sprintf("/proc/self/fd/%d/.", h.Fd())
	if empty, err := isEmptyDir(data); err != nil || !empty {
		return err
	}
	tmp := filepath.Join(filepath.Dir(data), ".seed")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	c := copier{links: map[[2]uint64]string{}}
	if err := c.copyDir(src, tmp, &st); err != nil {
		return err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(data, e.Name())); err != nil {
			return err
		}
	}
	return copyMetadata(src, data, &st)
}

// isEmptyDir reports whether dir has no entries.
func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// copier copies a tree, keeping hard links between the files it copies.
type copier struct {
	links map[[2]uint64]string // source dev+inode -> the first copy
}

func (c copier) copyDir(src, dst string, st *unix.Stat_t) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		var est unix.Stat_t
		if err := unix.Lstat(s, &est); err != nil {
			return err
		}
		done, err := c.copyEntry(s, d, &est)
		if err != nil {
			return err
		}
		if !done {
			if err := copyMetadata(s, d, &est); err != nil {
				return err
			}
		}
	}
	// Last, so that copying the entries does not change the times.
	return copyMetadata(src, dst, st)
}

// copyEntry creates dst as a copy of src. done means dst is a hard link
// or skipped, and takes no metadata of its own.
func (c copier) copyEntry(src, dst string, st *unix.Stat_t) (done bool, err error) {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return false, err
		}
		return true, c.copyDir(src, dst, st)
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := c.links[key]; ok {
			return true, os.Link(first, dst)
		}
		if st.Nlink > 1 {
			c.links[key] = dst
		}
		return false, copyFile(src, dst)
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return false, err
		}
		return false, os.Symlink(target, dst)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		return false, unix.Mknod(dst, st.Mode, int(st.Rdev))
	}
	return true, nil // sockets are not copied, as with Docker
}

func copyFile(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyMetadata gives dst the owner, mode, xattrs and times of src, in an
// order where each step keeps the earlier ones: chown clears set-id bits
// and file capabilities.
func copyMetadata(src, dst string, st *unix.Stat_t) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Chmod(dst, st.Mode&07777); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times of %s: %w", dst, err)
	}
	return nil
}

// copyXattrs copies the extended attributes the destination file system
// accepts; one it does not support is skipped.
func copyXattrs(src, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		val, err := getXattr(src, name)
		if err != nil {
			return err
		}
		err = unix.Lsetxattr(dst, name, val, 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("setting xattr %s on %s: %w", name, dst, err)
		}
	}
	return nil
}

func listXattrs(p string) ([]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing xattrs of %s: %w", p, err)
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(p, buf); err != nil {
		return nil, fmt.Errorf("listing xattrs of %s: %w", p, err)
	}
	var names []string
	for _, n := range strings.Split(string(buf[:size]), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func getXattr(p, name string) ([]byte, error) {
	size, err := unix.Lgetxattr(p, name, nil)
	if err != nil {
		return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
	}
	buf := make([]byte, size)
	if size, err = unix.Lgetxattr(p, name, buf); err != nil {
		return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
	}
	return buf[:size], nil
}
