package e2e

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/containerd/console"
)

// TestExec: hako exec runs a command inside a running detached container,
// in its namespaces and cgroup with its security settings, with Docker's
// flags and exit codes.
func TestExec(t *testing.T) {
	s := runStore(t)
	out, errOut, code := s.hako(t, "run", "-d", "--name", "ex", "-e", "FROM_RUN=1", "-w", "/home", busybox.ref, "sleep", "300")
	if code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { s.hako(t, "rm", "-f", strings.TrimSpace(out)) })
	cases := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"exit code", []string{"ex", "sh", "-c", "echo hi; exit 3"}, "hi", 3},
		{"the container's env and workdir", []string{"ex", "sh", "-c", "echo $FROM_RUN; pwd"}, "1\n/home", 0},
		{"-e -w -u", []string{"-e", "FROM_RUN=2", "-e", "NEW=x", "-w", "/tmp", "-u", "hako", "ex", "sh", "-c", "echo $FROM_RUN$NEW; pwd; id"}, "2x\n/tmp\nuid=1000(hako) gid=1000(hako) groups=29(audio),1000(hako)", 0},
		{"same namespaces as the init", []string{"ex", "sh", "-c", "for n in mnt pid net uts ipc; do [ $(readlink /proc/1/ns/$n) = $(readlink /proc/self/ns/$n) ] || echo $n differs; done; echo same"}, "same", 0},
		{"same cgroup", []string{"ex", "sh", "-c", "[ \"$(cat /proc/1/cgroup)\" = \"$(cat /proc/self/cgroup)\" ] && echo same"}, "same", 0},
		{"security as the container", []string{"ex", "grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"}, "CapEff:\t00000000a80425fb\nSeccomp:\t2", 0},
		{"not found", []string{"ex", "nosuchcommand"}, "", 127},
		{"not executable", []string{"ex", "/etc/passwd"}, "", 126},
		{"unknown container", []string{"nosuchcontainer", "true"}, "", 1},
	}
	for _, c := range cases {
		out, errOut, code := s.hako(t, append([]string{"exec"}, c.args...)...)
		if code != c.code || strings.TrimSpace(out) != c.want {
			t.Errorf("%s: exit %d, stdout %q; want %d, %q; stderr %s", c.name, code, out, c.code, c.want, errOut)
		}
	}
	if out, _, _ := s.hako(t, "exec", "--privileged", "ex", "grep", "CapEff", "/proc/self/status"); strings.Contains(out, "00000000a80425fb") {
		t.Errorf("exec --privileged kept the default capabilities: %q", out)
	}
	// -i feeds stdin; without it the command reads nothing.
	if out, _, code := s.hakoIn(t, strings.NewReader("piped\n"), "exec", "-i", "ex", "cat"); code != 0 || out != "piped\n" {
		t.Errorf("exec -i cat: exit %d, %q", code, out)
	}
	if out, _, code := s.hakoIn(t, strings.NewReader("piped\n"), "exec", "ex", "cat"); code != 0 || out != "" {
		t.Errorf("exec cat without -i: exit %d, %q", code, out)
	}
	// -d returns at once; the command goes on in the container.
	if _, errOut, code := s.hako(t, "exec", "-d", "ex", "sh", "-c", "sleep 0.3; echo done > /tmp/bg"); code != 0 {
		t.Fatalf("exec -d: exit %d: %s", code, errOut)
	}
	pollOutput(t, func() string { out, _, _ := s.hako(t, "exec", "ex", "cat", "/tmp/bg"); return out }, "done\n")
	// -it: a shell on a pty.
	pty, cmd, ttyOut := startTTYCmd(t, s, console.WinSize{Height: 25, Width: 90}, "exec", "-it", "ex", "sh")
	ttyOut.waitFor(t, "# ")
	io.WriteString(pty, "tty; stty size\n")
	ttyOut.waitFor(t, "25 90") // all of it read before the shell ends
	io.WriteString(pty, "exit 6\n")
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 6 {
		t.Errorf("exec -it: exit %d, want 6; output %q", code, ttyOut.String())
	}
	if got := ttyOut.String(); !strings.Contains(got, "/dev/pts/") || !strings.Contains(got, "\r\n25 90\r\n") || strings.Contains(got, "\r\r\n") {
		t.Errorf("exec -it output %q: want a pty of 25x90, lines ending in one \\r\\n", got)
	}
	// A stopped container: exit 1, as Docker.
	s.hako(t, "stop", "-t", "0", "ex")
	if _, errOut, code := s.hako(t, "exec", "ex", "true"); code != 1 || !strings.Contains(errOut, "is not running") {
		t.Errorf("exec in a stopped container: exit %d, %q", code, errOut)
	}
}

// pollOutput calls get until it returns want, failing after 10 s.
func pollOutput(t *testing.T, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := get()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %q after 10s, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
