package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestPrune: system df counts images, containers and volumes as Docker
// does; container prune, image prune [-a] and system prune -a --volumes
// remove what is unused, print Docker's lists and reclaimed space, and
// keep what a running container uses.
func TestPrune(t *testing.T) {
	s := runStore(t)
	if out := s.mustHako(t, "image", "ls", "-q"); len(strings.Fields(out)) != 1 {
		t.Errorf("image ls -q: %q", out)
	}
	if out := s.mustHako(t, "image", "inspect", "--format", "{{.Id}}", busybox.ref); strings.TrimSpace(out) != busybox.config.String() {
		t.Errorf("image inspect: %q, want %s", out, busybox.config)
	}
	// An exited container with an anonymous volume and changes, committed
	// into a dangling image; a running one.
	s.mustHako(t, "run", "--network", "none", "--name", "done", "-v", "/data", busybox.ref, "sh", "-c", "head -c 100000 /dev/zero > /big")
	dangling := strings.TrimSpace(s.mustHako(t, "commit", "done"))
	out, errOut, code := s.hako(t, "run", "-d", "--network", "none", "--name", "up", busybox.ref, "sleep", "300")
	if code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, errOut)
	}
	up := strings.TrimSpace(out)
	t.Cleanup(func() { s.hako(t, "rm", "-f", up) })
	done := strings.TrimSpace(s.mustHako(t, "ps", "-aq", "--no-trunc", "--filter", "name=done"))

	df := s.mustHako(t, "system", "df")
	for _, re := range []string{
		`(?m)^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$`,
		`(?m)^Images +2 +1 +[0-9.]+[kM]B +[0-9.]+kB \(\d+%\)$`,
		`(?m)^Containers +2 +1 +100kB +100kB \(100%\)$`,
		`(?m)^Local Volumes +1 +1 +0B +0B$`,
		`(?m)^Build Cache +0 +0 +0B +0B$`,
	} {
		if !regexp.MustCompile(re).MatchString(df) {
			t.Errorf("system df lacks %s:\n%s", re, df)
		}
	}
	dfv := s.mustHako(t, "system", "df", "-v")
	for _, want := range []string{"Images space usage:", "Containers space usage:", "Local Volumes space usage:", "Build cache usage: 0B", "up\n", "done\n"} {
		if !strings.Contains(dfv, want) {
			t.Errorf("system df -v lacks %q:\n%s", want, dfv)
		}
	}

	// No confirmation: nothing goes, exit 0.
	if out, _, code := s.hakoIn(t, strings.NewReader("n\n"), "container", "prune"); code != 0 || !strings.Contains(out, "WARNING! This will remove all stopped containers.") {
		t.Errorf("container prune answered n: exit %d, %q", code, out)
	}
	if out := s.mustHako(t, "ps", "-aq"); len(strings.Fields(out)) != 2 {
		t.Errorf("container prune answered n removed containers: %q", out)
	}
	// Filters that match nothing: nothing goes.
	for _, args := range [][]string{
		{"container", "prune", "-f", "--filter", "until=1h"},
		{"container", "prune", "-f", "--filter", "label=nosuch"},
		{"image", "prune", "-f", "--filter", "until=1h"},
		{"system", "prune", "-f", "--filter", "label!=nosuch", "--filter", "until=2006-01-02"},
	} {
		if out := s.mustHako(t, args...); out != "Total reclaimed space: 0B\n" {
			t.Errorf("%v: %q", args, out)
		}
	}
	if _, errOut, code := s.hako(t, "container", "prune", "-f", "--filter", "color=red"); code != 125 || !strings.Contains(errOut, "invalid filter 'color'") {
		t.Errorf("prune with an unknown filter: exit %d, %q", code, errOut)
	}
	if out := s.mustHako(t, "container", "prune", "-f", "--filter", "until=0s", "--filter", "label!=nosuch"); out != "Deleted Containers:\n"+done+"\n\nTotal reclaimed space: 100kB\n" {
		t.Errorf("container prune -f: %q", out)
	}
	if out := s.mustHako(t, "ps", "-aq", "--no-trunc"); out != up+"\n" {
		t.Errorf("after container prune: %q, want only the running one", out)
	}
	if out := s.mustHako(t, "image", "prune", "-f"); !strings.HasPrefix(out, "Deleted Images:\ndeleted: "+dangling+"\n") || !strings.Contains(out, "\n\nTotal reclaimed space: ") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("image prune -f: %q (dangling %s)", out, dangling)
	}
	if out := s.mustHako(t, "image", "prune", "-a", "-f"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("image prune -a with the image in use: %q", out)
	}
	s.mustHako(t, "rm", "-f", up)
	out = s.mustHako(t, "system", "prune", "-a", "-f", "--volumes")
	for _, want := range []string{"Deleted Volumes:\n", "Deleted Images:\nuntagged: ", "deleted: " + busybox.config.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("system prune -a --volumes lacks %q:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`Total reclaimed space: 0B`).MatchString(out) || !strings.Contains(out, "Total reclaimed space: ") {
		t.Errorf("system prune reclaimed nothing:\n%s", out)
	}
	for _, args := range [][]string{{"image", "ls", "-q"}, {"volume", "ls", "-q"}, {"ps", "-aq"}} {
		if out := s.mustHako(t, args...); out != "" {
			t.Errorf("%v after system prune -a --volumes: %q", args, out)
		}
	}
}
