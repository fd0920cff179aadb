package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/hako-run/hako/internal/atomicfile"
)

// Files of a commit that freezes a running container (in its directory).
const (
	// commitLockFile is flocked by a commit for as long as it may have the
	// container frozen: commits of one container take turns, and a free
	// lock beside a marker means the commit that froze it was killed.
	commitLockFile = "commit.lock"
	// commitFrozenFile marks a container that a commit froze: written
	// before the freeze, removed after the thaw.
	commitFrozenFile = "commit-frozen"
)

// OpenCommit finds the container ref of root for hako commit: a stopped
// (or created) container is held by its lock, as LockStopped holds it; a
// running one is read without it — its monitor holds the lock for the
// container's life — or, when its monitor was killed, held by the lock
// (so that no repair or stop tears it down under the commit). running says
// whether its processes run, so that the caller freezes them. release lets
// go of what was taken.
func OpenCommit(root, ref string) (c *Stopped, running bool, release func(), err error) {
	dir, err := lookupContainerDir(root, ref)
	if err != nil {
		return nil, false, nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, false, nil, err
	}
	unlock, locked, err := tryLock(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, false, nil, err
	}
	if !locked {
		unlock = func() {}
	}
	rec, err := readLookupRecord(dir)
	if err != nil {
		unlock()
		return nil, false, nil, err
	}
	st := readState(dir)
	_, statErr := os.Stat(filepath.Join(dir, statusFile))
	switch {
	case st.Running && !st.Restarting:
		running = true
	case !locked:
		// A monitor holds it between runs (starting, restarting), or another
		// command (start, rm, a commit) works on it.
		err = fmt.Errorf("container %s is starting, restarting or in use by another hako command: try again", ref)
	case statErr != nil && st.Status != "exited":
		err = fmt.Errorf("container %s is not stopped (it is being created): try again", ref)
	}
	if err != nil {
		unlock()
		return nil, false, nil, err
	}
	return &Stopped{Record: *rec, Dir: dir}, running, unlock, nil
}

// FreezeForCommit freezes the running container c through its cgroup's
// freezer (as hako pause does) while a commit reads its changes. A
// container the user paused stays as it is. thaw undoes exactly what
// FreezeForCommit did, and must be called whatever the diff's outcome.
//
// A commit killed while the container is frozen (kill -9) leaves it
// frozen, with the marker commit-frozen beside a free commit.lock: ps
// shows it Paused; hako unpause thaws it; the next commit of it sees that
// a commit froze it and thaws it after its own diff; hako pause adopts it
// as paused by the user; stop, kill and rm -f thaw it as any paused one.
func FreezeForCommit(runRoot string, c *Stopped) (thaw func() error, err error) {
	unlock, err := atomicfile.Lock(filepath.Join(c.Dir, commitLockFile), true)
	if err != nil {
		return nil, err
	}
	in, err := readInit(c.Dir)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("reading the init of container %s: %w", c.ID, err)
	}
	marker := filepath.Join(c.Dir, commitFrozenFile)
	// Under the lock a marker is a killed commit's: the freeze is hako's.
	_, markErr := os.Stat(marker)
	stale, isFrozen := markErr == nil, frozen(in.PID)
	if !stale && isFrozen {
		unlock() // paused by the user: left paused
		return func() error { return nil }, nil
	}
	lc, err := libcontainer.Load(filepath.Join(runRoot, "libcontainer"), c.ID)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("loading container %s: %w", c.ID, err)
	}
	if !stale {
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			unlock()
			return nil, fmt.Errorf("marking container %s frozen by commit: %w", c.ID, err)
		}
	}
	if !isFrozen {
		if err := lc.Pause(); err != nil {
			os.Remove(marker)
			unlock()
			return nil, fmt.Errorf("pausing container %s: %w", c.ID, err)
		}
	}
	return func() error {
		defer unlock()
		if err := lc.Resume(); err != nil && frozen(in.PID) {
			return fmt.Errorf("unpausing container %s after the commit (hako unpause %s thaws it): %w", c.ID, c.ID[:12], err)
		}
		if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}, nil
}

// commitFroze reports whether the container in dir is frozen by a commit
// that was killed before it thawed it, and if so drops the marker: the
// caller takes the freeze over (pause keeps it, unpause ends it).
func commitFroze(dir string) bool {
	marker := filepath.Join(dir, commitFrozenFile)
	if _, err := os.Stat(marker); err != nil {
		return false
	}
	unlock, ok, err := tryLock(filepath.Join(dir, commitLockFile))
	if err != nil || !ok {
		return false // a live commit: its own thaw follows
	}
	defer unlock()
	return os.Remove(marker) == nil
}
