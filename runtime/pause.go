package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
)

// Pause freezes every process of the running container through its
// cgroup's freezer (libcontainer's Pause: freezer.state on cgroup v1,
// cgroup.freeze on v2), as docker pause does.
func Pause(runRoot string, info *Info) error {
	switch {
	case !info.State.Running:
		return fmt.Errorf("Container %s is not running", info.ID)
	case info.State.Paused && commitFroze(info.Dir):
		return nil // frozen by a killed commit: now paused by the user
	case info.State.Paused:
		return fmt.Errorf("Container %s is already paused", info.ID)
	}
	lc, err := libcontainer.Load(filepath.Join(runRoot, "libcontainer"), info.ID)
	if err != nil {
		return fmt.Errorf("loading container %s: %w", info.ID, err)
	}
	if err := lc.Pause(); err != nil {
		return fmt.Errorf("pausing container %s: %w", info.ID, err)
	}
	return nil
}

// Unpause thaws the container's processes.
func Unpause(runRoot string, info *Info) error {
	if !info.State.Paused {
		return fmt.Errorf("Container %s is not paused", info.ID)
	}
	commitFroze(info.Dir) // a killed commit's marker goes with the freeze
	return thaw(runRoot, info)
}

// ThawPaused thaws a paused container so that a stop, kill or rm can end
// it: a process frozen by cgroup v1's freezer does not die of SIGKILL
// until thawed. It does nothing to a container that is not paused.
func ThawPaused(runRoot string, info *Info) error {
	if !info.State.Paused {
		return nil
	}
	return thaw(runRoot, info)
}

func thaw(runRoot string, info *Info) error {
	lc, err := libcontainer.Load(filepath.Join(runRoot, "libcontainer"), info.ID)
	if err != nil {
		return fmt.Errorf("loading container %s: %w", info.ID, err)
	}
	if err := lc.Resume(); err != nil {
		return fmt.Errorf("unpausing container %s: %w", info.ID, err)
	}
	return nil
}

// frozen reports whether the process pid is in a frozen cgroup, read from
// the host's files so that any hako process sees it: the v1 freezer's
// freezer.state where it can be read, else cgroup v2's cgroup.freeze.
func frozen(pid int) bool {
	return frozenAt(fmt.Sprintf("/proc/%d/cgroup", pid), "/sys/fs/cgroup")
}

// frozenAt is frozen with the process's cgroup file and the cgroup mount
// root given (tests fake both).
func frozenAt(procCgroup, cgroupRoot string) bool {
	f, err := os.Open(procCgroup)
	if err != nil {
		return false
	}
	defer f.Close()
	var v2 string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c != "freezer" {
				continue
			}
			// Unreadable where /sys/fs/cgroup is a cgroup2 mount (v2 in a
			// mount namespace of a hybrid host): v2 decides then.
			if b, err := os.ReadFile(filepath.Join(cgroupRoot, "freezer", parts[2], "freezer.state")); err == nil {
				s := strings.TrimSpace(string(b))
				return s == "FROZEN" || s == "FREEZING"
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
	}
	if v2 == "" {
		return false
	}
	b, _ := os.ReadFile(filepath.Join(cgroupRoot, v2, "cgroup.freeze"))
	return strings.TrimSpace(string(b)) == "1"
}
