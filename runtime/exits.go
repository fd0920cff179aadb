package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/hako-run/hako/internal/atomicfile"
)

// A --rm container's directory is gone once it ends, yet `hako wait` (and
// `start -a`) must still learn its exit code, as Docker's do. Its monitor
// leaves the code in RUNROOT/exits/<id> (tmpfs: gone at reboot), where
// Wait looks once the directory is gone; codes older than exitsKeep are
// dropped when the next one is written.

const exitsKeep = 10 * time.Minute

func exitsDir(runRoot string) string { return filepath.Join(runRoot, "exits") }

// recordRemovedExit keeps the exit status of a --rm container being removed.
func recordRemovedExit(runRoot, id string, st Status) error {
	dir := exitsDir(runRoot)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > exitsKeep {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, id), b, 0o600)
}

// removedExit is the exit status a --rm container left, if any.
func removedExit(runRoot, id string) (Status, bool) {
	var st Status
	b, err := os.ReadFile(filepath.Join(exitsDir(runRoot), id))
	if err != nil || json.Unmarshal(b, &st) != nil {
		return Status{}, false
	}
	return st, true
}
