package e2e

import (
	"strings"
	"testing"
)

// TestDetachedRemoveWait: a -d --rm container gone at its end still gives
// hako wait its exit code, and rm -f of a running one succeeds, as Docker's.
func TestDetachedRemoveWait(t *testing.T) {
	s := runStore(t)
	id := strings.TrimSpace(s.mustHako(t, "run", "-d", "--rm", busybox.ref, "sh", "-c", "sleep 0.2; exit 3"))
	if out, errOut, code := s.hako(t, "wait", id); code != 0 || strings.TrimSpace(out) != "3" {
		t.Errorf("wait of a -d --rm container: exit %d, %q, %s; want 3 printed", code, out, errOut)
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
