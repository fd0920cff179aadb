//go:build linux

package capabilities

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// hako patch 22: ApplyCaps after ApplyBoundingSet leaves the same
// capability sets (all five) as upstream's second pass over the bounding
// set, which this test forces by clearing boundingApplied.
func TestApplyCapsBoundingOnce(t *testing.T) {
	if mode := os.Getenv("_HAKO_CAPS_TEST"); mode != "" {
		applyCapsChild(mode)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	run := func(mode string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestApplyCapsBoundingOnce$")
		cmd.Env = append(os.Environ(), "_HAKO_CAPS_TEST="+mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		var caps []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "Cap") {
				caps = append(caps, l)
			}
		}
		if len(caps) != 5 {
			t.Fatalf("%s: %q", mode, out)
		}
		return strings.Join(caps, "\n")
	}
	once, twice := run("once"), run("twice")
	if once != twice {
		t.Fatalf("capabilities differ:\nonce:\n%s\ntwice:\n%s", once, twice)
	}
	if !strings.Contains(once, "CapBnd:\t00000000a80425fb") {
		t.Fatalf("bounding set not Docker's:\n%s", once)
	}
}

// applyCapsChild applies Docker's default capabilities as finalizeNamespace
// does and prints /proc/self/status's capability lines.
func applyCapsChild(mode string) {
	runtime.LockOSThread()
	dockerCaps := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
	w, err := New(&configs.Capabilities{
		Bounding: dockerCaps, Effective: dockerCaps, Permitted: dockerCaps,
		Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"},
	})
	if err != nil {
		panic(err)
	}
	if err := w.ApplyBoundingSet(); err != nil {
		panic(err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	if mode == "twice" {
		w.boundingApplied = false
	}
	if err := w.ApplyCaps(); err != nil {
		panic(err)
	}
	f, err := os.Open("/proc/thread-self/status")
	if err != nil {
		panic(err)
	}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "Cap") {
			os.Stdout.WriteString(s.Text() + "\n")
		}
	}
	os.Exit(0)
}
