package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

var fullID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// detachStore is runStore whose detached containers are all removed at the
// end, even when the test fails half way, before the leftovers check.
func detachStore(t *testing.T) *store {
	s := runStore(t)
	t.Cleanup(func() {
		ids := s.containerIDs(t)
		if len(ids) > 0 {
			s.hako(t, append([]string{"rm", "-f"}, ids...)...)
		}
		s.waitNoMonitors(t)
	})
	return s
}

// runD is `hako run -d --network none ARGS…`; it returns the printed ID.
func (s *store) runD(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.run(t, append([]string{"-d"}, args...)...)
	id := strings.TrimSpace(out)
	if code != 0 || !fullID.MatchString(id) {
		t.Fatalf("run -d %q: exit %d, stdout %q, stderr %s", args, code, out, errOut)
	}
	return id
}

// monitors lists the pids of this store's monitor processes.
func (s *store) monitors() []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		// A monitor, before its container runs or while it waits for it
		// (monitor/wait.go).
		if len(args) >= 3 && (args[1] == "monitor" || args[1] == "monitor-wait") && args[2] == s.root {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			if processRunning(pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

type containerInspect struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Status     string
		Running    bool
		Pid        int
		ExitCode   int
		StartedAt  time.Time
		FinishedAt time.Time
		MonitorPid int
	}
	LogPath string
	Config  struct{ Labels map[string]string }
	Hako    struct{ MonitorPid int }
}

func (s *store) inspectContainer(t *testing.T, ref string) containerInspect {
	t.Helper()
	out := s.mustHako(t, "inspect", "--type", "container", ref)
	var got []containerInspect
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return got[0]
}

// psLine is the one `ps ARGS…` line naming the container, or "".
func (s *store) psLine(t *testing.T, name string, args ...string) string {
	t.Helper()
	out := s.mustHako(t, append([]string{"ps"}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "CONTAINER ID") {
		t.Fatalf("ps header: %q", lines[0])
	}
	for _, l := range lines[1:] {
		if strings.HasSuffix(l, " "+name) {
			return l
		}
	}
	return ""
}

// TestDetachedLifecycle: run -d, ps, logs (stdout and stderr apart), stop
// (the container's own TERM handler decides its exit code), ps -a, start
// again (logs kept), rm refused while running, rm -f.
func TestDetachedLifecycle(t *testing.T) {
	s := detachStore(t)
	script := `echo out-$$; echo err >&2; trap 'echo term; exit 3' TERM; while true; do sleep 0.1; done`
	id := s.runD(t, "--name", "web", "-l", "tier=front", busybox.ref, "sh", "-c", script)

	line := s.psLine(t, "web")
	if !strings.HasPrefix(line, id[:12]+" ") || !regexp.MustCompile(`\s+Up (Less than a second|\d+ seconds?)\s+`).MatchString(line) {
		t.Errorf("ps line: %q", line)
	}
	if q := strings.TrimSpace(s.mustHako(t, "ps", "-q", "--no-trunc")); q != id {
		t.Errorf("ps -q --no-trunc = %q, want %s", q, id)
	}
	ins := s.inspectContainer(t, "web")
	if ins.ID != id || ins.Name != "/web" || !ins.State.Running || ins.State.Status != "running" ||
		!processRunning(ins.State.Pid) || !processRunning(ins.Hako.MonitorPid) || ins.Config.Labels["tier"] != "front" {
		t.Errorf("inspect of a running container: %+v", ins)
	}
	if ins.LogPath != filepath.Join(s.root, "containers", id, id+"-json.log") {
		t.Errorf("LogPath = %q", ins.LogPath)
	}
	waitForLog(t, s, "web", "out-1\n")
	out, errOut, code := s.hako(t, "logs", "web")
	if code != 0 || out != "out-1\n" || errOut != "err\n" {
		t.Errorf("logs: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out = s.mustHako(t, "logs", "-t", "--tail", "2", id[:8]) // with err on stderr
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z out-1\n$`).MatchString(out) {
		t.Errorf("logs -t --tail 2: %q", out)
	}

	start := time.Now()
	if out := s.mustHako(t, "stop", "-t", "20", "web"); out != "web\n" {
		t.Errorf("stop printed %q", out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %v: the TERM handler should have ended it at once", d)
	}
	if l := s.psLine(t, "web"); l != "" {
		t.Errorf("ps shows a stopped container: %q", l)
	}
	if l := s.psLine(t, "web", "-a"); !regexp.MustCompile(`\s+Exited \(3\) (Less than a second|\d+ seconds?) ago\s+`).MatchString(l) {
		t.Errorf("ps -a line: %q", l)
	}
	if out := s.mustHako(t, "ps", "-a", "--filter", "exited=3", "--filter", "label=tier=front", "--format", "{{.Names}} {{.State}}"); out != "web exited\n" {
		t.Errorf("ps --filter exited=3 --format: %q", out)
	}
	if out := s.mustHako(t, "ps", "-a", "--filter", "status=running", "-q"); out != "" {
		t.Errorf("ps --filter status=running: %q", out)
	}
	if out := s.mustHako(t, "wait", "web"); out != "3\n" {
		t.Errorf("wait on the stopped container: %q", out)
	}
	ins = s.inspectContainer(t, id)
	if ins.State.Running || ins.State.ExitCode != 3 || ins.State.FinishedAt.IsZero() || ins.State.MonitorPid != 0 {
		t.Errorf("inspect after stop: %+v", ins.State)
	}
	s.checkNothingLeftOf(t, id) // no cgroup, mount or state while stopped

	// start: a new monitor runs it again; the log keeps both runs.
	if out := s.mustHako(t, "start", "web"); out != "web\n" {
		t.Errorf("start printed %q", out)
	}
	if l := s.psLine(t, "web"); !strings.Contains(l, " Up ") {
		t.Errorf("ps after start: %q", l)
	}
	waitForLog(t, s, "web", "out-1\nterm\nout-1\n")

	_, errOut, code = s.hako(t, "rm", "web")
	wantCode(t, "rm of a running container", code, 1)
	if !strings.Contains(errOut, "container is running") {
		t.Errorf("rm of a running container: %q", errOut)
	}
	if out := s.mustHako(t, "rm", "-f", "web"); out != "web\n" {
		t.Errorf("rm -f printed %q", out)
	}
	if out := s.mustHako(t, "ps", "-aq"); out != "" {
		t.Errorf("ps -aq after rm: %q", out)
	}
	s.checkNothingLeftOf(t, id)
}

// waitForLog waits until the container's stdout log is want.
func waitForLog(t *testing.T, s *store, ref, want string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out = s.mustHako(t, "logs", ref); out == want {
			return
		}
	}
	t.Fatalf("logs of %s: %q, want %q", ref, out, want)
}

// TestDetachedStartFailure: run -d exits 127 or 126 as run does when the
// command cannot start, with one line; the container is kept as exited.
func TestDetachedStartFailure(t *testing.T) {
	s := detachStore(t)
	_, errOut, code := s.run(t, "-d", "--name", "nf", busybox.ref, "/no/such/cmd")
	wantCode(t, "run -d of a missing command", code, 127)
	if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 || !strings.Contains(errOut, "no such file") {
		t.Errorf("stderr: %q", errOut)
	}
	_, _, code = s.run(t, "-d", "--rm", busybox.ref, "/etc")
	wantCode(t, "run -d of a directory", code, 126)
	if l := s.psLine(t, "nf", "-a"); !strings.Contains(l, "Exited (127)") {
		t.Errorf("ps -a: %q", l)
	}
	if ids := s.containerIDs(t); len(ids) != 1 {
		t.Errorf("records: %v, want only nf's (the --rm one removed)", ids)
	}
	s.waitNoMonitors(t)

	// A --rm container that ran is removed by its monitor once it ends.
	rm := s.runD(t, "--rm", busybox.ref, "sh", "-c", "sleep 0.2")
	for i := 0; i < 250 && len(s.containerIDs(t)) != 1; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if ids := s.containerIDs(t); len(ids) != 1 {
		t.Errorf("records after a -d --rm container ended: %v", ids)
	}
	s.checkNothingLeftOf(t, rm)
	s.waitNoMonitors(t)
}

// waitNoMonitors fails the test unless the store's monitors are all gone
// within a few seconds (a failed monitor exits right after reporting).
func (s *store) waitNoMonitors(t *testing.T) {
	t.Helper()
	var pids []int
	for i := 0; i < 250; i++ {
		if pids = s.monitors(); len(pids) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("monitors still running: %v", pids)
}

// TestKilledMonitor: after kill -9 of its monitor the container keeps
// running and stays manageable: ps, logs, stop (SIGKILL after -t), rm -f.
func TestKilledMonitor(t *testing.T) {
	s := detachStore(t)
	a := s.runD(t, "--name", "ma", busybox.ref, "sh", "-c", "echo hello; exec sleep 1000")
	b := s.runD(t, "--name", "mb", busybox.ref, "sleep", "1000")
	// A chatty one: writing on after its monitor (the pipe's reader) is
	// gone must not kill it with SIGPIPE (the writer is not the init,
	// which the kernel shields from SIGPIPE).
	c := s.runD(t, "--name", "mc", busybox.ref, "sh", "-c", "(while true; do echo chatty; sleep 0.01; done) & wait")
	for _, ref := range []string{"ma", "mb", "mc"} {
		ins := s.inspectContainer(t, ref)
		if ins.Hako.MonitorPid <= 0 {
			t.Fatalf("%s: no monitor: %+v", ref, ins)
		}
		if err := syscall.Kill(ins.Hako.MonitorPid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 250 && processRunning(ins.Hako.MonitorPid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		if !processRunning(ins.State.Pid) {
			t.Fatalf("%s: the container died with its monitor", ref)
		}
	}
	// Another command's repair must leave them alone.
	time.Sleep(500 * time.Millisecond) // mc writes ~50 lines meanwhile
	s.mustRun(t, "--rm", busybox.ref, "true")
	for _, ref := range []string{"ma", "mb", "mc"} {
		if l := s.psLine(t, ref); !strings.Contains(l, " Up ") {
			t.Errorf("ps of %s after its monitor died: %q", ref, l)
		}
		if ins := s.inspectContainer(t, ref); !ins.State.Running || ins.State.MonitorPid != 0 {
			t.Errorf("inspect of %s: %+v", ref, ins.State)
		}
	}
	if out := s.mustHako(t, "logs", "ma"); out != "hello\n" {
		t.Errorf("logs: %q", out)
	}
	// sleep ignores SIGTERM as PID 1: stop must escalate.
	start := time.Now()
	s.mustHako(t, "stop", "-t", "1", "ma")
	if d := time.Since(start); d < time.Second {
		t.Errorf("stop returned after %v, before its -t 1", d)
	}
	if l := s.psLine(t, "ma", "-a"); !strings.Contains(l, "Exited (137)") {
		t.Errorf("ps -a after stop: %q", l)
	}
	s.checkNothingLeftOf(t, a)
	s.mustHako(t, "rm", "ma")
	s.mustHako(t, "rm", "-f", "mb", "mc")
	s.checkNothingLeftOf(t, b)
	s.checkNothingLeftOf(t, c)
	if ids := s.containerIDs(t); len(ids) != 0 {
		t.Errorf("records left: %v", ids)
	}
}

// TestLogRotation: a small max-size rotates the log into max-file files,
// and logs reads them in order.
func TestLogRotation(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--log-opt", "max-size=2k", "--log-opt", "max-file=3", busybox.ref,
		"sh", "-c", `i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done`)
	if out := s.mustHako(t, "wait", id); out != "0\n" {
		t.Fatalf("wait: %q", out)
	}
	base := filepath.Join(s.root, "containers", id, id+"-json.log")
	for _, p := range []string{base, base + ".1", base + ".2"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("log file: %v", err)
		}
		if fi.Size() > 2048 {
			t.Errorf("%s: %d bytes, over max-size", p, fi.Size())
		}
	}
	if _, err := os.Stat(base + ".3"); !os.IsNotExist(err) {
		t.Errorf("a fourth log file: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(s.mustHako(t, "logs", id), "\n"), "\n")
	if len(lines) < 50 || len(lines) >= 300 || lines[len(lines)-1] != "line-299" {
		t.Fatalf("logs after rotation: %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	first := atoi(strings.TrimPrefix(lines[0], "line-"))
	for i, l := range lines {
		if l != fmt.Sprintf("line-%d", first+i) {
			t.Fatalf("line %d is %q, want line-%d: entries lost or out of order", i, l, first+i)
		}
	}
	_, _, code := s.run(t, "-d", "--log-opt", "max-size=0", busybox.ref, "true")
	wantCode(t, "run -d with max-size=0", code, 125)
}

// TestLogsFollowEnds: logs -f prints output as it comes and returns when
// the container exits.
func TestLogsFollowEnds(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, busybox.ref, "sh", "-c", "echo a; sleep 2; echo b; echo c >&2")
	start := time.Now()
	out, errOut, code := s.hako(t, "logs", "-f", id)
	if code != 0 || out != "a\nb\n" || errOut != "c\n" {
		t.Errorf("logs -f: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("logs -f returned after %v, before the container ended", d)
	}
}

// TestParallelDetached: 10 run -d at once give 10 distinct containers;
// 10 rm -f at once remove them all, leaving no mount, cgroup or process.
func TestParallelDetached(t *testing.T) {
	s := detachStore(t)
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := s.run(t, "-d", busybox.ref, "sleep", "1000")
			if code != 0 {
				t.Errorf("run -d %d: exit %d: %s", i, code, errOut)
			}
			ids[i] = strings.TrimSpace(out)
		}()
	}
	wg.Wait()
	running := strings.Fields(s.mustHako(t, "ps", "-q", "--no-trunc"))
	if len(running) != 10 {
		t.Fatalf("ps shows %d running containers, want 10", len(running))
	}
	for _, id := range ids {
		if !strings.Contains(strings.Join(running, " "), id) {
			t.Errorf("container %s not running", id)
		}
	}
	// Asked again for a while: a monitor that is re-exec'ing itself into
	// its wait (monitor/wait.go) shows no cmdline for that instant.
	var pids []int
	if !eventually(5*time.Second, func() bool { pids = s.monitors(); return len(pids) == 10 }) {
		t.Errorf("%d monitors, want 10", len(pids))
	}
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, errOut, code := s.hako(t, "rm", "-f", id); code != 0 {
				t.Errorf("rm -f %s: exit %d: %s", id, code, errOut)
			}
		}()
	}
	wg.Wait()
	if out := s.mustHako(t, "ps", "-aq"); out != "" {
		t.Errorf("ps -aq after rm -f: %q", out)
	}
	for _, id := range ids {
		s.checkNothingLeftOf(t, id)
		if procs := cgroupProcs(id); len(procs) != 0 {
			t.Errorf("processes of %s left: %v", id, procs)
		}
	}
	s.waitNoMonitors(t)
}

// TestLifecycleErrors: Docker's exit codes for unknown containers (1) and
// bad usage (125).
func TestLifecycleErrors(t *testing.T) {
	s := newStore(t)
	for _, args := range [][]string{
		{"stop", "nosuch"}, {"kill", "nosuch"}, {"rm", "nosuch"}, {"rm", "-f", "nosuch"},
		{"wait", "nosuch"}, {"logs", "nosuch"}, {"start", "nosuch"}, {"inspect", "--type", "container", "nosuch"},
	} {
		_, errOut, code := s.hako(t, args...)
		wantCode(t, strings.Join(args, " "), code, 1)
		if !strings.Contains(errOut, "No such container: nosuch") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%q: stderr %q", args, errOut)
		}
	}
	for _, args := range [][]string{
		{"stop"}, {"rm"}, {"kill", "-s", "NOPE", "x"}, {"ps", "--filter", "bogus=1"}, {"ps", "extra"},
		{"logs", "--tail", "x", "c"}, {"logs", "--since", "yesterday", "c"}, {"stop", "--bogus", "x"},
		{"start", "-a", "x", "y"}, {"attach"},
	} {
		_, errOut, code := s.hako(t, args...)
		wantCode(t, strings.Join(args, " "), code, 125)
		if errOut == "" {
			t.Errorf("%q: no error message", args)
		}
	}
}

// TestStartAttachAndAliases: a container run in the foreground starts
// again detached; start -a prints its output and exits with its code;
// kill, inspect without --type and the hako container forms.
func TestStartAttachAndAliases(t *testing.T) {
	s := detachStore(t)
	_, _, code := s.run(t, "--name", "fg", busybox.ref, "sh", "-c", "echo run; exit 4")
	wantCode(t, "foreground run", code, 4)
	out, errOut, code := s.hako(t, "start", "-a", "fg")
	if code != 4 || out != "run\n" {
		t.Errorf("start -a: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out := s.mustHako(t, "container", "ls", "-a", "--format", "{{.Names}}:{{.Status}}"); !strings.HasPrefix(out, "fg:Exited (4) ") {
		t.Errorf("container ls -a: %q", out)
	}
	// inspect without --type finds the container before any image.
	out = s.mustHako(t, "inspect", "--format", "{{.Name}} {{.State.ExitCode}}", "fg")
	if out != "/fg 4\n" {
		t.Errorf("inspect --format: %q", out)
	}
	_, errOut, code = s.hako(t, "kill", "fg")
	wantCode(t, "kill of a stopped container", code, 1)
	if !strings.Contains(errOut, "is not running") {
		t.Errorf("kill of a stopped container: %q", errOut)
	}

	id := s.runD(t, "--name", "kk", busybox.ref, "sleep", "1000")
	if out := strings.TrimSpace(s.mustHako(t, "ps", "-l", "-q", "--no-trunc")); out != id {
		t.Errorf("ps -l -q: %q, want the newest, %s", out, id)
	}
	if out := s.mustHako(t, "ps", "-n", "2", "--format", "{{.Names}}"); out != "kk\nfg\n" {
		t.Errorf("ps -n 2: %q", out)
	}
	var row struct{ ID, Names, State, Command string }
	if err := json.Unmarshal([]byte(s.mustHako(t, "ps", "--format", "json")), &row); err != nil ||
		row.ID != id[:12] || row.Names != "kk" || row.State != "running" || row.Command != `"sleep 1000"` {
		t.Errorf("ps --format json: %+v %v", row, err)
	}
	if out := s.mustHako(t, "container", "kill", "-s", "KILL", "kk"); out != "kk\n" {
		t.Errorf("container kill printed %q", out)
	}
	if out := s.mustHako(t, "container", "wait", "kk"); out != "137\n" {
		t.Errorf("wait after kill: %q", out)
	}
	s.mustHako(t, "container", "rm", "kk", "fg")

	// rm keeps a container's anonymous volume; rm -v takes it.
	for _, flags := range [][]string{{"-f"}, {"-f", "-v"}} {
		vid := s.runD(t, "-v", "/anon", busybox.ref, "sleep", "1000")
		s.mustHako(t, append(append([]string{"rm"}, flags...), vid)...)
		vols := strings.TrimSpace(s.mustHako(t, "volume", "ls", "-q"))
		if len(flags) == 1 && vols == "" {
			t.Errorf("rm -f removed the anonymous volume")
		}
		if len(flags) == 2 && len(strings.Fields(vols)) != 1 {
			t.Errorf("volumes after rm -f -v: %q, want only the first one", vols)
		}
		s.checkNothingLeftOf(t, vid)
	}
	s.checkNothingLeftOf(t, id)
	if ids := s.containerIDs(t); len(ids) != 0 {
		t.Errorf("records left: %v", ids)
	}
}

// TestConcurrentStopRmSame: 10 stops at once of one container all succeed
// and it is recorded once; 10 rm -f at once remove it once, the others
// failing only with Docker's "No such container". A foreground run shows
// in ps as Up and stops from another shell too.
func TestConcurrentStopRmSame(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "same", busybox.ref, "sleep", "1000")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, errOut, code := s.hako(t, "stop", "-t", "0", "same"); code != 0 || out != "same\n" {
				t.Errorf("concurrent stop: exit %d, %q, %s", code, out, errOut)
			}
		}()
	}
	wg.Wait()
	if l := s.psLine(t, "same", "-a"); !strings.Contains(l, "Exited (137)") {
		t.Errorf("ps -a after concurrent stops: %q", l)
	}
	s.mustHako(t, "start", "same")
	var removed atomic.Int32
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := s.hako(t, "rm", "-f", "same")
			switch {
			case code == 0 && out == "same\n":
				removed.Add(1)
			case code == 1 && strings.Contains(errOut, "No such container"):
			default:
				t.Errorf("concurrent rm -f: exit %d, %q, %s", code, out, errOut)
			}
		}()
	}
	wg.Wait()
	if n := removed.Load(); n != 1 {
		t.Errorf("%d rm -f succeeded, want exactly 1", n)
	}
	s.checkNothingLeftOf(t, id)

	// A foreground run: ps shows it, stop from another shell ends it.
	fg := s.cmd("run", "--network", "none", "--name", "fg", busybox.ref, "sleep", "1000")
	if err := fg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fg.Process.Kill(); fg.Wait() })
	for i := 0; i < 500 && !strings.Contains(s.psLine(t, "fg"), " Up "); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if l := s.psLine(t, "fg"); !strings.Contains(l, " Up ") {
		t.Fatalf("ps of a foreground run: %q", l)
	}
	s.mustHako(t, "stop", "-t", "0", "fg")
	if err := fg.Wait(); err == nil || fg.ProcessState.ExitCode() != 137 {
		t.Errorf("foreground run after stop: %v", err)
	}
	s.mustHako(t, "rm", "fg")
}

// TestAfterReboot: everything killed and the runroot cleared, as after a
// power cut: the record shows as exited and rm cleans up.
func TestAfterReboot(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "boot", busybox.ref, "sleep", "1000")
	ins := s.inspectContainer(t, id)
	if ins.Hako.MonitorPid <= 0 || ins.State.Pid <= 0 {
		t.Fatalf("no monitor or init: %+v", ins)
	}
	syscall.Kill(ins.Hako.MonitorPid, syscall.SIGKILL)
	syscall.Kill(ins.State.Pid, syscall.SIGKILL)
	for i := 0; i < 250 && (processRunning(ins.State.Pid) || processRunning(ins.Hako.MonitorPid)); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	ents, _ := os.ReadDir(s.runroot)
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(s.runroot, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if l := s.psLine(t, "boot", "-a"); !strings.Contains(l, "Exited (137)") {
		t.Errorf("ps -a after the reboot: %q", l)
	}
	if out := s.mustHako(t, "wait", "boot"); out != "137\n" {
		t.Errorf("wait: %q", out)
	}
	s.mustHako(t, "rm", "boot")
	s.checkNothingLeftOf(t, id)
}

// TestStopSignalOfImage: stop sends the image's StopSignal; -s overrides.
func TestStopSignalOfImage(t *testing.T) {
	cf, err := busybox.img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config.DeepCopy()
	cfg.StopSignal = "SIGUSR1"
	img, err := mutate.Config(busybox.img, *cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref := registry + "/stopsignal:latest"
	push(t, ref, img)
	s := detachStore(t)
	script := `trap 'exit 10' USR1; trap 'exit 15' TERM; while true; do sleep 0.1; done`
	s.runD(t, "--name", "usr1", ref, "sh", "-c", script)
	s.runD(t, "--name", "term", ref, "sh", "-c", script)
	s.mustHako(t, "stop", "usr1")
	s.mustHako(t, "stop", "-s", "TERM", "term")
	if out := s.mustHako(t, "wait", "usr1", "term"); out != "10\n15\n" {
		t.Errorf("exit codes after stop: %q, want 10 (the image's SIGUSR1) and 15 (-s TERM)", out)
	}
}
