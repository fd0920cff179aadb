package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// initFile records the container's running init: written by its monitor
// once the process runs, so any later command can find, signal and watch
// it even after the monitor is gone.
const initFile = "init.json"

// InitProcess is the container's first process as the host sees it,
// ROOT/containers/<id>/init.json. The start time tells it from an unrelated
// process that got the same pid later.
type InitProcess struct {
	PID       int       `json:"pid"`
	StartTime uint64    `json:"start_time"` // /proc/<pid>/stat field 22
	StartedAt time.Time `json:"started_at"`
}

// Alive reports whether the init still runs (a zombie counts as gone).
func (i InitProcess) Alive() bool { return Monitor{PID: i.PID, StartTime: i.StartTime}.Alive() }

func readInit(dir string) (InitProcess, error) {
	var i InitProcess
	b, err := os.ReadFile(filepath.Join(dir, initFile))
	if err != nil {
		return i, err
	}
	return i, json.Unmarshal(b, &i)
}

// initAlive reports whether the container in dir has a live init.
func initAlive(dir string) bool {
	i, err := readInit(dir)
	return err == nil && i.Alive()
}

// detachedAlive reports whether the container in dir runs detached (with
// a log, not tied to a terminal) and its init is alive: such a container
// outlives its monitor. A foreground run's container dies with its hako
// (Repair kills it), as its terminal is gone.
func detachedAlive(dir string) bool {
	if !initAlive(dir) {
		return false
	}
	info, err := loadInfo(dir)
	return err == nil && info.Log != nil
}

// State is a container's state as Docker names it, derived from its files:
// status.json means it ended; a live init (pid + start time) means it runs,
// whether or not its monitor is alive; a live monitor without an init means
// it is being started.
type State struct {
	Status       string // created, running, paused, exited
	Running      bool   // true when paused too, as Docker's
	Paused       bool   // frozen by hako pause (pause.go)
	Pid          int
	ExitCode     int
	StartedAt    time.Time
	FinishedAt   time.Time
	MonitorPID   int  // 0 when no monitor is alive
	MonitorAlive bool // false for a running container whose monitor was killed
	// Restarting: it ended and its monitor waits to restart it (Running
	// too, as Docker shows it; ExitCode and FinishedAt are the last run's).
	Restarting bool
}

func readState(dir string) State {
	var s State
	in, inErr := readInit(dir)
	if inErr == nil {
		s.StartedAt = in.StartedAt
	}
	if m, err := ReadMonitor(dir); err == nil && m.Alive() {
		s.MonitorPID, s.MonitorAlive = m.PID, true
	}
	if st, err := loadStatus(dir); err == nil {
		if st.State == statusCreated { // hako create, not started yet
			s.Status = "created"
			return s
		}
		s.Status, s.ExitCode, s.FinishedAt = "exited", st.ExitCode, st.FinishedAt
		if s.MonitorAlive && readRestart(dir).Restarting {
			s.Status, s.Running, s.Restarting = "restarting", true, true
		}
		return s
	}
	// An init that just ended still counts as running until its monitor
	// has torn it down and recorded the end.
	if inErr == nil && (in.Alive() || s.MonitorAlive) {
		s.Status, s.Running, s.Pid = "running", true, in.PID
		if s.Paused = frozen(in.PID); s.Paused {
			s.Status = "paused"
		}
		return s
	}
	if inErr == nil && !s.MonitorAlive {
		// It ended with no monitor to see it: the next repair records it.
		s.Status, s.ExitCode = "exited", ExitKilled
		return s
	}
	s.Status = "created"
	return s
}

func loadStatus(dir string) (Status, error) {
	var st Status
	b, err := os.ReadFile(filepath.Join(dir, statusFile))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// Info is a container's record, directory and current state.
type Info struct {
	Record
	Dir   string
	State State
}

// LogPath is the container's json-file log (empty without a log).
func (i *Info) LogPath() string {
	if i.Log == nil {
		return ""
	}
	return logPath(i.Dir, i.ID)
}

// ListContainers returns the containers of root, newest first. Entries
// being created or removed (no record yet, temporary names) are skipped.
func ListContainers(root string) ([]*Info, error) {
	dir := containersDir(root)
	ids, err := containerIDs(dir) // records.go: which entries are containers
	if err != nil {
		return nil, err
	}
	var out []*Info
	for _, id := range ids {
		if info, err := loadInfo(filepath.Join(dir, id)); err == nil {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Created.After(out[b].Created) })
	return out, nil
}

func loadInfo(dir string) (*Info, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	info := &Info{Dir: dir}
	if err := json.Unmarshal(b, &info.Record); err != nil {
		return nil, fmt.Errorf("reading record of container %s: %w", filepath.Base(dir), err)
	}
	info.State = readState(dir)
	return info, nil
}

// ErrNoSuchContainer is returned by FindContainer for an unknown name or ID.
var ErrNoSuchContainer = errors.New("No such container") // Docker's words

// FindContainer finds a container by full ID, name or unique ID prefix, as
// Docker does.
func FindContainer(root, ref string) (*Info, error) {
	all, err := ListContainers(root)
	if err != nil {
		return nil, err
	}
	var byPrefix []*Info
	for _, c := range all {
		if c.ID == ref || c.Name == ref || c.Name == strings.TrimPrefix(ref, "/") {
			return c, nil
		}
		if ref != "" && strings.HasPrefix(c.ID, ref) {
			byPrefix = append(byPrefix, c)
		}
	}
	switch len(byPrefix) {
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, ref)
	case 1:
		return byPrefix[0], nil
	}
	return nil, fmt.Errorf("multiple IDs found with provided prefix: %s", ref)
}

// Ended reports, from the disk as it is now, whether the container's run
// is over: removed, or stopped with its monitor gone, so its log is
// complete.
func (i *Info) Ended() bool {
	if _, err := os.Stat(i.Dir); errors.Is(err, fs.ErrNotExist) {
		return true
	}
	s := readState(i.Dir)
	return !s.MonitorAlive && !s.Running
}
