package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 11).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	securejoin "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"github.com/opencontainers/runc/internal/pathrs"
)

// describeHandle gives what a caller can observe of an O_PATH handle: the
// object it refers to, its status flags, close-on-exec, its path and name.
func describeHandle(t *testing.T, f *os.File) string {
	t.Helper()
	fd := int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	var mnt unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &mnt); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("dev %d ino %d mode %o mnt %d flags %#x fd flags %#x path %s name %s",
		st.Dev, st.Ino, st.Mode, mnt.Mnt_id, fl, fdfl, target, f.Name())
}

// TestOpenInRootOPathSameAsReopen: OpenInRoot with O_PATH flags returns
// OpenatInRoot's handle instead of re-opening it through procfs; what it
// returns must be what upstream's re-open gave, for directories, files,
// symlinks resolved inside the root and paths that try to leave it, and
// O_DIRECTORY must fail on a non-directory as the re-open did.
func TestOpenInRootOPathSameAsReopen(t *testing.T) {
	// O_PATH|O_NOFOLLOW re-opens give a handle on procfs's
	// /proc/<tid>/task/<tid>/fd/N link itself: both sides must run on the
	// same thread to be alike (CI saw the inode and path of another tid).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	root := t.TempDir()
	for _, d := range []string{"a/b", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "a/f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"a/up":  "../../../../..",
		"abs":   "/a/b",
		"a/lf":  "f",
		"dang":  "/nowhere",
		"a/esc": "/../../etc",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	rootFile, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rootFile.Close()

	// upstream is OpenInRoot as runc v1.5.3 has it.
	upstream := func(subpath string, flags int) (*os.File, error) {
		handle, err := securejoin.OpenatInRoot(rootFile, subpath)
		if err != nil {
			return nil, err
		}
		defer handle.Close()
		return pathrs.Reopen(handle, flags)
	}

	paths := []string{"", "/", "a", "/a/b", "a/f", "a/up", "a/up/a/f", "abs", "/abs/../f", "a/lf", "dang", "a/esc", "missing", "dev"}
	flagSets := []int{
		unix.O_PATH, unix.O_PATH | unix.O_CLOEXEC, unix.O_PATH | unix.O_DIRECTORY, unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		// These still take the re-open; they are here so that the test
		// fails if the O_PATH handle is returned for them.
		unix.O_RDONLY, unix.O_RDONLY | unix.O_DIRECTORY, unix.O_PATH | unix.O_NOFOLLOW,
	}
	for _, p := range paths {
		for _, flags := range flagSets {
			want, wantErr := upstream(p, flags)
			got, gotErr := pathrs.OpenInRoot(rootFile, p, flags)
			name := fmt.Sprintf("%q flags %#x", p, flags)
			switch {
			case wantErr != nil || gotErr != nil:
				if wantErr == nil || gotErr == nil {
					t.Errorf("%s: upstream error %v, now %v", name, wantErr, gotErr)
				} else if errors.Is(wantErr, unix.ENOTDIR) != errors.Is(gotErr, unix.ENOTDIR) ||
					errors.Is(wantErr, unix.ENOENT) != errors.Is(gotErr, unix.ENOENT) ||
					errors.Is(wantErr, unix.ELOOP) != errors.Is(gotErr, unix.ELOOP) {
					t.Errorf("%s: upstream error %v, now %v", name, wantErr, gotErr)
				}
			default:
				if w, g := describeHandle(t, want), describeHandle(t, got); w != g {
					t.Errorf("%s:\nupstream %s\nnow      %s", name, w, g)
				}
			}
			if want != nil {
				want.Close()
			}
			if got != nil {
				got.Close()
			}
		}
	}

}
