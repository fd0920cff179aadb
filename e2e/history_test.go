package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestHistory: a committed image's history is its parent's plus the
// commit's step on top, in Docker's columns, with the command truncated,
// the message as comment and the layer's size.
func TestHistory(t *testing.T) {
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	parent := strings.Split(strings.TrimSpace(s.mustHako(t, "history", "-q", busybox.ref)), "\n")
	s.mustRun(t, "--name", "hist", busybox.ref, "sh", "-c", "head -c 20000 /dev/zero > /zeros; echo a long command line that is surely longer than forty-five characters")
	id := strings.TrimSpace(s.mustHako(t, "commit", "-m", "twenty kB", "hist", "hist:1"))

	out := s.mustHako(t, "history", "hist:1")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(parent)+2 {
		t.Fatalf("history has %d lines, want a header and %d rows:\n%s", len(lines), len(parent)+1, out)
	}
	for _, col := range []string{"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header %q lacks %s", lines[0], col)
		}
	}
	top := regexp.MustCompile(`\s{3,}`).Split(lines[1], -1)
	short := strings.TrimPrefix(id, "sha256:")[:12]
	if len(top) != 5 {
		t.Fatalf("top row %q has %d columns, want 5", lines[1], len(top))
	}
	size, ok := parseSize(top[3])
	if top[0] != short || !strings.HasSuffix(top[1], "ago") || top[2] != "sh -c head -c 20000 /dev/zero > /zeros; echo…" ||
		!ok || size < 20000 || size > 30000 || top[4] != "twenty kB" {
		t.Errorf("top row %q, want ID %s, … ago, the command cut at 45 characters, the layer's ~20kB, the message", top, short)
	}
	if !strings.HasPrefix(lines[2], "<missing>") {
		t.Errorf("second row %q, want <missing>", lines[2])
	}

	q := strings.Split(strings.TrimSpace(s.mustHako(t, "history", "-q", "--no-trunc", "hist:1")), "\n")
	if q[0] != id {
		t.Errorf("history -q --no-trunc first line %q, want %s", q[0], id)
	}
	f := s.mustHako(t, "history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "hist:1")
	if first := strings.Split(f, "\n")[0]; !strings.HasSuffix(first, "forty-five characters|twenty kB") {
		t.Errorf("--format first line %q", first)
	}
	_, errOut, code := s.hako(t, "history", "nosuch:1")
	wantOneError(t, "history of an unknown image", errOut, code)
}
