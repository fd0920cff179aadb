package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPause: hako pause freezes a container's processes through the
// freezer (a counter it writes stops moving), ps and inspect show it as
// Docker does, exec is refused, unpause lets it go on, and stop, kill and
// rm -f end a paused container.
func TestPause(t *testing.T) {
	s := runStore(t)
	out, errOut, code := s.hako(t, "run", "-d", "--network", "none", "--name", "p1", busybox.ref,
		"sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/c; sleep 0.02; done")
	if code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	t.Cleanup(func() { s.hako(t, "rm", "-f", id) })
	counter := filepath.Join(s.root, "containers", id, "merged/tmp/c")
	read := func() string { b, _ := os.ReadFile(counter); return string(b) }
	// moving: within 10 s the counter takes a new value (a read may catch
	// the file truncated, empty, between two writes).
	moving := func() bool {
		first := read()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if v := read(); first == "" {
				first = v
			} else if v != "" && v != first {
				return true
			}
		}
		return false
	}
	still := func() bool { a := read(); time.Sleep(500 * time.Millisecond); return a == read() }
	if !moving() {
		t.Fatalf("the counter does not move")
	}

	if out := s.mustHako(t, "pause", "p1"); out != "p1\n" {
		t.Errorf("pause printed %q", out)
	}
	if !still() {
		t.Errorf("a paused container still runs")
	}
	if out := s.mustHako(t, "ps", "--format", "{{.Status}}"); !strings.HasSuffix(strings.TrimSpace(out), "(Paused)") || !strings.HasPrefix(out, "Up ") {
		t.Errorf("ps STATUS of a paused container: %q", out)
	}
	if out := s.mustHako(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "p1"); out != "paused true true\n" {
		t.Errorf("inspect of a paused container: %q", out)
	}
	if out := s.mustHako(t, "ps", "-q", "--filter", "status=paused"); !strings.HasPrefix(id, strings.TrimSpace(out)) || strings.TrimSpace(out) == "" {
		t.Errorf("ps --filter status=paused: %q", out)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"pause", "p1"}, "is already paused"},
		{[]string{"exec", "p1", "true"}, "is paused, unpause the container before exec"},
		{[]string{"pause", "nosuch"}, "No such container"},
	} {
		if _, errOut, code := s.hako(t, c.args...); code != 1 || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want 1, %q", c.args, code, errOut, c.msg)
		}
	}
	if out := s.mustHako(t, "unpause", "p1"); out != "p1\n" {
		t.Errorf("unpause printed %q", out)
	}
	if !moving() {
		t.Errorf("an unpaused container does not run")
	}
	if out := s.mustHako(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "p1"); out != "running false\n" {
		t.Errorf("inspect after unpause: %q", out)
	}
	if _, errOut, code := s.hako(t, "unpause", "p1"); code != 1 || !strings.Contains(errOut, "is not paused") {
		t.Errorf("unpause of a running container: exit %d, %q", code, errOut)
	}

	// stop, kill and rm -f end a paused container.
	s.mustHako(t, "pause", "p1")
	s.mustHako(t, "stop", "-t", "1", "p1")
	if out := s.mustHako(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "p1"); out != "exited false\n" {
		t.Errorf("inspect after stop of a paused container: %q", out)
	}
	if _, errOut, code := s.hako(t, "pause", "p1"); code != 1 || !strings.Contains(errOut, "is not running") {
		t.Errorf("pause of a stopped container: exit %d, %q", code, errOut)
	}
	s.mustHako(t, "start", "p1")
	s.mustHako(t, "pause", "p1")
	s.mustHako(t, "kill", "p1")
	pollOutput(t, func() string { return s.mustHako(t, "inspect", "--format", "{{.State.Status}}", "p1") }, "exited\n")
	s.mustHako(t, "start", "p1")
	s.mustHako(t, "pause", "p1")
	s.mustHako(t, "rm", "-f", "p1")
	if out := s.mustHako(t, "ps", "-aq"); out != "" {
		t.Errorf("rm -f of a paused container left %q", out)
	}
}
