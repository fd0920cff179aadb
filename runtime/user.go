package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/rootfs"
)

// ResolveUser resolves a Docker --user value (name|uid[:gid|group], or ""
// for root) against the container's /etc/passwd and /etc/group. It returns
// the OCI user and the user's home directory ("/" when passwd has none).
//
// The files are opened inside rootfs with symlinks resolved in-root, so an
// image whose /etc/passwd links to an absolute path can't make hako read a
// host file. As Docker does, the primary group is listed first among the
// additional groups, followed by the user's groups from /etc/group.
func ResolveUser(rootfs, userSpec string) (specs.User, string, error) {
	passwd, err := openInRoot(rootfs, "/etc/passwd")
	if err != nil {
		return specs.User{}, "", err
	}
	if passwd != nil {
		defer passwd.Close()
	}
	group, err := openInRoot(rootfs, "/etc/group")
	if err != nil {
		return specs.User{}, "", err
	}
	if group != nil {
		defer group.Close()
	}

	// Interfaces holding a nil *os.File are not nil; GetExecUser must see a
	// true nil for a missing file.
	var pr, gr io.Reader
	if passwd != nil {
		pr = passwd
	}
	if group != nil {
		gr = group
	}
	defaults := &user.ExecUser{Home: "/"}
	eu, err := user.GetExecUser(userSpec, defaults, pr, gr)
	if err != nil {
		return specs.User{}, "", err
	}

	u := specs.User{
		UID:            uint32(eu.Uid),
		GID:            uint32(eu.Gid),
		AdditionalGids: []uint32{uint32(eu.Gid)},
	}
	for _, g := range eu.Sgids {
		if uint32(g) != u.GID {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
	}
	home := eu.Home
	if home == "" {
		home = "/"
	}
	return u, home, nil
}

// openInRoot opens a regular file inside rootfs for reading. A missing file
// gives (nil, nil). Anything but a regular file (a FIFO would block, a device
// could be anything) is an error.
func openInRoot(root, name string) (*os.File, error) {
	h, err := rootfs.OpenInRoot(root, name, unix.O_PATH)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s in container rootfs: %w", name, err)
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return nil, fmt.Errorf("stat %s in container rootfs: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s in container rootfs is not a regular file", name)
	}
	// Reopen the very file the handle holds, not the path again.
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", h.Fd()), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s in container rootfs: %w", name, err)
	}
	return f, nil
}

// EnsureWorkdir creates the working directory dir (absolute, container path)
// inside rootfs if it is missing. Directories it creates are owned by
// uid:gid with mode 0755; existing ones are left alone (Docker creates them
// as the container's root; pass 0, 0 for that). Symlinks in the image are
// resolved inside rootfs, so a link can't make hako create host directories.
func EnsureWorkdir(root, dir string, uid, gid int) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("the working directory %q is invalid, it needs to be an absolute path", dir)
	}
	// Resolve symlinks in-root first so that one pointing at a missing
	// directory leads to creating it inside rootfs, as Docker does.
	full, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return fmt.Errorf("resolving working directory %s: %w", dir, err)
	}
	rel, err := filepath.Rel(root, full)
	if err != nil {
		return fmt.Errorf("resolving working directory %s: %w", dir, err)
	}
	dir = filepath.Join("/", rel)
	created, err := rootfs.MkdirAllInRoot(root, dir, 0o755)
	if errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("cannot mkdir: %s is not a directory", dir)
	}
	if err != nil {
		return fmt.Errorf("creating working directory %s: %w", dir, err)
	}
	for _, p := range created {
		if err := chownInRoot(root, p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// chownInRoot changes the owner of a path inside rootfs through an O_PATH
// handle, so the change can't be redirected by a symlink.
func chownInRoot(root, p string, uid, gid int) error {
	h, err := rootfs.OpenInRoot(root, p, unix.O_PATH)
	if err != nil {
		return fmt.Errorf("opening %s in container rootfs: %w", p, err)
	}
	defer h.Close()
	if err := unix.Fchownat(int(h.Fd()), "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s in container rootfs: %w", p, err)
	}
	return nil
}
