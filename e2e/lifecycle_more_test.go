package e2e

import (
	"encoding/json"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
)

// TestRename: rename a running container (ps, inspect and lookups by the
// new name; the old name is free again), a stopped one, and Docker's
// refusals: a taken name, the same name, a bad name, no such container.
func TestRename(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "old", busybox.ref, "sleep", "300")
	s.runD(t, "--name", "other", busybox.ref, "sleep", "300")

	s.mustHako(t, "rename", "old", "new")
	if line := s.psLine(t, "new"); !strings.HasPrefix(line, id[:12]) || !strings.Contains(line, " Up ") {
		t.Errorf("ps after rename: %q, want %s Up as new", line, id[:12])
	}
	if got := s.inspectContainer(t, "new"); got.ID != id || got.Name != "/new" {
		t.Errorf("inspect new: Id %s Name %q, want %s /new", got.ID, got.Name, id)
	}
	if _, errOut, code := s.hako(t, "inspect", "--type", "container", "old"); code != 1 || !strings.Contains(errOut, "No such") {
		t.Errorf("inspect old after rename: exit %d, %q", code, errOut)
	}
	// The old name is free for a new container.
	s.runD(t, "--name", "old", busybox.ref, "true")

	_, errOut, code := s.hako(t, "rename", "new", "other")
	wantOneError(t, "rename to a taken name", errOut, code)
	if !strings.Contains(errOut, `"/other" is already in use`) {
		t.Errorf("rename to a taken name: %q", errOut)
	}
	_, errOut, code = s.hako(t, "rename", "new", "new")
	wantOneError(t, "rename to its own name", errOut, code)
	_, errOut, code = s.hako(t, "rename", "new", "bad/name")
	wantOneError(t, "rename to a bad name", errOut, code)
	if !strings.Contains(errOut, "Invalid container name") {
		t.Errorf("rename to a bad name: %q", errOut)
	}
	_, errOut, code = s.hako(t, "rename", "nosuch", "x1")
	wantOneError(t, "rename of no container", errOut, code)
	if _, _, code := s.hako(t, "rename", "new"); code != 125 {
		t.Errorf("rename with one argument: exit %d, want 125", code)
	}

	// Stopped: renamed too, and it starts under its new name.
	s.mustHako(t, "stop", "-t", "1", "new")
	s.mustHako(t, "container", "rename", id[:12], "third") // the management form too
	s.mustHako(t, "start", "third")
	if got := s.inspectContainer(t, "third"); got.ID != id || got.Name != "/third" || !got.State.Running {
		t.Errorf("inspect third after start: %+v", got)
	}
}

// TestRenameUserNetwork: the other members of a user network find a
// renamed container by its new name (their hosts files), no longer by the old.
func TestRenameUserNetwork(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	hako := func(args ...string) string {
		t.Helper()
		out, errOut, code := n.hako(t, s, args...)
		if code != 0 {
			t.Fatalf("hako %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	hako("network", "create", "netr")
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "r1", "r2", "z1")
		n.hako(t, s, "network", "rm", "netr")
	})
	hako("run", "-d", "--name", "r1", "--network", "netr", busybox.ref, "sleep", "300")
	hako("run", "-d", "--name", "r2", "--network", "netr", busybox.ref, "sleep", "300")
	hako("rename", "r1", "z1")
	hosts := hako("exec", "r2", "cat", "/etc/hosts")
	if !strings.Contains(hosts, "\tz1") || strings.Contains(hosts, "\tr1") {
		t.Errorf("r2's hosts after renaming r1 to z1:\n%s", hosts)
	}
	hako("exec", "r2", "ping", "-c", "1", "-W", "2", "z1")
}

// TestTop: Docker's columns from the host's ps, only the container's
// processes (its init among them), ps options passed through, and a
// stopped container refused.
func TestTop(t *testing.T) {
	s := detachStore(t)
	s.runD(t, "--name", "tp", busybox.ref, "sh", "-c", "sleep 301 & sleep 302; wait")
	initPid := s.inspectContainer(t, "tp").State.Pid
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for { // the shell starts its sleeps after it runs, and they exec after the fork
		out = s.mustHako(t, "top", "tp")
		if strings.Contains(out, " sleep 301\n") && strings.Contains(out, " sleep 302\n") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "UID PID PPID C STIME TTY TIME CMD" {
		t.Fatalf("top header %q", lines[0])
	}
	if len(lines) != 4 {
		t.Errorf("top: %d processes, want 3 (sh and two sleeps):\n%s", len(lines)-1, out)
	}
	pids := map[string]bool{}
	for _, l := range lines[1:] {
		pids[strings.Fields(l)[1]] = true
	}
	if !pids[strconv.Itoa(initPid)] || !strings.HasSuffix(lines[2], " sleep 301") || !strings.HasSuffix(lines[3], " sleep 302") {
		t.Errorf("top lacks the init %d or a sleep:\n%s", initPid, out)
	}

	out = s.mustHako(t, "container", "top", "tp", "-o", "pid,comm")
	lines = strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "PID COMMAND" || len(lines) != 4 {
		t.Errorf("top -o pid,comm:\n%s", out)
	}
	// Paused: top still lists it (its cgroup is frozen, not gone); attach is refused.
	s.mustHako(t, "pause", "tp")
	if out := s.mustHako(t, "top", "tp"); strings.Count(out, "\n") != 4 {
		t.Errorf("top of a paused container:\n%s", out)
	}
	_, errOut, code := s.hako(t, "attach", "tp")
	wantOneError(t, "attach to a paused container", errOut, code)
	if !strings.Contains(errOut, "unpause it first") {
		t.Errorf("attach to a paused container: %q", errOut)
	}
	s.mustHako(t, "unpause", "tp")

	_, errOut, code = s.hako(t, "top", "tp", "-o", "user=PID")
	wantOneError(t, "top with a renamed PID column", errOut, code)

	s.mustHako(t, "kill", "tp")
	s.mustHako(t, "wait", "tp")
	_, errOut, code = s.hako(t, "top", "tp")
	wantOneError(t, "top of a stopped container", errOut, code)
	if !strings.Contains(errOut, "is not running") {
		t.Errorf("top of a stopped container: %q", errOut)
	}
	_, errOut, code = s.hako(t, "top", "nosuch")
	wantOneError(t, "top of no container", errOut, code)
}

// statsLines runs `hako stats ARGS…` and returns its table's rows by name,
// checking Docker's header.
func (s *store) statsLines(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	out := s.mustHako(t, append([]string{"stats"}, args...)...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	head := columns.Split(strings.TrimSpace(lines[0]), -1)
	if got := strings.Join(head, "|"); got != "CONTAINER ID|NAME|CPU %|MEM USAGE / LIMIT|MEM %|NET I/O|BLOCK I/O|PIDS" {
		t.Fatalf("stats header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := columns.Split(strings.TrimSpace(l), -1)
		if len(f) != 8 {
			t.Fatalf("stats row %q: %d columns, want 8", l, len(f))
		}
		rows[f[1]] = f
	}
	return rows
}

// TestStats: --no-stream's table (a busy container's CPU, a memory limit,
// pids), -a with a stopped container, named containers, --format json
// and a template, --no-trunc, and a stream of frames from a non-terminal.
func TestStats(t *testing.T) {
	s := detachStore(t)
	idIdle := s.runD(t, "--name", "idle", "-m", "64m", busybox.ref, "sh", "-c", "sleep 301 & sleep 302; wait")
	s.runD(t, "--name", "busy", busybox.ref, "sh", "-c", "while :; do :; done")
	s.runD(t, "--name", "done", busybox.ref, "true")
	s.mustHako(t, "wait", "done")

	rows := s.statsLines(t, "--no-stream")
	if len(rows) != 2 || rows["idle"] == nil || rows["busy"] == nil {
		t.Fatalf("stats --no-stream rows %q, want idle and busy", rows)
	}
	idle, busy := rows["idle"], rows["busy"]
	if idle[0] != idIdle[:12] || !strings.HasSuffix(idle[3], " / 64MiB") || idle[5] != "0B / 0B" || idle[7] != "3" {
		t.Errorf("idle's row %q, want its ID, a 64MiB limit, no net I/O, 3 pids", idle)
	}
	// A busy loop gets a share of a loaded 2-CPU host; at most one CPU.
	busyCPU, _ := strconv.ParseFloat(strings.TrimSuffix(busy[2], "%"), 64)
	idleCPU, _ := strconv.ParseFloat(strings.TrimSuffix(idle[2], "%"), 64)
	if busyCPU < 5 || busyCPU > 110 || idleCPU > 2 || busyCPU < idleCPU+4 {
		t.Errorf("CPU: busy %q, idle %q; want busy 5–110%%, idle near 0%%", busy[2], idle[2])
	}
	if used, ok := parseSize(strings.TrimSuffix(idle[3], " / 64MiB")); !ok || used <= 0 || used > 16<<20 {
		t.Errorf("idle's memory %q", idle[3])
	}
	if mem, _ := strconv.ParseFloat(strings.TrimSuffix(idle[4], "%"), 64); mem <= 0 || mem > 25 {
		t.Errorf("idle's MEM %% %q", idle[4])
	}

	rows = s.statsLines(t, "--no-stream", "-a")
	if d := rows["done"]; d == nil || strings.Join(d[2:], "|") != "0.00%|0B / 0B|0.00%|0B / 0B|0B / 0B|0" {
		t.Errorf("stats -a: the exited container's row %q, want zeros", d)
	}
	if rows = s.statsLines(t, "--no-stream", "done", "idle"); len(rows) != 2 || rows["done"] == nil {
		t.Errorf("stats of two named containers: %q", rows)
	}

	out := s.mustHako(t, "container", "stats", "--no-stream", "--no-trunc", "--format", "json", "idle")
	var js map[string]string
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("stats --format json: %v\n%s", err, out)
	}
	for _, k := range []string{"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"} {
		if _, ok := js[k]; !ok {
			t.Errorf("stats --format json lacks %s: %s", k, out)
		}
	}
	if js["ID"] != idIdle || js["Name"] != "idle" || js["Container"] != "idle" || js["PIDs"] != "3" {
		t.Errorf("stats --format json: %s", out)
	}
	if out := s.mustHako(t, "stats", "--no-stream", "--format", "{{.Name}}:{{.PIDs}}", "idle"); out != "idle:3\n" {
		t.Errorf("stats --format template: %q", out)
	}
	_, errOut, code := s.hako(t, "stats", "--no-stream", "nosuch")
	wantOneError(t, "stats of no container", errOut, code)

	// Streaming, not on a terminal: a frame a second, each with its header.
	cmd := s.cmd("stats", "idle")
	var buf syncBuffer
	cmd.Stdout = &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(buf.String(), "CONTAINER ID") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if n := strings.Count(buf.String(), "CONTAINER ID"); n < 2 || strings.Count(buf.String(), " idle ") < 2 {
		t.Errorf("stats stream: %d frames in 15 s, want 2:\n%s", n, buf.String())
	}
	// On a terminal each frame clears the screen first.
	_, tcmd, screen := startTTYCmd(t, s, console.WinSize{Height: 24, Width: 120}, "stats", "idle")
	deadline = time.Now().Add(15 * time.Second)
	for strings.Count(screen.String(), "\x1b[2J\x1b[HCONTAINER ID") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	tcmd.Process.Signal(syscall.SIGINT)
	exitOf(tcmd)
	if n := strings.Count(screen.String(), "\x1b[2J\x1b[HCONTAINER ID"); n < 2 {
		t.Errorf("stats on a terminal: %d redrawn frames in 15 s, want 2: %q", n, screen.String())
	}
}

// TestStatsNetIO: NET I/O counts the bytes through the container's own
// network namespace (a ping of its gateway on a user network).
func TestStatsNetIO(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	hako := func(args ...string) string {
		t.Helper()
		out, errOut, code := n.hako(t, s, args...)
		if code != 0 {
			t.Fatalf("hako %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	hako("network", "create", "nets")
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "n1")
		n.hako(t, s, "network", "rm", "nets")
	})
	hako("run", "-d", "--name", "n1", "--network", "nets", busybox.ref, "sleep", "300")
	hako("exec", "n1", "sh", "-c", "ping -c 3 -i 0.2 -s 1000 $(ip route | awk '/default/ {print $3}')")
	out := hako("stats", "--no-stream", "--format", "{{.NetIO}}", "n1")
	rx, tx, _ := strings.Cut(strings.TrimSpace(out), " / ")
	r, ok1 := parseSize(rx)
	w, ok2 := parseSize(tx)
	if !ok1 || !ok2 || r < 3000 || w < 3000 {
		t.Errorf("NET I/O after 3 pings of 1 kB: %q, want at least 3kB each way", out)
	}
}

// startHako starts `hako ARGS…` on this store with its output in buffers
// and stdin from in (nil: none); the test waits for it or ends it.
func (s *store) startHako(t *testing.T, in io.Reader, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := s.cmd(args...)
	var out, errb syncBuffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out, &errb
}

// waitExit waits up to 20 s for cmd and returns its exit code (-1: killed
// by a signal), failing the test if it is still running.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%q still running after 20 s", cmd.Args)
		return 0
	}
}

// trapLoop is a container command that prints ticks until SIGINT or
// SIGTERM, which it reports and exits with 5 or 9.
const trapLoop = `trap "echo got-int; exit 5" INT; trap "echo got-term; exit 9" TERM; echo ready; while :; do echo tick; sleep 0.2; done`

// TestAttachOutputOnly: attach to a detached container run without -i or
// -t streams its stdout and stderr, each to its own, live, and returns its
// exit code; ctrl-c (SIGINT) goes to the container (--sig-proxy, the
// default), or with --sig-proxy=false ends attach only; --no-stdin sends
// nothing; start -a forwards signals too.
func TestAttachOutputOnly(t *testing.T) {
	s := detachStore(t)
	// It ticks until the test, once attach relays, lets it go on.
	s.runD(t, "--name", "ao", busybox.ref, "sh", "-c",
		"until [ -e /tmp/go ]; do echo tick; sleep 0.1; done; echo late-out; echo late-err >&2; exit 3")
	cmd, aout, aerr := s.startHako(t, nil, "attach", "ao")
	aout.waitFor(t, "tick")
	s.mustHako(t, "exec", "ao", "touch", "/tmp/go")
	if code := waitExit(t, cmd); code != 3 || !strings.Contains(aout.String(), "late-out") ||
		strings.Contains(aout.String(), "late-err") || !strings.Contains(aerr.String(), "late-err") {
		t.Errorf("attach to run -d: exit %d, stdout %q, stderr %q; want 3, late-out and late-err apart", code, aout.String(), aerr.String())
	}

	s.runD(t, "--name", "sp", busybox.ref, "sh", "-c", trapLoop)
	cmd, aout, _ = s.startHako(t, nil, "attach", "sp")
	aout.waitFor(t, "tick")
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 5 || !strings.Contains(aout.String(), "got-int") {
		t.Errorf("attach, SIGINT proxied: exit %d, output %q; want 5 and got-int", code, aout.String())
	}

	s.runD(t, "--name", "np", busybox.ref, "sh", "-c", trapLoop)
	cmd, aout, _ = s.startHako(t, nil, "attach", "--sig-proxy=false", "np")
	aout.waitFor(t, "tick")
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code == 5 || strings.Contains(aout.String(), "got-int") {
		t.Errorf("attach --sig-proxy=false, SIGINT: exit %d, output %q; want attach ended, not the container", code, aout.String())
	}
	if line := s.psLine(t, "np"); !strings.Contains(line, " Up ") {
		t.Errorf("ps after attach --sig-proxy=false was interrupted: %q, want np Up", line)
	}

	s.runD(t, "-i", "--name", "ni", busybox.ref, "sh", "-c", "echo ready; while read l; do echo got-$l; done")
	cmd, aout, _ = s.startHako(t, strings.NewReader("hello\n"), "attach", "--no-stdin", "--sig-proxy=false", "ni")
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	waitExit(t, cmd)
	if logs := s.mustHako(t, "logs", "ni"); strings.Contains(logs, "got-hello") || strings.Contains(aout.String(), "got-hello") {
		t.Errorf("attach --no-stdin: the container read stdin: logs %q", logs)
	}

	s.mustHako(t, "create", "--name", "sa", "--network", "none", busybox.ref, "sh", "-c", trapLoop)
	cmd, aout, _ = s.startHako(t, nil, "start", "-a", "sa")
	aout.waitFor(t, "tick")
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 5 || !strings.Contains(aout.String(), "got-int") {
		t.Errorf("start -a, SIGINT proxied: exit %d, output %q; want 5 and got-int", code, aout.String())
	}
}

// TestRunSigProxy: a foreground run forwards the signals hako receives
// (SIGTERM here) to the container; with --sig-proxy=false it does not, and
// waits on until the container ends (hako stop).
func TestRunSigProxy(t *testing.T) {
	s := detachStore(t)
	cmd, out, _ := s.startHako(t, nil, "run", "--network", "none", "--name", "fp", busybox.ref, "sh", "-c", trapLoop)
	out.waitFor(t, "ready")
	cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd); code != 9 || !strings.Contains(out.String(), "got-term") {
		t.Errorf("run, SIGTERM proxied: exit %d, output %q; want 9 and got-term", code, out.String())
	}

	cmd, out, _ = s.startHako(t, nil, "run", "--sig-proxy=false", "--network", "none", "--name", "fn", busybox.ref, "sh", "-c", trapLoop)
	out.waitFor(t, "ready")
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(time.Second)
	if cmd.ProcessState != nil || strings.Contains(out.String(), "got-") {
		t.Fatalf("run --sig-proxy=false after SIGTERM and SIGINT: ended or forwarded; output %q", out.String())
	}
	if line := s.psLine(t, "fn"); !strings.Contains(line, " Up ") {
		t.Errorf("ps after signals to run --sig-proxy=false: %q, want fn Up", line)
	}
	s.mustHako(t, "stop", "-t", "5", "fn")
	if code := waitExit(t, cmd); code != 9 {
		t.Errorf("run --sig-proxy=false after hako stop: exit %d, want 9 (the container's TERM trap)", code)
	}
}
