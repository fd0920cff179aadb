package rootfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openInRoot opens p below the directory rootfd as if rootfd were "/": ".." and absolute
// symlinks stop at rootfd, so the result is always inside it. Magic links (/proc) and mount
// crossings are refused.
func openInRoot(rootfd int, p string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	for range 16 {
		fd, err := unix.Openat2(rootfd, p, how)
		// EAGAIN: a concurrent rename made the kernel give up on a safe walk; try again.
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// removeAllAt removes name in dirfd and, for a directory, everything below it. Symlinks are
// removed, never followed.
func removeAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			return err
		}
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// futimens sets the times of the file open as fd (utimensat with a NULL path).
func futimens(fd int, t times) error {
	ts := [2]unix.Timespec{t.atime, t.mtime}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// writeAll writes all of b to fd.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// fsTopdirFlag is FS_TOPDIR_FL (chattr +T): the directories made in a
// directory with it are the tops of unrelated trees.
const fsTopdirFlag = 0x00020000

// SpreadTrees marks dir (a store's layers directory) so that the
// filesystem places each directory made in it, and so each layer's tree,
// as the top of a tree of its own (FS_TOPDIR_FL, chattr +T): ext4's Orlov
// allocator then puts it in the flex group with the fewest directories
// among those with above-average free inodes and blocks, searching from a
// start hashed from its name (a layer's temporary name is unique), as it
// does the children of "/", instead of next to its siblings. Without it a layer's inodes go to the groups its
// siblings used, which after a removal are full of just-freed inodes, and
// ext4 without a journal skips each inode freed in the last minute when it
// allocates one, looking each up in the buffer cache (recently_deleted):
// every file created costs a scan over the freed ones (BENCHMARKS.md,
// "Pull: where a small file's time goes"). The flag is not inherited: the
// layers' own directories are placed as usual. Filesystems without the
// flag (tmpfs, btrfs, xfs) refuse it; that is no error here.
func SpreadTrees(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFlag != 0 {
		return nil // no inode flags here, or set already
	}
	err = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFlag))
	if err != nil && err != unix.EOPNOTSUPP && err != unix.ENOTTY && err != unix.EINVAL && err != unix.EPERM {
		return fmt.Errorf("marking %s as holding unrelated trees: %w", dir, err)
	}
	return nil
}

// processUmask is the umask files are created with, from
// /proc/thread-self/status (Linux 4.7 on), or -1 when it cannot be read:
// umask(2) can only be read by changing it, which would race with every
// other goroutine creating files. Not /proc/self: that is the main
// thread's, and the main thread can hold an fs_struct of its own (a
// goroutine that unshared CLONE_FS and ended locked to it; the runtime
// parks the main thread rather than ending it), with a stale umask. Every
// thread that runs ordinary goroutines shares the process's.
func processUmask() int {
	data, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return -1
			}
			return int(n)
		}
	}
	return -1
}
