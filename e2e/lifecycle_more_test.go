package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRename: rename a running container (ps, inspect and lookups by the
// new name; the old name is free again), a stopped one, and Docker's
// refusals: a taken name, the same name, a bad name, no such container.
func TestRename(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "old", busybox.ref, "sleep", "300")
	s.runD(t, "--name", "other", busybox.ref, "sleep", "300")

	s.mustHako(t, "rename", "old", "new")
	if line := s.psLine(t, "new"); !strings.HasPrefix(line, id[:12]) || !strings.Contains(line, " Up ") {
		t.Errorf("ps after rename: %q, want %s Up as new", line, id[:12])
	}
	if got := s.inspectContainer(t, "new"); got.ID != id || got.Name != "/new" {
		t.Errorf("inspect new: Id %s Name %q, want %s /new", got.ID, got.Name, id)
	}
	if _, errOut, code := s.hako(t, "inspect", "--type", "container", "old"); code != 1 || !strings.Contains(errOut, "No such") {
		t.Errorf("inspect old after rename: exit %d, %q", code, errOut)
	}
	// The old name is free for a new container.
	s.runD(t, "--name", "old", busybox.ref, "true")

	_, errOut, code := s.hako(t, "rename", "new", "other")
	wantOneError(t, "rename to a taken name", errOut, code)
	if !strings.Contains(errOut, `"/other" is already in use`) {
		t.Errorf("rename to a taken name: %q", errOut)
	}
	_, errOut, code = s.hako(t, "rename", "new", "new")
	wantOneError(t, "rename to its own name", errOut, code)
	_, errOut, code = s.hako(t, "rename", "new", "bad/name")
	wantOneError(t, "rename to a bad name", errOut, code)
	if !strings.Contains(errOut, "Invalid container name") {
		t.Errorf("rename to a bad name: %q", errOut)
	}
	_, errOut, code = s.hako(t, "rename", "nosuch", "x1")
	wantOneError(t, "rename of no container", errOut, code)
	if _, _, code := s.hako(t, "rename", "new"); code != 125 {
		t.Errorf("rename with one argument: exit %d, want 125", code)
	}

	// Stopped: renamed too, and it starts under its new name.
	s.mustHako(t, "stop", "-t", "1", "new")
	s.mustHako(t, "rename", id[:12], "third")
	s.mustHako(t, "start", "third")
	if got := s.inspectContainer(t, "third"); got.ID != id || got.Name != "/third" || !got.State.Running {
		t.Errorf("inspect third after start: %+v", got)
	}
}

// TestRenameUserNetwork: the other members of a user network find a
// renamed container by its new name (their hosts files), no longer by the old.
func TestRenameUserNetwork(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	hako := func(args ...string) string {
		t.Helper()
		out, errOut, code := n.hako(t, s, args...)
		if code != 0 {
			t.Fatalf("hako %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	hako("network", "create", "netr")
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "r1", "r2", "z1")
		n.hako(t, s, "network", "rm", "netr")
	})
	hako("run", "-d", "--name", "r1", "--network", "netr", busybox.ref, "sleep", "300")
	hako("run", "-d", "--name", "r2", "--network", "netr", busybox.ref, "sleep", "300")
	hako("rename", "r1", "z1")
	hosts := hako("exec", "r2", "cat", "/etc/hosts")
	if !strings.Contains(hosts, "\tz1") || strings.Contains(hosts, "\tr1") {
		t.Errorf("r2's hosts after renaming r1 to z1:\n%s", hosts)
	}
	hako("exec", "r2", "ping", "-c", "1", "-W", "2", "z1")
}

// TestTop: Docker's columns from the host's ps, only the container's
// processes (its init among them), ps options passed through, and a
// stopped container refused.
func TestTop(t *testing.T) {
	s := detachStore(t)
	s.runD(t, "--name", "tp", busybox.ref, "sh", "-c", "sleep 301 & sleep 302; wait")
	initPid := s.inspectContainer(t, "tp").State.Pid
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for { // the shell starts its sleeps after it runs
		out = s.mustHako(t, "top", "tp")
		if strings.Count(out, "\n") >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "UID PID PPID C STIME TTY TIME CMD" {
		t.Fatalf("top header %q", lines[0])
	}
	if len(lines) != 4 {
		t.Errorf("top: %d processes, want 3 (sh and two sleeps):\n%s", len(lines)-1, out)
	}
	pids := map[string]bool{}
	for _, l := range lines[1:] {
		pids[strings.Fields(l)[1]] = true
	}
	if !pids[strconv.Itoa(initPid)] || !strings.HasSuffix(lines[2], " sleep 301") || !strings.HasSuffix(lines[3], " sleep 302") {
		t.Errorf("top lacks the init %d or a sleep:\n%s", initPid, out)
	}

	out = s.mustHako(t, "top", "tp", "-o", "pid,comm")
	lines = strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "PID COMMAND" || len(lines) != 4 {
		t.Errorf("top -o pid,comm:\n%s", out)
	}
	_, errOut, code := s.hako(t, "top", "tp", "-o", "user=PID")
	wantOneError(t, "top with a renamed PID column", errOut, code)

	s.mustHako(t, "kill", "tp")
	s.mustHako(t, "wait", "tp")
	_, errOut, code = s.hako(t, "top", "tp")
	wantOneError(t, "top of a stopped container", errOut, code)
	if !strings.Contains(errOut, "is not running") {
		t.Errorf("top of a stopped container: %q", errOut)
	}
	_, errOut, code = s.hako(t, "top", "nosuch")
	wantOneError(t, "top of no container", errOut, code)
}
