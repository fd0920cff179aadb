package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A --rm container's directory is gone once it ends, yet `hako wait` (and
// `start -a`) must still learn its exit code, as Docker's do. Its monitor
// leaves the code in RUNROOT/exits/<id> (tmpfs: gone at reboot), where
// Wait looks once the directory is gone; codes older than exitsKeep are
// dropped by the next writer that finds the last sweep (the mtime of
// exits/.swept) at least exitsSweepEvery old, so a run stats one file,
// not every code of the last ten minutes.

const (
	exitsKeep       = 10 * time.Minute
	exitsSweepEvery = time.Minute
	exitsSwept      = ".swept"
)

func exitsDir(runRoot string) string { return filepath.Join(runRoot, "exits") }

// recordRemovedExit keeps the exit status of a --rm container being removed.
func recordRemovedExit(runRoot, id string, st Status) error {
	dir := exitsDir(runRoot)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sweepExits(dir, time.Now())
	// Renamed into place, not fsynced: RUNROOT is a tmpfs, gone at a
	// reboot with whatever a sync would have kept (on a disk an fsync here
	// cost a journal commit on every --rm run).
	return writeJSONUnsynced(filepath.Join(dir, id), st)
}

// sweepExits removes the codes (and temp files of killed writers) older
// than exitsKeep, unless the last sweep was less than exitsSweepEvery ago.
func sweepExits(dir string, now time.Time) {
	marker := filepath.Join(dir, exitsSwept)
	if fi, err := os.Stat(marker); err == nil && now.Sub(fi.ModTime()) < exitsSweepEvery {
		return
	}
	if err := os.Chtimes(marker, now, now); err != nil {
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Name() == exitsSwept {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > exitsKeep {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
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

// RemovedExitCode is the exit code the --rm container with the full ID id
// left in RUNROOT/exits, for a `wait` that comes after the removal: a
// script's `hako wait $(hako run -d --rm …)` races the container's end,
// and Docker's answer, "No such container", loses the code. Only a full
// ID is looked up: the name is gone with the container, and a prefix
// could name a removed one and a live one at once.
func RemovedExitCode(runRoot, id string) (int, bool) {
	if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return 0, false
	}
	st, ok := removedExit(runRoot, id)
	return st.ExitCode, ok
}
