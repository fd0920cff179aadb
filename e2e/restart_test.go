package e2e

import (
	"encoding/json"
	"strings"
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
func waitFor(d time.Duration, cond func() bool) bool {
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
	if !waitFor(20*time.Second, func() bool {
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
	waitFor(20*time.Second, func() bool { return len(s.logTimes(t, id, "run")) == 6 && s.inspectRestart(t, id).Hako.MonitorPid == 0 })
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
	if err := syscall.Kill(first.State.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ins restartInspect
	if !waitFor(10*time.Second, func() bool {
		ins = s.inspectRestart(t, id)
		return ins.State.Status == "running" && ins.State.Pid != 0 && ins.State.Pid != first.State.Pid && processRunning(ins.State.Pid)
	}) {
		t.Fatalf("not restarted after kill -9 of its init: %+v", ins)
	}
	if ins.RestartCount != 1 || ins.Hako.MonitorPid != first.Hako.MonitorPid {
		t.Errorf("RestartCount %d (want 1), monitor %d (want the same %d)", ins.RestartCount, ins.Hako.MonitorPid, first.Hako.MonitorPid)
	}
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
	var line string
	if !waitFor(20*time.Second, func() bool {
		line = s.psLine(t, "flaky")
		return strings.Contains(line, "Restarting (1) ") && strings.Contains(line, " ago")
	}) {
		t.Fatalf("ps never showed Restarting: %q", line)
	}
	ins := s.inspectRestart(t, id)
	if ins.RestartCount < 1 {
		t.Errorf("RestartCount %d", ins.RestartCount)
	}
	if _, errOut, code := s.hako(t, "rm", "flaky"); code == 0 || !strings.Contains(errOut, "restarting") {
		t.Errorf("rm of a restarting container: exit %d, %s", code, errOut)
	}
	s.mustHako(t, "stop", "flaky")
	if !waitFor(5*time.Second, func() bool { return s.inspectRestart(t, id).Hako.MonitorPid == 0 }) {
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
