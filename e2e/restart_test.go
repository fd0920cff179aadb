package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// restartInspect is what the restart tests read from inspect.
type restartInspect struct {
	RestartCount int
	State        struct {
		Status     string
		Running    bool
		Restarting bool
		Pid        int
		ExitCode   int
	}
	HostConfig struct {
		RestartPolicy struct {
			Name              string
			MaximumRetryCount int
		}
	}
	Hako struct{ MonitorPid int }
}

func (s *store) inspectRestart(t *testing.T, ref string) restartInspect {
	t.Helper()
	out := s.mustHako(t, "inspect", "--type", "container", ref)
	var got []restartInspect
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return got[0]
}

// waitFor polls cond every 20 ms for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// logTimes are the timestamps of the log lines equal to line (logs -t).
func (s *store) logTimes(t *testing.T, ref, line string) []time.Time {
	t.Helper()
	var times []time.Time
	for _, l := range strings.Split(s.mustHako(t, "logs", "-t", ref), "\n") {
		ts, text, ok := strings.Cut(l, " ")
		if !ok || text != line {
			continue
		}
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		times = append(times, tm)
	}
	return times
}

// TestRestartOnFailure: on-failure:2 restarts a failing container exactly
// twice (three runs in its log, RestartCount 2), with Docker's back-off
// between the runs (at least 100 ms, then at least 200 ms).
func TestRestartOnFailure(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "fail2", "--restart", "on-failure:2", busybox.ref, "sh", "-c", "echo run; exit 3")
	var ins restartInspect
	if !eventually(20*time.Second, func() bool {
		ins = s.inspectRestart(t, id)
		return ins.State.Status == "exited" && ins.Hako.MonitorPid == 0
	}) {
		t.Fatalf("still not exited for good: %+v", ins)
	}
	if ins.RestartCount != 2 || ins.State.ExitCode != 3 {
		t.Errorf("RestartCount %d, exit %d; want 2 and 3", ins.RestartCount, ins.State.ExitCode)
	}
	if p := ins.HostConfig.RestartPolicy; p.Name != "on-failure" || p.MaximumRetryCount != 2 {
		t.Errorf("RestartPolicy %+v", p)
	}
	runs := s.logTimes(t, id, "run")
	if len(runs) != 3 {
		t.Fatalf("%d runs in the log, want 3:\n%s", len(runs), s.mustHako(t, "logs", id))
	}
	gap1, gap2 := runs[1].Sub(runs[0]), runs[2].Sub(runs[1])
	t.Logf("gaps between runs: %v, %v", gap1, gap2)
	if gap1 < 100*time.Millisecond || gap2 < 200*time.Millisecond || gap2 > 10*time.Second {
		t.Errorf("gaps between runs %v, %v: want at least 100 ms, then at least 200 ms", gap1, gap2)
	}
	// Still there, nothing running: no restart after the last.
	time.Sleep(500 * time.Millisecond)
	if n := len(s.logTimes(t, id, "run")); n != 3 {
		t.Errorf("%d runs after the policy gave up", n)
	}
	if l := s.psLine(t, "fail2", "-a"); !strings.Contains(l, "Exited (3)") {
		t.Errorf("ps -a: %q", l)
	}
	// A hand start counts from 0 again, as Docker does.
	s.mustHako(t, "start", "fail2")
	eventually(20*time.Second, func() bool { return len(s.logTimes(t, id, "run")) == 6 && s.inspectRestart(t, id).Hako.MonitorPid == 0 })
	if ins := s.inspectRestart(t, id); ins.RestartCount != 2 || len(s.logTimes(t, id, "run")) != 6 {
		t.Errorf("after start: RestartCount %d, %d runs; want 2 and 6", ins.RestartCount, len(s.logTimes(t, id, "run")))
	}
	s.mustHako(t, "rm", id)
	s.checkNothingLeftOf(t, id)
}

// TestRestartAlwaysKilledFromOutside: an always container whose process is
// killed from outside hako comes back (RestartCount 1, a new init); stop
// then ends the loop for good; ps shows Restarting while it waits.
func TestRestartAlwaysKilledFromOutside(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "always", "--restart", "always", busybox.ref, "sh", "-c", "echo up; exec sleep 1000")
	first := s.inspectRestart(t, id)
	// Kill it only once it has said so: a kill before its echo leaves one "up".
	if !eventually(10*time.Second, func() bool { return len(s.logTimes(t, id, "up")) == 1 }) {
		t.Fatal("the first run never logged \"up\"")
	}
	if err := syscall.Kill(first.State.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ins restartInspect
	if !eventually(10*time.Second, func() bool {
		ins = s.inspectRestart(t, id)
		return ins.State.Status == "running" && ins.State.Pid != 0 && ins.State.Pid != first.State.Pid && processRunning(ins.State.Pid)
	}) {
		t.Fatalf("not restarted after kill -9 of its init: %+v", ins)
	}
	if ins.RestartCount != 1 || ins.Hako.MonitorPid != first.Hako.MonitorPid {
		t.Errorf("RestartCount %d (want 1), monitor %d (want the same %d)", ins.RestartCount, ins.Hako.MonitorPid, first.Hako.MonitorPid)
	}
	eventually(5*time.Second, func() bool { return len(s.logTimes(t, id, "up")) == 2 }) // the relay may lag
	if n := len(s.logTimes(t, id, "up")); n != 2 {
		t.Errorf("%d runs in the log, want 2", n)
	}
	if l := s.psLine(t, "always"); !strings.Contains(l, "Up ") {
		t.Errorf("ps: %q", l)
	}
	s.mustHako(t, "stop", "-t", "1", "always")
	ins = s.inspectRestart(t, id)
	if ins.State.Status != "exited" || ins.State.Running {
		t.Errorf("after stop: %+v", ins.State)
	}
	time.Sleep(time.Second) // the back-off of a restart would be over
	ins = s.inspectRestart(t, id)
	if ins.State.Status != "exited" || ins.RestartCount != 1 || ins.Hako.MonitorPid != 0 {
		t.Errorf("restarted after stop: %+v, RestartCount %d", ins.State, ins.RestartCount)
	}
	s.mustHako(t, "rm", id)
	s.checkNothingLeftOf(t, id)
}

// TestRestartingStatus: a container that keeps failing shows
// "Restarting (1) … ago" in ps while its monitor waits out the back-off;
// stop during the wait ends the loop; rm refuses a restarting container.
func TestRestartingStatus(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "flaky", "--restart", "always", busybox.ref, "sh", "-c", "exit 1")
	// A failure below must not leave the monitor restarting it for good.
	t.Cleanup(func() { s.hako(t, "rm", "-f", id) })
	// From the fifth restart on, the back-off (1.6 s) leaves time to look.
	var ins restartInspect
	if !eventually(30*time.Second, func() bool {
		ins = s.inspectRestart(t, id)
		return ins.State.Restarting && ins.RestartCount >= 5
	}) {
		t.Fatalf("never restarting with a long back-off: %+v", ins)
	}
	if ins.State.Status != "restarting" || !ins.State.Running || ins.State.ExitCode != 1 {
		t.Errorf("inspect while restarting: %+v", ins.State)
	}
	if line := s.psLine(t, "flaky"); !strings.Contains(line, "Restarting (1) ") || !strings.Contains(line, " ago") {
		t.Errorf("ps while restarting: %q", line)
	}
	if _, errOut, code := s.hako(t, "rm", "flaky"); code == 0 || !strings.Contains(errOut, "container is restarting") {
		t.Errorf("rm of a restarting container: exit %d, %s", code, errOut)
	}
	if _, errOut, code := s.hako(t, "exec", "flaky", "true"); code != 1 || !strings.Contains(errOut, "is restarting") {
		t.Errorf("exec in a restarting container: exit %d, %s", code, errOut)
	}
	if out, errOut, code := s.hako(t, "start", "flaky"); code != 0 || out != "flaky\n" {
		t.Errorf("start of a restarting container: exit %d, %q, %s", code, out, errOut)
	}
	s.mustHako(t, "stop", "flaky")
	if !eventually(5*time.Second, func() bool { return s.inspectRestart(t, id).Hako.MonitorPid == 0 }) {
		t.Fatal("monitor still alive after stop")
	}
	n := s.inspectRestart(t, id).RestartCount
	time.Sleep(time.Second)
	if ins := s.inspectRestart(t, id); ins.State.Status != "exited" || ins.RestartCount != n {
		t.Errorf("after stop: %+v, RestartCount %d then %d", ins.State, n, ins.RestartCount)
	}
	if l := s.psLine(t, "flaky", "-a"); !strings.Contains(l, "Exited (1)") {
		t.Errorf("ps -a after stop: %q", l)
	}
	s.mustHako(t, "rm", id)
	s.checkNothingLeftOf(t, id)
}

// TestRestartFlagErrors: --rm with a policy, a bad policy and a policy
// without -d are refused with exit 125 and nothing created.
func TestRestartFlagErrors(t *testing.T) {
	s := runStore(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-d", "--rm", "--restart", "always"}, "conflicting options: cannot specify both --restart and --rm"},
		{[]string{"-d", "--restart", "sometimes"}, "invalid restart policy: unknown policy 'sometimes'"},
		{[]string{"-d", "--restart", "always:3"}, "maximum retry count can only be used with 'on-failure'"},
		{[]string{"-d", "--restart", "on-failure:x"}, "maximum retry count must be an integer"},
		{[]string{"--restart", "always"}, "needs -d"},
	} {
		_, errOut, code := s.run(t, append(c.args, busybox.ref, "true")...)
		if code != 125 || !strings.Contains(errOut, c.want) {
			t.Errorf("run %q: exit %d, stderr %q; want 125 and %q", c.args, code, errOut, c.want)
		}
	}
	if ids := s.containerIDs(t); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
}

// reboot simulates a power cut and boot as TestAfterReboot does: every
// monitor and init of the store killed by PID, the runroot emptied.
func (s *store) reboot(t *testing.T) {
	t.Helper()
	var pids []int
	for _, id := range s.containerIDs(t) {
		ins := s.inspectRestart(t, id)
		pids = append(pids, ins.Hako.MonitorPid, ins.State.Pid)
	}
	pids = append(pids, s.monitors()...)
	for _, pid := range pids {
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, pid := range pids {
		eventually(5*time.Second, func() bool { return pid <= 0 || !processRunning(pid) })
	}
	ents, _ := os.ReadDir(s.runroot)
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(s.runroot, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBootStartsRestartable: after a simulated reboot, hako start
// --all-restartable starts always (even one stopped by hand),
// unless-stopped (unless stopped by hand) and on-failure (the reboot killed
// it) containers, each through a new monitor, keeping RestartCount; it
// leaves the rest down, reports a container it cannot start on stderr
// with exit 1, and does nothing the second time.
func TestBootStartsRestartable(t *testing.T) {
	s := detachStore(t)
	sleep := []string{busybox.ref, "sh", "-c", "echo boot; exec sleep 1000"}
	ids := map[string]string{}
	for _, c := range []struct{ name, policy string }{
		{"alw", "always"}, {"unl", "unless-stopped"}, {"onf", "on-failure"}, {"none", "no"},
		{"alwstopped", "always"}, {"unlstopped", "unless-stopped"}, {"broken", "always"},
	} {
		ids[c.name] = s.runD(t, append([]string{"--name", c.name, "--restart", c.policy}, sleep...)...)
	}
	ids["onfok"] = s.runD(t, "--name", "onfok", "--restart", "on-failure", busybox.ref, "true")
	// on-failure:1 used up its restart before the reboot; at boot it gets
	// a new budget, as Docker's daemon gives it, and its count goes on.
	onf1 := s.runD(t, "--name", "onf1", "--restart", "on-failure:1", busybox.ref, "sh", "-c", "echo try; exit 1")
	if !eventually(10*time.Second, func() bool {
		ins := s.inspectRestart(t, onf1)
		return ins.RestartCount == 1 && ins.Hako.MonitorPid == 0 && ins.State.Status == "exited"
	}) {
		t.Fatalf("onf1 before the reboot: %+v", s.inspectRestart(t, onf1))
	}
	// alw restarts once before the reboot: its count must survive it.
	first := s.inspectRestart(t, "alw")
	syscall.Kill(first.State.Pid, syscall.SIGKILL)
	if !eventually(10*time.Second, func() bool {
		ins := s.inspectRestart(t, "alw")
		return ins.State.Status == "running" && ins.State.Pid != 0 && ins.State.Pid != first.State.Pid && ins.RestartCount == 1
	}) {
		t.Fatalf("alw not restarted before the reboot: %+v", s.inspectRestart(t, "alw"))
	}
	s.mustHako(t, "stop", "-t", "0", "alwstopped", "unlstopped")
	eventually(5*time.Second, func() bool { return s.inspectRestart(t, "onfok").Hako.MonitorPid == 0 })

	s.reboot(t)
	// broken cannot be mounted again: its work dir is gone.
	if err := os.RemoveAll(filepath.Join(s.root, "containers", ids["broken"], "work")); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := s.hako(t, "start", "--all-restartable")
	started := strings.Fields(out)
	slices.Sort(started)
	if want := []string{"alw", "alwstopped", "onf", "onf1", "unl"}; !slices.Equal(started, want) || code != 1 {
		t.Errorf("boot command: exit %d, started %v; want 1 and %v\nstderr: %s", code, started, want, errOut)
	}
	if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "broken") {
		t.Errorf("stderr %q: want one line naming broken", errOut)
	}
	for name := range ids {
		ins := s.inspectRestart(t, name)
		want := slices.Contains(started, name)
		if ins.State.Running != want || want && (ins.Hako.MonitorPid == 0 || !processRunning(ins.State.Pid)) {
			t.Errorf("%s after boot: %+v, monitor %d; want running %v", name, ins.State, ins.Hako.MonitorPid, want)
		}
	}
	if n := s.inspectRestart(t, "alw").RestartCount; n != 1 {
		t.Errorf("alw's RestartCount after boot: %d, want 1 (kept)", n)
	}
	if !eventually(10*time.Second, func() bool {
		ins := s.inspectRestart(t, onf1)
		return ins.RestartCount == 2 && ins.Hako.MonitorPid == 0 && len(s.logTimes(t, onf1, "try")) == 4
	}) {
		t.Errorf("onf1 after boot: %+v, %d runs; want RestartCount 2 and 4 runs", s.inspectRestart(t, onf1), len(s.logTimes(t, onf1, "try")))
	}
	// The restarted ones run under their policy again: kill -9 brings alw back.
	pid := s.inspectRestart(t, "alw").State.Pid
	syscall.Kill(pid, syscall.SIGKILL)
	if !eventually(10*time.Second, func() bool {
		ins := s.inspectRestart(t, "alw")
		return ins.State.Status == "running" && ins.State.Pid != 0 && ins.State.Pid != pid && ins.RestartCount == 2
	}) {
		t.Errorf("alw not restarted after boot: %+v", s.inspectRestart(t, "alw"))
	}
	// onf1 failed again, so a boot command would start it again: gone.
	s.mustHako(t, "rm", "-f", "broken", onf1)
	s.checkNothingLeftOf(t, onf1)
	if out, errOut, code := s.hako(t, "start", "--all-restartable"); code != 0 || out != "" {
		t.Errorf("second boot command: exit %d, %q, %s", code, out, errOut)
	}
	if _, errOut, code := s.hako(t, "start", "--all-restartable", "alw"); code != 125 {
		t.Errorf("--all-restartable with a container: exit %d, %s", code, errOut)
	}
	for _, id := range ids {
		s.hako(t, "rm", "-f", id)
		s.checkNothingLeftOf(t, id)
	}
}

// TestGenerateSystemd: the unit names the absolute binary, the --root and
// --runroot in effect, start and stop -t; systemd-analyze verify accepts
// it; its ExecStop and ExecStart lines, run as they are, stop and start
// the container.
func TestGenerateSystemd(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "web", "--restart", "always", busybox.ref, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
	unit := s.mustHako(t, "generate", "systemd", "--name", "-t", "5", "web")
	fields := map[string]string{}
	section := ""
	for _, l := range strings.Split(unit, "\n") {
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = l
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				t.Fatalf("unit line %q", l)
			}
			fields[section+k] = v
		}
	}
	bin, err := filepath.Abs(hakoBin)
	if err != nil {
		t.Fatal(err)
	}
	prefix := bin + " --root " + s.root + " --runroot " + s.runroot + " "
	for k, want := range map[string]string{
		"[Service]Type":      "forking",
		"[Service]ExecStart": prefix + "start web",
		"[Service]ExecStop":  prefix + "stop -t 5 web",
		"[Install]WantedBy":  "multi-user.target",
	} {
		if fields[k] != want {
			t.Errorf("%s=%q, want %q\n%s", k, fields[k], want, unit)
		}
	}
	if byID := s.mustHako(t, "generate", "systemd", "web"); !strings.Contains(byID, "start "+id+"\n") {
		t.Errorf("without --name the unit should name the ID:\n%s", byID)
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		p := filepath.Join(t.TempDir(), "container-web.service")
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("systemd-analyze", "verify", p).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Log("no systemd-analyze: only the fields are checked")
	}
	runLine := func(line string) {
		t.Helper()
		args := strings.Fields(line)
		cmd := exec.Command(args[0], args[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}
	runLine(fields["[Service]ExecStop"])
	if ins := s.inspectRestart(t, "web"); ins.State.Running || ins.State.ExitCode != 0 || ins.Hako.MonitorPid != 0 {
		t.Errorf("after ExecStop: %+v, monitor %d", ins.State, ins.Hako.MonitorPid)
	}
	runLine(fields["[Service]ExecStart"])
	if ins := s.inspectRestart(t, "web"); !ins.State.Running || ins.Hako.MonitorPid == 0 {
		t.Errorf("after ExecStart: %+v, monitor %d", ins.State, ins.Hako.MonitorPid)
	}
	runLine(fields["[Service]ExecStop"])
	s.mustHako(t, "rm", id)
	s.checkNothingLeftOf(t, id)
}

// TestRestartBridged: a bridged container with a published port, killed
// from outside, comes back on the bridge (its network released at the
// teardown and set up again by the monitor) and serves the same port; so
// it does after a simulated reboot and the boot command.
func TestRestartBridged(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	s.mustHako(t, "pull", "-q", netImage(t))
	out, errOut, code := n.hako(t, s, "run", "-d", "--name", "web", "--restart", "always", "-p", "8081:7000", netImage(t), "/srv", "7000")
	if code != 0 {
		t.Fatalf("run -d -p --restart always: exit %d: %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	t.Cleanup(func() { n.hako(t, s, "rm", "-f", id) })
	addr := hostAddr + ":8081"
	waitServing(t, n.peer, addr)
	first := s.inspectRestart(t, id)
	if err := syscall.Kill(first.State.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool {
		ins := s.inspectRestart(t, id)
		return ins.State.Status == "running" && ins.State.Pid != 0 && ins.State.Pid != first.State.Pid && ins.RestartCount == 1
	}) {
		t.Fatalf("not restarted: %+v", s.inspectRestart(t, id))
	}
	waitServing(t, n.peer, addr)
	if got := talk(t, n.peer, addr); got != peerAddr {
		t.Errorf("after the restart, server saw %s, want the peer's %s", got, peerAddr)
	}
	if entries := n.entries(t); len(entries) != 1 || entries[id].Address == "" {
		t.Errorf("network state entries after the restart: %+v", entries)
	}
	// A power cut: monitor and init killed, the runroot gone; the boot
	// command's repair releases the old network and its start sets it up
	// again.
	s.reboot(t)
	if out, errOut, code := n.hako(t, s, "start", "--all-restartable"); code != 0 || out != "web\n" {
		t.Fatalf("boot command: exit %d, %q, %s", code, out, errOut)
	}
	waitServing(t, n.peer, addr)
	if got := talk(t, n.peer, addr); got != peerAddr {
		t.Errorf("after the boot command, server saw %s, want the peer's %s", got, peerAddr)
	}
	if _, errOut, code := n.hako(t, s, "rm", "-f", "web"); code != 0 {
		t.Fatalf("rm -f: exit %d: %s", code, errOut)
	}
	n.checkClean(t)
	s.checkNothingLeftOf(t, id)
}

// TestRestartMonitorKilledInBackoff: a monitor killed while it waits to
// restart leaves a plain exited container (nobody restarts it), which the
// boot command brings back, its count kept.
func TestRestartMonitorKilledInBackoff(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "crashy", "--restart", "always", busybox.ref, "sh", "-c", "echo try; exit 1")
	// A failure below must not leave the monitor restarting it for good.
	t.Cleanup(func() { s.hako(t, "rm", "-f", id) })
	var ins restartInspect
	if !eventually(30*time.Second, func() bool {
		ins = s.inspectRestart(t, id)
		return ins.State.Restarting && ins.RestartCount >= 4 // an 800 ms back-off
	}) {
		t.Fatalf("never restarting with a long back-off: %+v", ins)
	}
	mon := ins.Hako.MonitorPid
	syscall.Kill(mon, syscall.SIGKILL)
	eventually(5*time.Second, func() bool { return !processRunning(mon) })
	count := ins.RestartCount
	time.Sleep(time.Second) // the back-off would be over
	ins = s.inspectRestart(t, id)
	if ins.State.Status != "exited" || ins.State.Restarting || ins.State.ExitCode != 1 || ins.Hako.MonitorPid != 0 || ins.RestartCount != count {
		t.Errorf("after its monitor was killed: %+v, monitor %d, RestartCount %d (was %d)", ins.State, ins.Hako.MonitorPid, ins.RestartCount, count)
	}
	if l := s.psLine(t, "crashy", "-a"); !strings.Contains(l, "Exited (1)") {
		t.Errorf("ps -a: %q", l)
	}
	if out := s.mustHako(t, "start", "--all-restartable"); out != "crashy\n" {
		t.Errorf("boot command: %q", out)
	}
	if !eventually(10*time.Second, func() bool { return s.inspectRestart(t, id).RestartCount > count }) {
		t.Errorf("not restarting again after the boot command: %+v", s.inspectRestart(t, id))
	}
	s.mustHako(t, "rm", "-f", id)
	s.checkNothingLeftOf(t, id)
}

// TestRestartConcurrentStopRm: ten concurrent stops of an always container
// end it once (no restart after), then ten concurrent rm -f of it (running
// again after start) remove it once; a stop racing the restart of a
// container killed from outside also wins.
func TestRestartConcurrentStopRm(t *testing.T) {
	s := detachStore(t)
	id := s.runD(t, "--name", "many", "--restart", "always", busybox.ref, "sleep", "1000")
	// Killed from outside and stopped at once: the stop may meet it
	// restarting or starting again; either way it ends stopped.
	pid := s.inspectRestart(t, id).State.Pid
	syscall.Kill(pid, syscall.SIGKILL)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, errOut, code := s.hako(t, "stop", "-t", "0", "many"); code != 0 || out != "many\n" {
				t.Errorf("concurrent stop: exit %d, %q, %s", code, out, errOut)
			}
		}()
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // a restart's back-off would be over
	if ins := s.inspectRestart(t, id); ins.State.Status != "exited" || ins.Hako.MonitorPid != 0 {
		t.Errorf("after concurrent stops: %+v, monitor %d", ins.State, ins.Hako.MonitorPid)
	}
	s.mustHako(t, "start", "many")
	var removed atomic.Int32
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := s.hako(t, "rm", "-f", "many")
			switch {
			case code == 0 && out == "many\n":
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
}
