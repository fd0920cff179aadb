package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// OpenInRoot opens p inside the directory root as if root were "/"
// (openat2 RESOLVE_IN_ROOT): ".." and absolute symlinks stop at root, so
// what opens is always inside it, whatever the tree's symlinks say; magic
// links (/proc/…/fd) and mount crossings are refused. It is the one way hako
// opens a path inside an image's layer or a container's rootfs, for layer
// extraction as for the container's /etc/passwd. flags are open(2)'s
// (O_CLOEXEC is added); O_PATH gives a handle to fstat or fchownat.
//
// Where the kernel has no openat2 (Linux before 5.6, qemu-user), the
// emulation of filepath-securejoin's pathrs-lite (as runc uses it) opens
// instead; O_NOFOLLOW is then refused.
func OpenInRoot(root, p string, flags int) (*os.File, error) {
	r, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return openFileInRoot(r, p, flags)
}

// openFileInRoot is OpenInRoot in the open directory root.
func openFileInRoot(root *os.File, p string, flags int) (*os.File, error) {
	fd, err := openInRoot(int(root.Fd()), p, flags)
	if err == unix.ENOSYS && flags&unix.O_NOFOLLOW == 0 {
		return emulatedOpen(root, p, flags)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open in root " + root.Name(), Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(root.Name(), p)), nil
}

// emulatedOpen is OpenInRoot without openat2.
func emulatedOpen(root *os.File, p string, flags int) (*os.File, error) {
	h, err := pathrs.OpenatInRoot(root, p)
	if err != nil {
		return nil, err
	}
	if flags&unix.O_DIRECTORY != 0 {
		var st unix.Stat_t
		if err := unix.Fstat(int(h.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			h.Close()
			return nil, &os.PathError{Op: "open in root " + root.Name(), Path: p, Err: unix.ENOTDIR}
		}
	}
	if flags&unix.O_PATH != 0 {
		return h, nil
	}
	defer h.Close()
	return pathrs.Reopen(h, flags&^unix.O_DIRECTORY)
}

// MkdirAllInRoot creates the directory p inside root, resolved as
// OpenInRoot resolves it, with any missing parents, each with mode perm
// (less the umask). It returns the directories it created, parents first,
// as paths inside root. An existing component that is not a directory is an
// error.
func MkdirAllInRoot(root, p string, perm os.FileMode) ([]string, error) {
	r, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var created []string
	cur := "/"
	for _, name := range strings.Split(path.Clean("/"+p), "/") {
		if name == "" {
			continue
		}
		parent := cur
		cur = path.Join(cur, name)
		made, err := mkdirInRoot(r, parent, name, perm)
		if err != nil {
			return created, &os.PathError{Op: "mkdir in root " + root, Path: cur, Err: err}
		}
		if made {
			created = append(created, cur)
		}
	}
	return created, nil
}

// mkdirInRoot makes name in the directory parent (inside root) unless a
// directory of that name is there already.
func mkdirInRoot(root *os.File, parent, name string, perm os.FileMode) (made bool, err error) {
	cur := path.Join(parent, name)
	if err := isDirInRoot(root, cur); !errors.Is(err, unix.ENOENT) {
		return false, err
	}
	dir, err := openFileInRoot(root, parent, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return false, err
	}
	err = unix.Mkdirat(int(dir.Fd()), name, uint32(perm.Perm()))
	dir.Close()
	if err == unix.EEXIST {
		// Made meanwhile, or a symlink whose target is missing: the
		// directory must be there now, through the link if need be.
		return false, isDirInRoot(root, cur)
	}
	return err == nil, err
}

// isDirInRoot is nil when p inside root is a directory.
func isDirInRoot(root *os.File, p string) error {
	f, err := openFileInRoot(root, p, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil {
		f.Close()
	}
	return err
}

func openRoot(root string) (*os.File, error) {
	f, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening root %s: %w", root, err)
	}
	return f, nil
}

// ErrNotRegular is OpenRegularInRoot's answer for anything but a regular
// file.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegularInRoot opens the regular file p inside root for reading, as
// OpenInRoot resolves it. Anything else is ErrNotRegular, never opened: a
// FIFO would block, and a device node (an image's or a context tar's) could
// be any of the host's devices.
func OpenRegularInRoot(root, p string) (*os.File, error) {
	h, err := OpenInRoot(root, p, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return nil, &os.PathError{Op: "stat in root " + root, Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &os.PathError{Op: "open in root " + root, Path: p, Err: ErrNotRegular}
	}
	// The very file the handle holds, not the path again.
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", h.Fd()), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open in root " + root, Path: p, Err: err}
	}
	return f, nil
}
