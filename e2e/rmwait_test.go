package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestDetachedRemoveWait: a -d --rm container gone at its end still gives
// hako wait its exit code (also when the wait begins after the removal,
// where Docker says "No such container"), and rm -f of a running one
// succeeds, as Docker's.
func TestDetachedRemoveWait(t *testing.T) {
	s := runStore(t)
	id := strings.TrimSpace(s.mustHako(t, "run", "-d", "--rm", busybox.ref, "sh", "-c", "sleep 0.2; exit 3"))
	if out, errOut, code := s.hako(t, "wait", id); code != 0 || strings.TrimSpace(out) != "3" {
		t.Errorf("wait of a -d --rm container: exit %d, %q, %s; want 3 printed", code, out, errOut)
	}
	// Removed before the wait began (a script's `hako wait $(hako run -d
	// --rm …)` races the container's end): the full ID still gets the code.
	id = strings.TrimSpace(s.mustHako(t, "run", "-d", "--rm", busybox.ref, "sh", "-c", "exit 5"))
	if !eventually(20*time.Second, func() bool { return strings.TrimSpace(s.mustHako(t, "ps", "-aq")) == "" }) {
		t.Fatalf("the -d --rm container was not removed at its end")
	}
	if out, errOut, code := s.hako(t, "wait", id); code != 0 || strings.TrimSpace(out) != "5" {
		t.Errorf("wait of a removed -d --rm container: exit %d, %q, %s; want 5 printed", code, out, errOut)
	}
	if _, errOut, code := s.hako(t, "wait", id[:12]); code != 1 || !strings.Contains(errOut, "No such container") {
		t.Errorf("wait of a removed container's short ID: exit %d, %s; want 1, No such container", code, errOut)
	}
	id = strings.TrimSpace(s.mustHako(t, "run", "-d", "--rm", busybox.ref, "sleep", "300"))
	if _, errOut, code := s.hako(t, "rm", "-f", id); code != 0 {
		t.Errorf("rm -f of a running -d --rm container: exit %d, %s", code, errOut)
	}
	if ids := strings.TrimSpace(s.mustHako(t, "ps", "-aq")); ids != "" {
		t.Errorf("containers left: %q", ids)
	}
	if _, _, code := s.hako(t, "wait", "nosuchcontainer"); code != 1 {
		t.Errorf("wait of an unknown container: exit %d, want 1", code)
	}
}
