package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/user"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
func openInRoot(rootfs, name string) (*os.File, error) {
	h, err := pathrs.OpenInRoot(rootfs, name)
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
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC)
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
func EnsureWorkdir(rootfs, dir string, uid, gid int) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("the working directory %q is invalid, it needs to be an absolute path", dir)
	}
	// Resolve symlinks in-root first so that one pointing at a missing
	// directory leads to creating it inside rootfs, as Docker does.
	full, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return fmt.Errorf("resolving working directory %s: %w", dir, err)
	}
	rel, err := filepath.Rel(rootfs, full)
	if err != nil {
		return fmt.Errorf("resolving working directory %s: %w", dir, err)
	}
	dir = filepath.Join("/", rel)
	missing, err := missingComponents(rootfs, dir)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}

	root, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening rootfs %s: %w", rootfs, err)
	}
	defer root.Close()
	h, err := pathrs.MkdirAllHandle(root, dir, 0o755)
	if err != nil {
		return fmt.Errorf("creating working directory %s: %w", dir, err)
	}
	h.Close()

	for _, p := range missing {
		if err := chownInRoot(rootfs, p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// missingComponents returns the prefixes of dir (shortest first) that don't
// exist yet inside rootfs. An existing final component must be a directory.
func missingComponents(rootfs, dir string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(dir, "/"), "/")
	var missing []string
	cur := "/"
	for _, part := range parts {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		if len(missing) > 0 {
			missing = append(missing, cur)
			continue
		}
		h, err := pathrs.OpenInRoot(rootfs, cur)
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, cur)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("looking up %s in container rootfs: %w", cur, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(int(h.Fd()), &st)
		h.Close()
		if err != nil {
			return nil, fmt.Errorf("stat %s in container rootfs: %w", cur, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, fmt.Errorf("cannot mkdir: %s is not a directory", cur)
		}
	}
	return missing, nil
}

// chownInRoot changes the owner of a path inside rootfs through an O_PATH
// handle, so the change can't be redirected by a symlink.
func chownInRoot(rootfs, p string, uid, gid int) error {
	h, err := pathrs.OpenInRoot(rootfs, p)
	if err != nil {
		return fmt.Errorf("opening %s in container rootfs: %w", p, err)
	}
	defer h.Close()
	if err := unix.Fchownat(int(h.Fd()), "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s in container rootfs: %w", p, err)
	}
	return nil
}
