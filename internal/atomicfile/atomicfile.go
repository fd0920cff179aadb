// Package atomicfile writes files so that a crash or power cut at any moment
// leaves either the old content or the new, never a mix, and locks files
// between hako processes.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// TmpPrefix starts the names of files not complete yet. The writer's pid
// follows it, so a later command can tell abandoned ones from live ones.
const TmpPrefix = ".tmp-"

// TmpName returns a fresh temporary name in dir for this process.
func TmpName(dir, what string) string {
	return filepath.Join(dir, fmt.Sprintf("%s%d-%d-%s", TmpPrefix, os.Getpid(), time.Now().UnixNano(), what))
}

// Write writes data to path by write, fsync, rename, and syncs the directory
// so the rename itself survives a power cut.
func Write(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp := TmpName(dir, filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir makes a directory's entries (renames, creations) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Lock takes an flock(2) on path (created if missing), shared or exclusive,
// and returns its release. The kernel drops it when the process dies, so a
// killed hako never leaves anything locked.
func Lock(path string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		if err = unix.Flock(int(f.Fd()), how); err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// RemoveAbandoned deletes the temporary entries (TmpName) in dir whose
// writer is no longer running: leftovers of a killed command.
func RemoveAbandoned(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), TmpPrefix) {
			continue
		}
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(e.Name(), TmpPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || !processAlive(pid) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}
