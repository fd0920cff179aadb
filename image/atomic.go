package image

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tmpPrefix marks files and directories that are not complete yet. Their
// names carry the writer's pid so a later command can tell abandoned ones
// (writer gone) from ones still being written.
const tmpPrefix = ".tmp-"

// tmpName returns a fresh temporary name in dir for this process.
func tmpName(dir, what string) string {
	return filepath.Join(dir, fmt.Sprintf("%s%d-%d-%s", tmpPrefix, os.Getpid(), time.Now().UnixNano(), what))
}

// writeFileAtomic writes data to path by write, fsync, rename, and syncs the
// directory so the rename survives a power cut.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp := tmpName(dir, filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
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
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeAbandoned deletes temporary entries in dir whose writer is no longer
// running: leftovers of a killed pull or load.
func removeAbandoned(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(e.Name(), tmpPrefix), "-")
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
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
