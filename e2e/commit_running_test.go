package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveScript is a running container's work: an addition, a deletion and
// a new directory, then a counter in a tmpfs (/cnt, outside the upper dir,
// so the changes a commit sees stay the same while it counts).
const liveScript = "echo a > /a; rm /bin/ls; mkdir -p /o && touch /o/x; " +
	"i=0; while :; do i=$((i+1)); echo $i > /cnt/c; sleep 0.02; done"

// counter reads the counter of a container running liveScript through its
// init's root, which reaches the container's own tmpfs.
type counter struct {
	t    *testing.T
	s    *store
	name string
}

func (c counter) read() string {
	c.t.Helper()
	pid := strings.TrimSpace(c.s.mustHako(c.t, "inspect", "--format", "{{.State.Pid}}", c.name))
	b, _ := os.ReadFile(filepath.Join("/proc", pid, "root", "cnt", "c"))
	return strings.TrimSpace(string(b))
}

// moving reports whether the counter takes a new value within 10 s (a
// read may catch the file empty, between two writes).
func (c counter) moving() bool {
	first := c.read()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if v := c.read(); first == "" {
			first = v
		} else if v != "" && v != first {
			return true
		}
	}
	return false
}

// still reports whether the counter keeps its value for 500 ms.
func (c counter) still() bool {
	a := c.read()
	time.Sleep(500 * time.Millisecond)
	return a != "" && a == c.read()
}

// heldCommit is a hako commit started with the test hook that makes it
// wait inside its diff (after any freeze) until the hold file goes.
type heldCommit struct {
	cmd  *exec.Cmd
	hold string
	out  strings.Builder
	err  strings.Builder
}

func (s *store) startHeldCommit(t *testing.T, args ...string) *heldCommit {
	t.Helper()
	return startHeldCommit(t, s.cmd(append([]string{"commit"}, args...)...))
}

// startHeldCommit starts cmd, a hako commit, with the hold file set.
func startHeldCommit(t *testing.T, cmd *exec.Cmd) *heldCommit {
	t.Helper()
	args := cmd.Args
	h := &heldCommit{cmd: cmd, hold: filepath.Join(t.TempDir(), "hold")}
	h.cmd.Env = append(os.Environ(), "HAKO_TEST_COMMIT_HOLD="+h.hold)
	h.cmd.Stdout, h.cmd.Stderr = &h.out, &h.err
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cmd.Process.Kill(); h.cmd.Wait() })
	for deadline := time.Now().Add(hakoTimeout); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(h.hold); err == nil {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never reached its diff: %s", args, h.err.String())
		}
	}
}

// finish lets the commit go on and returns the image ID it printed.
func (h *heldCommit) finish(t *testing.T) string {
	t.Helper()
	if err := os.Remove(h.hold); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("commit: %v: %s", err, h.err.String())
	}
	id := strings.TrimSpace(h.out.String())
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("commit printed %q", id)
	}
	return id
}

// topLayer is the digest of the stored image ref's top layer.
func topLayer(t *testing.T, s *store, ref string) string {
	t.Helper()
	l := s.manifestLayers(t, ref)
	return l[len(l)-1]
}

func (s *store) paused(t *testing.T, name string) string {
	t.Helper()
	return s.mustHako(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}}", name)
}

// TestCommitRunningContainer: a running container is frozen while commit
// diffs its upper dir (its counter stands still and inspect says paused,
// seen from inside the diff through the test hook) and runs on after; the
// image has its addition, deletion (whiteout) and the CMD -c set, and
// runs. --pause=false diffs it running; the same upper gives the same
// layer; a container the user paused stays paused.
func TestCommitRunningContainer(t *testing.T) {
	s := runStore(t)
	s.runD(t, "--network", "none", "--name", "live", "--mount", "type=tmpfs,target=/cnt", busybox.ref, "sh", "-c", liveScript)
	t.Cleanup(func() { s.hako(t, "rm", "-f", "live") })
	c := counter{t, s, "live"}
	if !c.moving() {
		t.Fatal("the counter does not move")
	}

	h := s.startHeldCommit(t, "-m", "live one", "-c", `CMD ["cat","/a"]`, "live", "live:1")
	if got := s.paused(t, "live"); got != "paused true\n" {
		t.Errorf("inspect during the commit's diff: %q, want paused true", got)
	}
	if !c.still() {
		t.Errorf("the counter moved during the commit's diff: not frozen")
	}
	if _, err := os.Stat(filepath.Join(s.root, "containers", s.containerIDs(t)[0], "commit-frozen")); err != nil {
		t.Errorf("no commit-frozen marker while frozen: %v", err)
	}
	id1 := h.finish(t)
	if got := s.paused(t, "live"); got != "running false\n" {
		t.Errorf("inspect after the commit: %q, want running false", got)
	}
	if !c.moving() {
		t.Errorf("the counter does not move after the commit: not thawed")
	}
	if ins := s.inspect(t, "live:1"); ins.Id != id1 || strings.Join(ins.Config.Cmd, " ") != "cat /a" {
		t.Errorf("live:1: ID %s (commit printed %s), Cmd %q", ins.Id, id1, ins.Config.Cmd)
	}
	top := l1Top(t, s, "docker.io/library/live:1")
	for _, want := range []string{"a", "bin/.wh.ls", "o/x"} {
		if !slices.Contains(top, want) {
			t.Errorf("the committed layer %q lacks %s", top, want)
		}
	}
	if out := s.mustRun(t, "--rm", "live:1"); out != "a\n" {
		t.Errorf("the new CMD printed %q, want a", out)
	}
	if out := s.mustRun(t, "--rm", "live:1", "sh", "-c", "test -e /bin/ls || echo ls-gone; ls /o"); out != "ls-gone\nx\n" {
		t.Errorf("the committed image holds %q, want ls-gone and o/x", out)
	}

	// --pause=false: read while it runs; the same upper, the same layer.
	h = s.startHeldCommit(t, "--pause=false", "live", "live:2")
	if got := s.paused(t, "live"); got != "running false\n" {
		t.Errorf("inspect during a --pause=false commit: %q, want running false", got)
	}
	if !c.moving() {
		t.Errorf("the counter stands still during a --pause=false commit")
	}
	h.finish(t)
	if a, b := topLayer(t, s, "docker.io/library/live:1"), topLayer(t, s, "docker.io/library/live:2"); a != b {
		t.Errorf("two commits of one upper dir: layers %s and %s", a, b)
	}

	// Paused by the user: paused during and after the commit.
	s.mustHako(t, "pause", "live")
	s.mustHako(t, "commit", "live", "live:3")
	if got := s.paused(t, "live"); got != "paused true\n" {
		t.Errorf("a user-paused container after commit: %q, want paused true", got)
	}
	if !c.still() {
		t.Errorf("a user-paused container runs after commit")
	}
	if a, b := topLayer(t, s, "docker.io/library/live:1"), topLayer(t, s, "docker.io/library/live:3"); a != b {
		t.Errorf("a commit of the paused container: layer %s, want %s", b, a)
	}
	s.mustHako(t, "unpause", "live")
	if !c.moving() {
		t.Errorf("the counter does not move after unpause")
	}
}

// TestCommitKilledWhileFrozen: a commit interrupted (SIGINT) while the
// container is frozen thaws it before it fails. A commit killed (SIGKILL)
// then leaves it frozen and marked: ps shows it Paused, and the next
// commit thaws it after its diff; hako unpause thaws it; hako pause keeps
// it paused as the user's own (a later commit leaves it so).
func TestCommitKilledWhileFrozen(t *testing.T) {
	s := runStore(t)
	id := s.runD(t, "--network", "none", "--name", "live", "--mount", "type=tmpfs,target=/cnt", busybox.ref, "sh", "-c", liveScript)
	t.Cleanup(func() { s.hako(t, "rm", "-f", "live") })
	c := counter{t, s, "live"}
	marker := filepath.Join(s.root, "containers", id, "commit-frozen")
	killed := func() {
		t.Helper()
		h := s.startHeldCommit(t, "live")
		h.cmd.Process.Signal(syscall.SIGKILL)
		h.cmd.Wait()
		if out := s.mustHako(t, "ps", "--format", "{{.Status}}"); !strings.HasSuffix(strings.TrimSpace(out), "(Paused)") {
			t.Errorf("ps after a commit was killed while frozen: %q, want (Paused)", out)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("no marker after the kill: %v", err)
		}
		if !c.still() {
			t.Errorf("the counter moves after the commit was killed while frozen")
		}
	}
	if !c.moving() {
		t.Fatal("the counter does not move")
	}

	// Interrupted (Ctrl-C) while frozen: it fails, and thaws first.
	h := s.startHeldCommit(t, "live", "never:1")
	h.cmd.Process.Signal(syscall.SIGINT)
	if err := h.cmd.Wait(); err == nil {
		t.Errorf("an interrupted commit succeeded")
	}
	wantOneError(t, "an interrupted commit", h.err.String(), h.cmd.ProcessState.ExitCode())
	if !strings.Contains(h.err.String(), "interrupted") {
		t.Errorf("an interrupted commit says %q", h.err.String())
	}
	if got := s.paused(t, "live"); got != "running false\n" || !c.moving() {
		t.Errorf("after an interrupted commit: %q, want running and a moving counter", got)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("an interrupted commit left its marker")
	}
	if _, _, code := s.hako(t, "image", "inspect", "never:1"); code == 0 {
		t.Errorf("an interrupted commit made its image")
	}

	killed()
	s.mustHako(t, "commit", "live", "after:1")
	if got := s.paused(t, "live"); got != "running false\n" || !c.moving() {
		t.Errorf("the commit after a killed one left it %q (it should thaw what a commit froze)", got)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the marker outlived the thaw")
	}

	killed()
	s.mustHako(t, "unpause", "live")
	if !c.moving() {
		t.Errorf("unpause did not thaw a container a killed commit froze")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the marker outlived unpause")
	}

	killed()
	if out := s.mustHako(t, "pause", "live"); out != "live\n" {
		t.Errorf("pause of a container a killed commit froze printed %q", out)
	}
	s.mustHako(t, "commit", "live", "after:2")
	if got := s.paused(t, "live"); got != "paused true\n" {
		t.Errorf("after pause took the freeze over, a commit left it %q, want paused", got)
	}
	s.mustHako(t, "unpause", "live")
}

// TestCommitRunningNoMonitor: a detached container whose monitor was
// killed is frozen for its commit and runs on after.
func TestCommitRunningNoMonitor(t *testing.T) {
	s := runStore(t)
	s.runD(t, "--network", "none", "--name", "live", "--mount", "type=tmpfs,target=/cnt", busybox.ref, "sh", "-c", liveScript)
	t.Cleanup(func() { s.hako(t, "rm", "-f", "live") })
	c := counter{t, s, "live"}
	if !c.moving() {
		t.Fatal("the counter does not move")
	}
	mons := s.monitors()
	if len(mons) != 1 {
		t.Fatalf("monitors %v, want one", mons)
	}
	syscall.Kill(mons[0], syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); processRunning(mons[0]); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the monitor did not die")
		}
	}
	h := s.startHeldCommit(t, "live", "orphan:1")
	if got := s.paused(t, "live"); got != "paused true\n" || !c.still() {
		t.Errorf("inspect during the diff: %q, want paused true and a still counter", got)
	}
	h.finish(t)
	if !c.moving() {
		t.Errorf("not thawed after the commit")
	}
	if out := s.mustRun(t, "--rm", "orphan:1", "cat", "/a"); out != "a\n" {
		t.Errorf("the committed image: %q", out)
	}
}

// TestVFSCommitRunning: with the vfs driver a running container is frozen
// while its rootfs copy is compared with the image, and runs on after.
func TestVFSCommitRunning(t *testing.T) {
	s := newStore(t)
	cleanupContainers(t, s)
	s.mustHako(t, "--storage-driver", "vfs", "pull", "-q", busybox.ref)
	s.runD(t, "--network", "none", "--name", "live", "--mount", "type=tmpfs,target=/cnt", busybox.ref, "sh", "-c", liveScript)
	c := counter{t, s, "live"}
	if !c.moving() {
		t.Fatal("the counter does not move")
	}
	h := s.startHeldCommit(t, "live", "vlive:1")
	if got := s.paused(t, "live"); got != "paused true\n" || !c.still() {
		t.Errorf("inspect during the diff: %q, want paused true and a still counter", got)
	}
	h.finish(t)
	if !c.moving() {
		t.Errorf("not thawed after the commit")
	}
	top := l1Top(t, s, "docker.io/library/vlive:1")
	for _, want := range []string{"a", "bin/.wh.ls", "o/x"} {
		if !slices.Contains(top, want) {
			t.Errorf("the committed layer %q lacks %s", top, want)
		}
	}
	out := s.mustRun(t, "--rm", "vlive:1", "sh", "-c", "cat /a; test -e /bin/ls || echo ls-gone")
	if out != "a\nls-gone\n" {
		t.Errorf("the committed image holds %q", out)
	}
	s.mustHako(t, "rm", "-f", "live")
}

// TestCommitRunningOnCgroupV2: on cgroup v2 (made as TestRunOnCgroupV2
// makes it on a hybrid host: every hako in a mount namespace with the
// cgroup2 hierarchy at /sys/fs/cgroup) the commit freezes the container
// through cgroup.freeze, thaws it after, and leaves a user-paused one
// paused.
func TestCommitRunningOnCgroupV2(t *testing.T) {
	if data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skipf("already a cgroup v2 host (controllers %q): TestCommitRunningContainer covers it", strings.TrimSpace(string(data)))
	}
	unified := "/sys/fs/cgroup/unified"
	if _, err := os.Stat(unified + "/cgroup.controllers"); err != nil {
		t.Skip("no cgroup2 hierarchy on this host")
	}
	s := runStore(t)
	for _, dir := range []string{unified, unified + "/hako"} {
		before := subtreeControl(dir)
		t.Cleanup(func() { restoreSubtreeControl(t, dir, before) })
	}
	v2 := func(args ...string) *exec.Cmd {
		const script = `mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"`
		return exec.Command("unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh",
			hakoBin, "--root", s.root, "--runroot", s.runroot}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := runTool(t, v2(args...))
		if code != 0 {
			t.Fatalf("%q on cgroup v2: exit %d: %s", args, code, errOut)
		}
		return out
	}
	id := strings.TrimSpace(must("run", "-d", "--network", "none", "--name", "live", "--mount", "type=tmpfs,target=/cnt", busybox.ref, "sh", "-c", liveScript))
	t.Cleanup(func() { runTool(t, v2("rm", "-f", "live")) })
	freeze := func() string {
		b, _ := os.ReadFile(filepath.Join(unified, "hako", id, "cgroup.freeze"))
		return strings.TrimSpace(string(b))
	}
	c := counter{t, s, "live"}
	if !c.moving() || freeze() != "0" {
		t.Fatalf("the counter does not move, or no thawed v2 cgroup (cgroup.freeze %q)", freeze())
	}
	h := startHeldCommit(t, v2("commit", "live", "v2live:1"))
	if got := freeze(); got != "1" || !c.still() {
		t.Errorf("during the diff: cgroup.freeze %q, want 1 and a still counter", got)
	}
	h.finish(t)
	if got := freeze(); got != "0" || !c.moving() {
		t.Errorf("after the commit: cgroup.freeze %q, want 0 and a moving counter", got)
	}
	must("pause", "live")
	must("commit", "live", "v2live:2")
	if got := freeze(); got != "1" {
		t.Errorf("a user-paused container after commit: cgroup.freeze %q, want 1", got)
	}
	must("unpause", "live")
	if out := s.mustRun(t, "--rm", "v2live:2", "cat", "/a"); out != "a\n" {
		t.Errorf("the committed image: %q", out)
	}
}
