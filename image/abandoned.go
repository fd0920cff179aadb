package image

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/hako-run/hako/internal/atomicfile"
)

// removeAbandoned deletes temporary entries in dir whose writer is no longer
// running: leftovers of a killed pull or load.
func removeAbandoned(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), atomicfile.TmpPrefix) {
			continue
		}
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(e.Name(), atomicfile.TmpPrefix), "-")
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
