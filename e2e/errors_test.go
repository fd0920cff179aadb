package e2e

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFailuresLeaveStoreAlone: each bad input exits 1 with one "Error:" line
// and changes nothing in a store that already holds an image.
func TestFailuresLeaveStoreAlone(t *testing.T) {
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)

	junk := filepath.Join(t.TempDir(), "junkfile")
	b := make([]byte, 64<<10)
	rand.Read(b)
	if err := os.WriteFile(junk, b, 0o644); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty.tar")
	if err := os.WriteFile(emptyFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tgz := "go-containerregistry/pkg/v1/tarball/testdata/"

	cases := [][]string{
		{"pull", "UPPER/Case"},
		{"pull", ""},
		{"pull", registry + "/nope"},
		{"pull", registry + "/busybox:nosuchtag"},
		{"pull", "127.0.0.1:1/closed:latest"}, // nothing listens on port 1
		{"load", "-i", junk},
		{"load", "-i", emptyFile},
		{"load", "-i", filepath.Join(t.TempDir(), "missing.tar")},
		{"load", "-i", fixture(t, tgz+"null_manifest.tar")}, // manifest.json is `null`
		{"load", "-i", fixture(t, tgz+"no_manifest.tar")},   // pre-1.10 format, no manifest.json
		{"rmi", "nosuchimage"},
		{"tag", "nosuchimage", "other:1"},
		{"save", "-o", filepath.Join(t.TempDir(), "x.tar"), "nosuchimage"},
	}
	for _, args := range cases {
		before := snapshot(t, s.root)
		_, errOut, code := s.hako(t, args...)
		what := "hako " + strings.Join(args, " ")
		wantOneError(t, what, errOut, code)
		if d := diffSnapshots(before, snapshot(t, s.root)); len(d) > 0 {
			t.Errorf("%s changed the store: %q", what, d)
		}
	}
	// The image is still intact and usable.
	checkInspect(t, s.inspect(t, busybox.ref), busybox)
}

// TestJunkOnStdin: load of garbage on stdin fails the same way.
func TestJunkOnStdin(t *testing.T) {
	s := newStore(t)
	_, errOut, code := s.hakoIn(t, strings.NewReader(strings.Repeat("not a tar archive\n", 100)), "load")
	wantOneError(t, "hako load < junk", errOut, code)
	if q := strings.TrimSpace(s.mustHako(t, "images", "-q")); q != "" {
		t.Errorf("images after a failed load: %q", q)
	}
}

// TestUsageErrors: bad flags and argument counts exit 125, as Docker's CLI.
func TestUsageErrors(t *testing.T) {
	s := newStore(t)
	for _, args := range [][]string{
		{"pull"},
		{"pull", "a", "b"},
		{"images", "--bogus"},
		{"pull", "--platform"},
		{"tag", "onlyone"},
		{"rmi"},
		// Typed flag values fail at parse time, before any work.
		{"pull", "--platform", "linux/", "busybox"},
		{"run", "--memory", "lots", "busybox", "true"},
		{"run", "--memory-swap", "x", "busybox", "true"},
		{"run", "--cpus", "many", "busybox", "true"},
		{"run", "--pull", "sometimes", "busybox", "true"},
		{"run", "--platform", "nope", "busybox", "true"},
	} {
		out, errOut, code := s.hako(t, args...)
		what := "hako " + strings.Join(args, " ")
		if code != 125 {
			t.Errorf("%s: exit %d, want 125", what, code)
		}
		if !strings.HasPrefix(errOut, "Error") || out != "" {
			t.Errorf("%s: stdout %q stderr %q, want only an error on stderr", what, out, errOut)
		}
		if len(args) > 3 && strings.HasPrefix(args[1], "--") && !strings.Contains(errOut, "invalid argument") {
			t.Errorf("%s: stderr %q, want pflag's invalid argument error", what, errOut)
		}
	}
}

// TestNeedsRoot: as another user hako stops at once with one line that
// says what to do, before touching any store; version still answers.
func TestNeedsRoot(t *testing.T) {
	dir, err := os.MkdirTemp("", "hako-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hako")
	data, err := os.ReadFile(hakoBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	asNobody := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--root", root, "--runroot", filepath.Join(dir, "run")}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		_, stderr, code := runTool(t, cmd)
		return stderr, code
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"run", "--rm", "busybox", "true"}, 125},
		{[]string{"pull", "busybox"}, 1},
		{[]string{"images"}, 1},
		{[]string{"volume", "ls"}, 1},
	} {
		errOut, code := asNobody(c.args...)
		want := "Error: hako needs root (containers without root are not supported yet): run it with sudo\n"
		if code != c.code || errOut != want {
			t.Errorf("hako %s as nobody: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), code, errOut, c.code, want)
		}
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("a store was made as nobody (%v)", err)
	}
	if errOut, code := asNobody("version"); code != 0 {
		t.Errorf("hako version as nobody: exit %d, %s", code, errOut)
	}
}
