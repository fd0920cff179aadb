package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
)

// startAttach runs `hako attach ARGS…` on a new pty and waits until it
// relays: a newline typed makes the container's shell prompt again.
func startAttach(t *testing.T, s *store, size console.WinSize, args ...string) (console.Console, *syncBuffer, *exec.Cmd) {
	t.Helper()
	pty, cmd, out := startTTYCmd(t, s, size, append([]string{"attach"}, args...)...)
	io.WriteString(pty, "\n")
	out.waitFor(t, "# ")
	return pty, out, cmd
}

// exitOf waits for cmd and returns its exit code.
func exitOf(cmd *exec.Cmd) int {
	cmd.Wait()
	return cmd.ProcessState.ExitCode()
}

// TestAttach: run -dit, attach from a terminal (input, output, window size
// at connect and on SIGWINCH), detach with ctrl-p ctrl-q (the container runs
// on), attach again and exit with a code, which attach returns; the session
// is in the log; --detach-keys; attach to a stopped container is refused.
func TestAttach(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "-it", "--name", "tt", "--network", "none", busybox.ref, "sh")

	pty, out, cmd := startAttach(t, s, console.WinSize{Height: 30, Width: 100}, "tt")
	io.WriteString(pty, "echo hi-$((6*7)); stty size\n")
	out.waitFor(t, "hi-42")
	out.waitFor(t, "30 100")
	if err := pty.Resize(console.WinSize{Height: 40, Width: 120}); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGWINCH)
	time.Sleep(300 * time.Millisecond) // the resize travels asynchronously
	io.WriteString(pty, "stty size\n")
	out.waitFor(t, "40 120")
	io.WriteString(pty, "\x10\x11")
	if code := exitOf(cmd); code != 0 {
		t.Errorf("attach after ctrl-p ctrl-q: exit %d, want 0; output %q", code, out.String())
	}
	out.waitFor(t, "read escape sequence") // the pty's reader may lag behind attach's exit
	if line := s.psLine(t, "tt"); !strings.Contains(line, " Up ") {
		t.Errorf("ps after detaching: %q, want the container Up", line)
	}

	// Other detach keys; ctrl-p alone is then just a byte.
	pty, out, cmd = startAttach(t, s, console.WinSize{Height: 24, Width: 80}, "--detach-keys", "ctrl-x", "tt")
	io.WriteString(pty, "echo again-$((1+1))\n")
	out.waitFor(t, "again-2")
	io.WriteString(pty, "\x18")
	if code := exitOf(cmd); code != 0 {
		t.Errorf("attach after ctrl-x: exit %d, want 0; output %q", code, out.String())
	}

	pty, out, cmd = startAttach(t, s, console.WinSize{Height: 24, Width: 80}, "tt")
	io.WriteString(pty, "exit 3\n")
	if code := exitOf(cmd); code != 3 {
		t.Errorf("attach when the container exits 3: exit %d; output %q", code, out.String())
	}
	if line := s.psLine(t, "tt", "-a"); !strings.Contains(line, "Exited (3)") {
		t.Errorf("ps -a after exit 3: %q", line)
	}
	logs := s.mustHako(t, "logs", "tt")
	for _, want := range []string{"hi-42", "40 120", "again-2"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q: %q", want, logs)
		}
	}

	_, errOut, code := s.hako(t, "attach", "tt")
	if code != 1 || !strings.Contains(errOut, "You cannot attach to a stopped container, start it first") {
		t.Errorf("attach to a stopped container: exit %d, stderr %q", code, errOut)
	}

	// A stopped -t container starts again (a new pty) and attaches again.
	s.mustHako(t, "start", "tt")
	pty, out, cmd = startAttach(t, s, console.WinSize{Height: 24, Width: 80}, "tt")
	io.WriteString(pty, "echo back-$((2*3)); exit 0\n")
	out.waitFor(t, "back-6")
	if code := exitOf(cmd); code != 0 {
		t.Errorf("attach after start: exit %d; output %q", code, out.String())
	}
	s.mustHako(t, "rm", "tt")
	s.checkNothingLeftOf(t, id)
}

// TestAttachStdin: run -di keeps a stdin pipe (no pty): attach feeds it
// from a pipe, gets stdout and stderr, and the container's exit code;
// create -it + start -ai attaches a terminal from the start.
func TestAttachStdin(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "-i", "--name", "di", "--network", "none", busybox.ref, "sh")
	out, errOut, code := s.hakoIn(t, strings.NewReader("echo di-$((5*5)); echo e >&2; tty; exit 7\n"), "attach", "di")
	if code != 7 || !strings.Contains(out, "di-25") || !strings.Contains(out, "not a tty") {
		t.Errorf("attach to run -di: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	s.mustHako(t, "rm", id)

	// -t without -i: attach shows the output; what is typed only counts
	// for the detach keys.
	dt := s.runD(t, "-t", "--network", "none", busybox.ref, "sh", "-c", "echo dt-$((4*4)); while sleep 0.1; do echo tick; done")
	pty, cmd, term := startTTYCmd(t, s, console.WinSize{Height: 24, Width: 80}, "attach", dt)
	term.waitFor(t, "tick") // relaying, in raw mode
	io.WriteString(pty, "echo leaked\n\x10\x11")
	if code := exitOf(cmd); code != 0 {
		t.Errorf("attach -dt after ctrl-p ctrl-q: exit %d; output %q", code, term.String())
	}
	if logs := s.mustHako(t, "logs", dt); !strings.Contains(logs, "dt-16") || strings.Contains(logs, "leaked") {
		t.Errorf("logs of run -dt: %q", logs)
	}
	s.mustHako(t, "rm", "-f", dt)

	// attach to a container without -i or -t: lifecycle_more_test.go.

	cid := strings.TrimSpace(s.mustHako(t, "create", "-it", "--name", "cit", "--network", "none", busybox.ref, "sh"))
	pty, cmd, term = startTTYCmd(t, s, console.WinSize{Height: 24, Width: 80}, "start", "-ai", "cit")
	io.WriteString(pty, "\n")
	term.waitFor(t, "# ")
	io.WriteString(pty, "echo cit-$((3*3)); exit 2\n")
	term.waitFor(t, "cit-9")
	if code := exitOf(cmd); code != 2 {
		t.Errorf("start -ai: exit %d; output %q", code, term.String())
	}
	s.mustHako(t, "rm", cid)

	// The pty master lives in the monitor: kill -9 of it ends a -t
	// container's terminal, so the container ends too; it is recorded as
	// exited and rm leaves nothing, the stale socket included.
	kid := s.runD(t, "-it", "--network", "none", busybox.ref, "sh")
	sock := filepath.Join(s.runroot, "attach", kid+".sock")
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("attach socket of a running -it container: %v", err)
	}
	mon := s.inspectContainer(t, kid).State.MonitorPid
	if mon <= 0 {
		t.Fatalf("-it container %s has no monitor", kid)
	}
	syscall.Kill(mon, syscall.SIGKILL)
	status := func() string {
		out := s.mustHako(t, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Status}}")
		for _, l := range strings.Split(out, "\n") {
			if st, ok := strings.CutPrefix(l, kid+" "); ok {
				return st
			}
		}
		return ""
	}
	for i := 0; i < 100 && !strings.HasPrefix(status(), "Exited"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if line := status(); !strings.HasPrefix(line, "Exited") {
		t.Errorf("ps -a after kill -9 of a -it container's monitor: %q", line)
	}
	s.mustHako(t, "rm", "-f", kid)
	if _, err := os.Stat(sock); err == nil {
		t.Errorf("attach socket left after rm: %s", sock)
	}
	s.checkNothingLeftOf(t, kid)
}
