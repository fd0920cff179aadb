package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// CopyOptions tune WriteCopy (hako cp).
type CopyOptions struct {
	// KeepOwner keeps each entry's uid and gid (cp -a); without it every
	// entry is owned by root, the user at the destination.
	KeepOwner bool
}

// WriteCopy writes the entry base of the directory dir, and everything
// below it when it is a directory, as a tar to w, its top entry named name
// (the names below it under name; "" writes a directory's contents only).
// base "" is dir itself. Every step is an *at call from an open directory
// that never follows a symlink, so a tree that changes meanwhile (a running
// container's) cannot lead it out of dir: symlinks go into the tar as
// symlinks.
func WriteCopy(w io.Writer, dir *os.File, base, name string, o CopyOptions) error {
	c := &copyWriter{tw: tar.NewWriter(w), o: o, links: map[[2]uint64]string{}}
	if err := c.entry(int(dir.Fd()), base, name); err != nil {
		return err
	}
	return c.tw.Close()
}

type copyWriter struct {
	tw    *tar.Writer
	o     CopyOptions
	links map[[2]uint64]string // (dev, inode) → first name, for hardlinks
}

func (c *copyWriter) entry(dirfd int, base, name string) error {
	var st unix.Stat_t
	statFlags := unix.AT_SYMLINK_NOFOLLOW
	if base == "" {
		statFlags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(dirfd, base, &st, statFlags); err != nil {
		return &os.PathError{Op: "lstat", Path: name, Err: err}
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		ModTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)), // int32 on 32-bit arm
		Format:  tar.FormatPAX,
	}
	if c.o.KeepOwner {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return c.dir(dirfd, base, hdr)
	case unix.S_IFREG:
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := c.links[key]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return c.tw.WriteHeader(hdr)
		}
		if st.Nlink > 1 {
			c.links[key] = name
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		return c.file(dirfd, base, hdr)
	case unix.S_IFLNK:
		target, err := readlinkat(dirfd, base)
		if err != nil {
			return &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev)))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets cannot be copied
	}
	return c.tw.WriteHeader(hdr)
}

func (c *copyWriter) dir(dirfd int, base string, hdr *tar.Header) error {
	if base == "" {
		base = "."
	}
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: hdr.Name, Err: err}
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	if hdr.Name != "" {
		hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		if err := c.tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", hdr.Name, err)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := c.entry(fd, n, path.Join(hdr.Name, n)); err != nil {
			return err
		}
	}
	return nil
}

func (c *copyWriter) file(dirfd int, base string, hdr *tar.Header) error {
	var fd int
	var err error
	if base == "" {
		// The open file itself: reopened for reading through its fd link.
		fd, err = unix.Open(fmt.Sprintf("/proc/self/fd/%d", dirfd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	} else {
		fd, err = unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: hdr.Name, Err: err}
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	if err := c.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(c.tw, io.LimitReader(f, hdr.Size))
	if err != nil {
		return fmt.Errorf("reading %s: %w", hdr.Name, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("%s shrank while it was copied", hdr.Name)
	}
	return nil
}

func readlinkat(dirfd int, base string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, base, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// ErrOverwriteDir is returned by ExtractCopy for an entry that would
// replace a directory by a non-directory or the other way round.
var ErrOverwriteDir = errors.New("cannot overwrite")

// ExtractCopy extracts the tar r (plain or compressed) into the directory
// dir as hako cp does, with ApplyLayer's safety: every entry is resolved
// inside dir as if it were the root, so a symlink in dir or in the archive
// never leads a write out of it. Unlike a layer, an entry may not replace a
// directory by a non-directory or the reverse (Docker's cp refuses both),
// and names starting with ".wh." are refused rather than taken as overlay
// whiteouts.
func ExtractCopy(dir string, r io.Reader) error {
	dec, closeDec, err := Decompress(r)
	if err != nil {
		return err
	}
	defer closeDec()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(filterCopy(dir, dec, pw)) }()
	_, err = ApplyLayer(context.Background(), dir, pr, ApplyOptions{})
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the filter when ApplyLayer failed first
	return err
}

// filterCopy copies the tar r to w, refusing what cp must not do.
func filterCopy(dir string, r io.Reader, w io.Writer) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		name := path.Clean(strings.TrimLeft(hdr.Name, "/"))
		if strings.HasPrefix(path.Base(name), whiteoutPrefix) {
			return fmt.Errorf("cannot copy %q: names starting with %s are overlay whiteouts", hdr.Name, whiteoutPrefix)
		}
		if name != "." {
			if err := checkOverwrite(dir, name, hdr.Typeflag == tar.TypeDir); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// checkOverwrite refuses an entry whose type (directory or not) differs
// from what is already at name in dir.
func checkOverwrite(dir, name string, isDir bool) error {
	f, err := OpenInRoot(dir, name, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return nil // nothing there (or no way to tell): ApplyLayer decides
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil
	}
	switch existsDir := st.Mode&unix.S_IFMT == unix.S_IFDIR; {
	case existsDir && !isDir:
		return fmt.Errorf("%w directory %q with non-directory", ErrOverwriteDir, "/"+name)
	case !existsDir && isDir:
		return fmt.Errorf("%w non-directory %q with directory", ErrOverwriteDir, "/"+name)
	}
	return nil
}

// MountPrivate mounts the overlay of lowers (bottom first), upper and work
// in a mount namespace of its own thread (so no other process ever sees
// it, and nothing stays mounted should hako die) and returns an open
// O_PATH handle of its root: reachable from any thread as
// /proc/self/fd/N, it keeps the overlay alive until closed.
func MountPrivate(lowers []string, upper, work, target string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	res := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine, taking its
		// mount namespace with it.
		runtime.LockOSThread()
		f, err := mountPrivate(lowers, upper, work, target)
		res <- result{f, err}
	}()
	r := <-res
	return r.f, r.err
}

func mountPrivate(lowers []string, upper, work, target string) (*os.File, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("unsharing the mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making mounts private: %w", err)
	}
	if err := Mount(lowers, upper, work, target); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(target, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.OVERLAYFS_SUPER_MAGIC {
		f.Close()
		return nil, fmt.Errorf("the overlay of %d layers is not visible at %s", len(lowers), target)
	}
	return f, nil
}
