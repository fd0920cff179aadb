package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// OpenInRoot opens p inside the directory root as if root were "/"
// (openat2 RESOLVE_IN_ROOT): ".." and absolute symlinks stop at root, so
// what opens is always inside it, whatever the tree's symlinks say; magic
// links (/proc/…/fd) and mount crossings are refused. It is the one way hako
// opens a path inside an image's layer or a container's rootfs, for layer
// extraction as for the container's /etc/passwd. flags are open(2)'s
// (O_CLOEXEC is added); O_PATH gives a handle to fstat or fchownat.
func OpenInRoot(root, p string, flags int) (*os.File, error) {
	rfd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rfd)
	fd, err := openInRoot(rfd, p, flags)
	if err != nil {
		return nil, &os.PathError{Op: "open in root " + root, Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, p)), nil
}

// MkdirAllInRoot creates the directory p inside root, resolved as
// OpenInRoot resolves it, with any missing parents, each with mode perm
// (less the umask). It returns the directories it created, parents first,
// as paths inside root. An existing component that is not a directory is an
// error.
func MkdirAllInRoot(root, p string, perm os.FileMode) ([]string, error) {
	rfd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rfd)
	var created []string
	cur := "/"
	for _, name := range strings.Split(path.Clean("/"+p), "/") {
		if name == "" {
			continue
		}
		parent := cur
		cur = path.Join(cur, name)
		made, err := mkdirInRoot(rfd, parent, name, perm)
		if err != nil {
			return created, &os.PathError{Op: "mkdir in root " + root, Path: cur, Err: err}
		}
		if made {
			created = append(created, cur)
		}
	}
	return created, nil
}

// mkdirInRoot makes name in the directory parent (inside the root rfd)
// unless a directory of that name is there already.
func mkdirInRoot(rfd int, parent, name string, perm os.FileMode) (made bool, err error) {
	cur := path.Join(parent, name)
	if err := isDirInRoot(rfd, cur); !errors.Is(err, unix.ENOENT) {
		return false, err
	}
	pfd, err := openInRoot(rfd, parent, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return false, err
	}
	err = unix.Mkdirat(pfd, name, uint32(perm.Perm()))
	unix.Close(pfd)
	if err == unix.EEXIST {
		// Made meanwhile, or a symlink whose target is missing: the
		// directory must be there now, through the link if need be.
		return false, isDirInRoot(rfd, cur)
	}
	return err == nil, err
}

// isDirInRoot is nil when p inside the root rfd is a directory.
func isDirInRoot(rfd int, p string) error {
	fd, err := openInRoot(rfd, p, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func openRoot(root string) (int, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening root %s: %w", root, err)
	}
	return fd, nil
}
