package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// overlayFixedOpts keep the upper dir a plain tree that the diff code can turn back into a
// layer: no redirect or metacopy xattrs, no index of hardlinks.
var overlayFixedOpts = []string{"redirect_dir=off", "metacopy=off", "index=off"}

// errNoLowerdirPlus: the kernel lacks fsconfig "lowerdir+" (before Linux 6.8).
var errNoLowerdirPlus = errors.New("kernel has no overlay lowerdir+")

// Mount mounts an overlay of lowers (top first) with upper and work dirs at target, with
// redirect_dir=off,metacopy=off,index=off. With upper == "" it mounts a read-only view of the
// lowers (a single lower is bind-mounted read-only, as overlay needs two).
//
// mount(2) takes its options in one page. When absolute lowerdir paths do not fit, each lower is
// passed on its own through fsconfig "lowerdir+" (Linux 6.8+); on older kernels the lowers are
// given relative to their common parent directory, from a thread whose cwd is that directory.
func Mount(lowers []string, upper, work, target string) error {
	return mount(lowers, upper, work, target, nil)
}

// MountVolatile is Mount with overlay's "volatile" option (Linux 5.10+), for a container whose
// upper dir is deleted when it ends (run --rm). Without it the kernel syncs the upper dir's
// whole filesystem (ROOT's disk: every dirty page on it, not only the container's) when the
// overlay is unmounted, and on each syncfs(2) inside it; with it, never. After a crash such an
// upper dir must be thrown away (the kernel leaves work/work/incompat/volatile and refuses to
// mount that work dir again), which is what happens to a --rm container anyway. Where the
// kernel does not know the option, it mounts as Mount does.
func MountVolatile(lowers []string, upper, work, target string) error {
	if upper == "" || noVolatile.Load() {
		return Mount(lowers, upper, work, target)
	}
	err := mount(lowers, upper, work, target, []string{"volatile"})
	if errors.Is(err, unix.EINVAL) {
		// Before Linux 5.10 overlay refuses the unknown option: mount without it, and
		// remember, so the failed attempt is made once per process.
		if err2 := Mount(lowers, upper, work, target); err2 == nil {
			noVolatile.Store(true)
			return nil
		}
	}
	return err
}

// KeepVolatile makes the upper and work dirs of a cleanly unmounted volatile overlay mountable
// again: it syncs the upper dir's filesystem, then removes the kernel's marker from the work dir
// (the kernel's overlayfs documentation allows that once the upper dir is known intact, which a
// clean unmount and a sync make it). It does nothing where there is no marker.
func KeepVolatile(upper, work string) error {
	incompat := filepath.Join(work, "work", "incompat")
	if _, err := os.Lstat(incompat); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := SyncFS(upper); err != nil {
		return err
	}
	if err := os.RemoveAll(incompat); err != nil {
		return fmt.Errorf("making a volatile overlay's dirs mountable again: %w", err)
	}
	return nil
}

// noVolatile is set once the kernel refused the "volatile" option.
var noVolatile atomic.Bool

func mount(lowers []string, upper, work, target string, extra []string) error {
	lowers, upper, work, target, err := mountPaths(lowers, upper, work, target)
	if err != nil {
		return err
	}
	if len(lowers) == 1 && upper == "" {
		return bindReadOnly(lowers[0], target)
	}
	opts := overlayOptions(lowers, upper, work, extra...)
	if len(opts) < os.Getpagesize() {
		if err := unix.Mount("overlay", target, "overlay", mountFlags(upper), opts); err != nil {
			return fmt.Errorf("mounting overlay of %d layers at %s: %w", len(lowers), target, err)
		}
		return nil
	}
	err = mountFsconfig(lowers, upper, work, target, extra)
	if errors.Is(err, errNoLowerdirPlus) {
		err = mountRelative(lowers, upper, work, target, extra)
	}
	return err
}

// Unmount unmounts target. A busy mount is an error, not detached.
func Unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return fmt.Errorf("unmounting %s: %w", target, err)
	}
	return nil
}

// bindReadOnly gives the read-only view of a single layer: overlay refuses one lower without
// an upper dir. A lone layer has nothing below it for whiteouts to hide.
func bindReadOnly(src, target string) error {
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting layer %s at %s: %w", src, target, err)
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		unix.Unmount(target, unix.MNT_DETACH)
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	return nil
}

// mountPaths makes every path absolute and checks it can be passed in overlay options.
func mountPaths(lowers []string, upper, work, target string) ([]string, string, string, string, error) {
	if len(lowers) == 0 {
		return nil, "", "", "", errors.New("mounting overlay: no lower layers")
	}
	if (upper == "") != (work == "") {
		return nil, "", "", "", errors.New("mounting overlay: upper and work dirs go together")
	}
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("mounting overlay: %w", err)
		}
		// ':' separates lowers and ',' options; hako's own paths never contain them.
		if strings.ContainsAny(a, ":,\\") {
			return "", fmt.Errorf("mounting overlay: path %q contains ':', ',' or '\\'", p)
		}
		return a, nil
	}
	out := make([]string, len(lowers))
	var err error
	for i, l := range lowers {
		if out[i], err = abs(l); err != nil {
			return nil, "", "", "", err
		}
	}
	if upper, err = abs(upper); err != nil {
		return nil, "", "", "", err
	}
	if work, err = abs(work); err != nil {
		return nil, "", "", "", err
	}
	if target, err = abs(target); err != nil {
		return nil, "", "", "", err
	}
	return out, upper, work, target, nil
}

func overlayOptions(lowers []string, upper, work string, extra ...string) string {
	opts := []string{"lowerdir=" + strings.Join(lowers, ":")}
	if upper != "" {
		opts = append(opts, "upperdir="+upper, "workdir="+work)
	}
	opts = append(opts, overlayFixedOpts...)
	return strings.Join(append(opts, extra...), ",")
}

func mountFlags(upper string) uintptr {
	if upper == "" {
		return unix.MS_RDONLY
	}
	return 0
}

// mountFsconfig mounts with the new mount API, one fsconfig call per lower.
// extra are flag options ("volatile").
func mountFsconfig(lowers []string, upper, work, target string, extra []string) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		if err == unix.ENOSYS {
			return errNoLowerdirPlus
		}
		return fmt.Errorf("mounting overlay: fsopen: %w", err)
	}
	defer unix.Close(fsfd)
	set := func(key, value string) error {
		if err := unix.FsconfigSetString(fsfd, key, value); err != nil {
			return fmt.Errorf("mounting overlay of %d layers: setting %s=%s: %w%s", len(lowers), key, value, err, fsLog(fsfd))
		}
		return nil
	}
	for i, l := range lowers {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			if i == 0 && err == unix.EINVAL {
				fsLog(fsfd) // drop the kernel's message about the unknown key
				return errNoLowerdirPlus
			}
			return fmt.Errorf("mounting overlay of %d layers: adding lower %s: %w%s", len(lowers), l, err, fsLog(fsfd))
		}
	}
	if upper != "" {
		if err := set("upperdir", upper); err != nil {
			return err
		}
		if err := set("workdir", work); err != nil {
			return err
		}
	}
	for _, o := range overlayFixedOpts {
		k, v, _ := strings.Cut(o, "=")
		if err := set(k, v); err != nil {
			return err
		}
	}
	for _, o := range extra {
		if err := unix.FsconfigSetFlag(fsfd, o); err != nil {
			return fmt.Errorf("mounting overlay of %d layers: setting %s: %w%s", len(lowers), o, err, fsLog(fsfd))
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("mounting overlay of %d layers: %w%s", len(lowers), err, fsLog(fsfd))
	}
	attrs := 0
	if upper == "" {
		attrs = unix.MOUNT_ATTR_RDONLY
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return fmt.Errorf("mounting overlay of %d layers: fsmount: %w%s", len(lowers), err, fsLog(fsfd))
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mounting overlay of %d layers at %s: %w", len(lowers), target, err)
	}
	return nil
}

// fsLog returns the kernel's messages queued on a filesystem context, as ": msg; msg".
func fsLog(fsfd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return ": " + strings.Join(msgs, "; ")
}

// mountRelative passes the lowers relative to their common parent, from a thread that has its
// own cwd there (unshare CLONE_FS), so the option string stays short.
func mountRelative(lowers []string, upper, work, target string, extra []string) error {
	parent := commonParent(lowers)
	rel := make([]string, len(lowers))
	for i, l := range lowers {
		r, err := filepath.Rel(parent, l)
		if err != nil {
			return fmt.Errorf("mounting overlay: %w", err)
		}
		rel[i] = r
	}
	opts := overlayOptions(rel, upper, work, extra...)
	if page := os.Getpagesize(); len(opts) >= page {
		return fmt.Errorf("mounting overlay of %d layers: options are %d bytes even with paths relative to %s, over the %d-byte limit (the kernel lacks lowerdir+; use shorter layer paths)",
			len(lowers), len(opts), parent, page)
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread's cwd differs from the process's, so the runtime must
		// discard the thread when this goroutine ends.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("mounting overlay: unshare: %w", err)
			return
		}
		if err := unix.Chdir(parent); err != nil {
			errc <- fmt.Errorf("mounting overlay: %w", err)
			return
		}
		if err := unix.Mount("overlay", target, "overlay", mountFlags(upper), opts); err != nil {
			errc <- fmt.Errorf("mounting overlay of %d layers at %s (lowers relative to %s): %w", len(lowers), target, parent, err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// commonParent is the deepest directory containing all of paths (absolute and clean).
func commonParent(paths []string) string {
	parent := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for parent != "/" && !strings.HasPrefix(p, parent+"/") {
			parent = filepath.Dir(parent)
		}
	}
	return parent
}
