package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRepairKilledRun: a `hako run` killed with SIGKILL leaks its container
// (the process keeps running, its mount, cgroups and libcontainer state
// stay); the next `hako run` finds it orphaned and cleans it all up. With
// --rm the record goes too; without, it stays as exited with 137.
func TestRepairKilledRun(t *testing.T) {
	t.Run("rm", func(t *testing.T) { testRepairKilledRun(t, true) })
	t.Run("keep", func(t *testing.T) { testRepairKilledRun(t, false) })
}

func testRepairKilledRun(t *testing.T, rm bool) {
	s := runStore(t)
	becomeSubreaper(t)
	args := []string{"run", "--network", "none", "-v", "/anon"}
	if rm {
		args = append(args, "--rm")
	}
	// No pipes: the container inherits hako's stdio and would keep them
	// open after hako dies.
	cmd := s.cmd(append(args, busybox.ref, "sleep", "100")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	id, pid := s.waitForInit(t, "sleep")
	t.Cleanup(func() { s.forceCleanup(id, pid) }) // only if the repair failed

	// Kill the monitor: the container is leaked.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !processRunning(pid) {
		t.Fatalf("the container process %d died with its monitor; the test needs it leaked", pid)
	}

	s.mustRun(t, "--rm", busybox.ref, "true")

	if processRunning(pid) {
		t.Errorf("container process %d still running after the repair", pid)
	}
	if !reap(pid) {
		t.Errorf("container process %d: not a zombie child of the test after the repair", pid)
	}
	if procs := cgroupProcs(id); len(procs) != 0 {
		t.Errorf("processes still in cgroup /hako/%s: %v", id, procs)
	}
	s.checkNothingLeftOf(t, id)
	dir := filepath.Join(s.root, "containers", id)
	if rm {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("record of the --rm container: %v, want removed", err)
		}
		if ids := s.containerIDs(t); len(ids) != 0 {
			t.Errorf("records left: %v", ids)
		}
		// --rm also takes its anonymous volume.
		if out := s.mustHako(t, "volume", "ls", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("volumes left after repairing a --rm container: %q", out)
		}
	} else {
		var st struct {
			State    string
			ExitCode int `json:"exit_code"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "status.json"))
		if err != nil || json.Unmarshal(b, &st) != nil || st.State != "exited" || st.ExitCode != 137 {
			t.Errorf("status %s (%v), want exited with 137", b, err)
		}
		if ids := s.containerIDs(t); len(ids) != 1 || ids[0] != id {
			t.Errorf("records %v, want only the repaired %s", ids, id)
		}
	}
	// Entries of removals cut short are gone too.
	ents, _ := os.ReadDir(filepath.Join(s.root, "containers"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary entry left: %s", e.Name())
		}
	}
}

// TestRepairLeavesLiveContainers: a running container whose monitor is alive
// is not touched by another run's repair.
func TestRepairLeavesLiveContainers(t *testing.T) {
	s := runStore(t)
	becomeSubreaper(t)
	cmd := s.cmd("run", "--rm", "--network", "none", busybox.ref, "sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	id, pid := s.waitForInit(t, "sleep")
	t.Cleanup(func() { s.forceCleanup(id, pid) })

	s.mustRun(t, "--rm", busybox.ref, "true")
	if !processRunning(pid) {
		t.Fatalf("the live container's process %d was killed by another run", pid)
	}
	if _, err := os.Stat(filepath.Join(s.root, "containers", id, "merged", "bin")); err != nil {
		t.Errorf("the live container's rootfs: %v", err)
	}
	// Its monitor records itself with its start time.
	var m struct {
		PID       int    `json:"pid"`
		StartTime uint64 `json:"start_time"`
	}
	b, err := os.ReadFile(filepath.Join(s.root, "containers", id, "monitor.json"))
	if err != nil || json.Unmarshal(b, &m) != nil || m.PID != cmd.Process.Pid || m.StartTime == 0 {
		t.Errorf("monitor.json %s (%v), want pid %d and a start time", b, err, cmd.Process.Pid)
	}
	// Once its monitor is killed, the next run repairs it.
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	s.mustRun(t, "--rm", busybox.ref, "true")
	if !reap(pid) {
		t.Errorf("container process %d not ended by the repair", pid)
	}
}

// becomeSubreaper makes the test process the reaper of orphans for the
// rest of the test, so a leaked container's init, orphaned when its hako is
// killed, becomes our child and can be reaped (the host's PID 1 may never
// reap it).
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("becoming a child subreaper: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// reap waits up to 10s for pid, a child of the test, to exit and reaps it.
// It reports whether it did.
func reap(pid int) bool {
	for i := 0; i < 500; i++ {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if got == pid {
			return true
		}
		if err != nil && err != syscall.EINTR {
			return false // ECHILD: not ours
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// waitForInit waits for the one container of the store to run its init
// with argv[0] name, and returns its ID and the init's host pid.
func (s *store) waitForInit(t *testing.T, name string) (id string, pid int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if ids := s.containerIDs(t); len(ids) == 1 {
			id = ids[0]
			var st struct {
				Pid int `json:"init_process_pid"`
			}
			b, err := os.ReadFile(filepath.Join(s.runroot, "libcontainer", id, "state.json"))
			if err == nil && json.Unmarshal(b, &st) == nil && st.Pid > 0 {
				if argv0(st.Pid) == name {
					return id, st.Pid
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no container running %s after a minute", name)
	return "", 0
}

// argv0 is the first word of a process's command line.
func argv0(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(string(b), "\x00")
	return first
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// cgroupProcs lists the live processes whose cgroup is /hako/<id>.
func cgroupProcs(id string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		pid := filepath.Base(filepath.Dir(p))
		if err != nil || !strings.Contains(string(b), "/hako/"+id) {
			continue
		}
		var n int
		fmt.Sscan(pid, &n)
		if processRunning(n) {
			found = append(found, pid)
		}
	}
	return found
}

// checkNothingLeftOf fails the test if a mount, cgroup or libcontainer state
// of container id is left.
func (s *store) checkNothingLeftOf(t *testing.T, id string) {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.Contains(f[4], id) {
			t.Errorf("mount left behind: %s", line)
		}
	}
	for _, pattern := range []string{"/sys/fs/cgroup/hako/" + id, "/sys/fs/cgroup/*/hako/" + id} {
		m, _ := filepath.Glob(pattern)
		for _, d := range m {
			t.Errorf("cgroup left behind: %s", d)
		}
	}
	if _, err := os.Stat(filepath.Join(s.runroot, "libcontainer", id)); !os.IsNotExist(err) {
		t.Errorf("libcontainer state of %s left behind (%v)", id, err)
	}
}

// forceCleanup removes what a failed repair left of container id, so a
// failing test leaves the host clean: its init, its mount, its cgroups.
func (s *store) forceCleanup(id string, pid int) {
	if processRunning(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; i < 100 && processRunning(pid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	reap(pid)
	syscall.Unmount(filepath.Join(s.root, "containers", id, "merged"), syscall.MNT_DETACH)
	for _, pattern := range []string{"/sys/fs/cgroup/hako/" + id, "/sys/fs/cgroup/*/hako/" + id} {
		m, _ := filepath.Glob(pattern)
		for _, d := range m {
			subs, _ := filepath.Glob(filepath.Join(d, "*", ""))
			for _, sub := range subs {
				if fi, err := os.Stat(sub); err == nil && fi.IsDir() {
					os.Remove(sub)
				}
			}
			os.Remove(d)
		}
	}
	os.RemoveAll(filepath.Join(s.runroot, "libcontainer", id))
}
