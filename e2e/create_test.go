package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCreateStartRestart: hako create makes the container run would make
// without starting it (nothing mounted, ps says Created), start runs it,
// restart stops and starts it again, rm removes a created one.
func TestCreateStartRestart(t *testing.T) {
	s := runStore(t)
	out, errOut, code := s.hako(t, "create", "--name", "cr", "-e", "A=1", busybox.ref, "sh", "-c", "echo run $A; sleep 300")
	id := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("create: exit %d, %q; %s", code, out, errOut)
	}
	t.Cleanup(func() { s.hako(t, "rm", "-f", id) })
	if st := strings.TrimSpace(s.mustHako(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}")); st != "cr Created" {
		t.Errorf("ps -a after create: %q", st)
	}
	if st := strings.TrimSpace(s.mustHako(t, "inspect", "--format", "{{.State.Status}}", "cr")); st != "created" {
		t.Errorf("inspect State.Status = %q, want created", st)
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), id) {
		t.Error("a created container has its rootfs mounted")
	}
	s.mustHako(t, "start", "cr")
	waitForLog(t, s, "cr", "run 1\n")
	s.mustHako(t, "restart", "-t", "1", "cr")
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(s.mustHako(t, "logs", "cr"), "run 1") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no second run after restart: logs %q", s.mustHako(t, "logs", "cr"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := s.mustHako(t, "ps", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(st, "cr Up") {
		t.Errorf("ps after restart: %q", st)
	}
	// A created container is removed without -f; bad input exits 125.
	out, _, _ = s.hako(t, "create", busybox.ref, "true")
	if _, errOut, code := s.hako(t, "rm", strings.TrimSpace(out)); code != 0 {
		t.Errorf("rm of a created container: exit %d, %s", code, errOut)
	}
	for _, args := range [][]string{{"create", "-d", busybox.ref}, {"create", "--pull", "never", "no-such-image"}} {
		if _, _, code := s.hako(t, args...); code != 125 {
			t.Errorf("hako %v: exit %d, want 125", args, code)
		}
	}
	if _, errOut, code := s.hako(t, "restart", "nosuchcontainer"); code != 1 || !strings.Contains(errOut, "No such container") {
		t.Errorf("restart of an unknown container: exit %d, %q", code, errOut)
	}
}

// TestCreateRemoveStart: a container made by create --rm has its rootfs
// mounted twice (by create, then by start), so create's overlay must not be
// volatile (the kernel refuses a volatile overlay's work dir afterwards);
// start's is, and the container is gone once it ends.
func TestCreateRemoveStart(t *testing.T) {
	s := runStore(t)
	out, errOut, code := s.hako(t, "create", "--rm", "--network", "none", busybox.ref, "sh", "-c", "echo written > /f && cat /f")
	id := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("create --rm: exit %d, %q; %s", code, out, errOut)
	}
	t.Cleanup(func() { s.hako(t, "rm", "-f", id) })
	if out := s.mustHako(t, "start", "-a", id); out != "written\n" {
		t.Errorf("start -a of a created --rm container: %q, want %q", out, "written\n")
	}
	s.checkNothingLeftOf(t, id)
	if _, err := os.Stat(filepath.Join(s.root, "containers", id)); !os.IsNotExist(err) {
		t.Errorf("the record of a --rm container is still there after start (%v)", err)
	}
}

// TestStartAttachRemoveRace: start -a of a created --rm container that ends
// at once prints its output and exits with its code however fast it ends:
// the record is held until start -a has read them (runtime/attachhold.go).
// Several at once make the container end before start -a looks it up.
func TestStartAttachRemoveRace(t *testing.T) {
	s := runStore(t)
	const n = 24
	ids := make([]string, n)
	for i := range ids {
		out, errOut, code := s.hako(t, "create", "--rm", "--network", "none", busybox.ref, "sh", "-c", fmt.Sprintf("echo out-%d; exit %d", i, 3+i))
		if code != 0 {
			t.Fatalf("create --rm: exit %d, %s", code, errOut)
		}
		ids[i] = strings.TrimSpace(out)
		id := ids[i]
		t.Cleanup(func() { s.hako(t, "rm", "-f", id) })
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := s.hako(t, "start", "-a", id)
			if out != fmt.Sprintf("out-%d\n", i) || code != 3+i {
				t.Errorf("start -a of a --rm container that ends at once: exit %d (want %d), %q, %s", code, 3+i, out, errOut)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		s.checkNothingLeftOf(t, id)
	}
}
