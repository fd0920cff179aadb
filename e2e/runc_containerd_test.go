package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// testContainerd is Debian's containerd, run by a test with its own root,
// state dir, sockets and config, so a containerd the host runs is never
// touched. The runc shim it starts runs hako-runc as its runc binary.
type testContainerd struct {
	dir, sock, ns, runcRoot string
	cmd                     *exec.Cmd
	hadRunDir               bool // /run/containerd existed before the test
}

func startContainerd(t *testing.T) *testContainerd {
	t.Helper()
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Fatal("containerd is not installed (make test-deps installs Debian's containerd)")
	}
	// Short: the unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "hako-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	c := &testContainerd{dir: dir, sock: filepath.Join(dir, "c.sock"), ns: "hako-e2e", runcRoot: filepath.Join(dir, "runc")}
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  address = %[5]q
[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", filepath.Join(dir, "debug.sock"))
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// The shims daemonize; as their subreaper this test can reap them.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat("/run/containerd")
	c.hadRunDir = err == nil
	c.cmd = exec.Command("containerd", "--config", cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stop(t) })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if exec.Command("ctr", "-a", c.sock, "version").Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not come up: %s", readFile(filepath.Join(dir, "containerd.log")))
		}
	}
	return c
}

// stop removes what is left of the test's tasks and containers, checks no
// shim outlives them, kills containerd by PID, checks it left no mount
// behind, and removes its directory and the shim socket directory
// containerd 1.6 keeps under /run/containerd when the test made it.
func (c *testContainerd) stop(t *testing.T) {
	for _, task := range strings.Fields(c.output("task", "ls", "-q")) {
		c.output("task", "kill", "-s", "SIGKILL", task)
		c.output("task", "rm", "-f", task)
	}
	for _, ctr := range strings.Fields(c.output("container", "ls", "-q")) {
		c.output("container", "rm", ctr)
	}
	for deadline := time.Now().Add(5 * time.Second); len(c.shims()) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if shims := c.shims(); len(shims) > 0 {
		t.Errorf("shims left running: %v", shims)
		for _, pid := range shims {
			syscall.Kill(pid, syscall.SIGKILL) // started by this test's containerd
		}
	}
	c.cmd.Process.Kill()
	c.cmd.Wait()
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], c.dir) {
			t.Errorf("mount left behind: %s", line)
			syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
	os.RemoveAll(c.dir)
	c.reapShims()
	// ctr leaves a detached task's fifos behind.
	fifos, _ := os.ReadDir("/run/containerd/fifo")
	for _, d := range fifos {
		dir := filepath.Join("/run/containerd/fifo", d.Name())
		names, _ := os.ReadDir(dir)
		if len(names) > 0 && !slices.ContainsFunc(names, func(e os.DirEntry) bool { return !strings.HasPrefix(e.Name(), "hako-e2e-") }) {
			os.RemoveAll(dir)
		}
	}
	if !c.hadRunDir {
		os.Remove("/run/containerd/s")
		os.Remove("/run/containerd/fifo")
		os.Remove("/run/containerd")
	}
}

// reapShims waits for the exited shims that were reparented to this
// process (a child subreaper while containerd runs: this machine's PID 1
// reaps nothing) and ends the subreaping.
func (c *testContainerd) reapShims() {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		// pid (comm) state ppid …
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		f := strings.Fields(rest)
		if strings.Contains(string(stat), "(containerd-shim") && len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
	}
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
}

// output runs ctr for cleanup: its output, errors ignored.
func (c *testContainerd) output(args ...string) string {
	out, _ := c.ctr(args...).Output()
	return string(out)
}

// shims lists the pids of the shims serving this containerd (their command
// line names its socket).
func (c *testContainerd) shims() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if strings.HasSuffix(args[0], "containerd-shim-runc-v2") && strings.Contains(string(cmdline), c.sock) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (c *testContainerd) ctr(args ...string) *exec.Cmd {
	return exec.Command("ctr", append([]string{"-a", c.sock, "-n", c.ns}, args...)...)
}

func (c *testContainerd) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runTool(t, c.ctr(args...))
	if code != 0 {
		t.Fatalf("ctr %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// TestRuncUnderContainerd runs containers through containerd's runc shim with
// hako-runc as the runc binary: output and exit codes of ctr run, a detached
// task with exec, ps, pause/resume and kill, a TTY container, and nothing
// left afterwards.
func TestRuncUnderContainerd(t *testing.T) {
	r := newRunc(t)
	c := startContainerd(t)
	const ref = "docker.io/library/hako-busybox:e2e"
	tarPath := filepath.Join(c.dir, "busybox.tar")
	tag, err := name.NewTag(ref)
	if err == nil {
		err = tarball.WriteToFile(tarPath, tag, busybox.img)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.must(t, "images", "import", tarPath)

	id := func(s string) string { return "hako-e2e-" + s }
	run := func(extra ...string) []string {
		return append([]string{"run", "--runc-binary", r.bin, "--runc-root", c.runcRoot}, extra...)
	}

	// Output and exit codes through ctr run --rm.
	out := c.must(t, append(run("--rm", "--cgroup", "/hako/"+id("echo"), ref, id("echo")), "echo", "hi")...)
	if out != "hi\n" {
		t.Fatalf("ctr run echo hi printed %q", out)
	}
	if _, _, code := runTool(t, c.ctr(append(run("--rm", "--cgroup", "/hako/"+id("exit"), ref, id("exit")), "sh", "-c", "exit 3")...)); code != 3 {
		t.Fatalf("ctr run sh -c 'exit 3' exited %d", code)
	}

	// A detached task: exec, ps, pause/resume, kill.
	d := id("detached")
	c.must(t, append(run("-d", "--seccomp", "--cgroup", "/hako/"+d, ref, d), "sleep", "1000")...)
	// hako-runc, not a runc, made it: its precompiled seccomp program is cached.
	if cached, _ := os.ReadDir(filepath.Join(c.runcRoot, c.ns, ".hako-seccomp")); len(cached) == 0 {
		t.Fatal("no seccomp program in hako-runc's cache after a --seccomp run")
	}
	if out := c.must(t, "task", "exec", "--exec-id", "e1", d, "cat", "/proc/1/cmdline"); out != "sleep\x001000\x00" {
		t.Fatalf("task exec printed %q", out)
	}
	taskPid := func() string {
		for _, line := range strings.Split(c.must(t, "task", "ls"), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == d {
				return f[1] + " " + f[2]
			}
		}
		return ""
	}
	pidStatus := taskPid()
	pid, _, _ := strings.Cut(pidStatus, " ")
	if !strings.HasSuffix(pidStatus, " RUNNING") {
		t.Fatalf("task ls: %q, want RUNNING", pidStatus)
	}
	if ps := c.must(t, "task", "ps", d); !strings.Contains(ps, "\n"+pid+" ") && !strings.Contains(ps, "\n"+pid+"\t") {
		t.Fatalf("task ps does not list the init %s:\n%s", pid, ps)
	}
	c.must(t, "task", "pause", d)
	if got := taskPid(); got != pid+" PAUSED" {
		t.Fatalf("after pause: %q", got)
	}
	c.must(t, "task", "resume", d)
	if got := taskPid(); got != pid+" RUNNING" {
		t.Fatalf("after resume: %q", got)
	}
	c.must(t, "task", "kill", "-s", "SIGKILL", d)
	waitFor(t, "the task to stop", func() bool { return taskPid() == "0 STOPPED" || taskPid() == pid+" STOPPED" })
	c.must(t, "task", "rm", d)
	c.must(t, "container", "rm", d)

	// A TTY container and a TTY exec: ctr's own terminal is a pty; the shim
	// receives the container's pty master over hako-runc's --console-socket.
	tty := id("tty")
	if out, code := underPty(t, c.ctr(append(run("-d", "-t", "--cgroup", "/hako/"+tty, ref, tty), "sh", "-c", "sleep 1000")...)); code != 0 {
		t.Fatalf("ctr run -d -t: exit %d: %s", code, out)
	}
	if out, code := underPty(t, c.ctr("task", "exec", "-t", "--exec-id", "e2", tty, "sh", "-c", "tty; exit 4")); code != 4 || !strings.Contains(out, "/dev/pts/") {
		t.Fatalf("ctr task exec -t: exit %d, output %q; want 4 and a /dev/pts tty", code, out)
	}
	c.must(t, "task", "kill", "-s", "SIGKILL", tty)
	waitFor(t, "the tty task to stop", func() bool { return !strings.Contains(c.must(t, "task", "ls"), "RUNNING") })
	c.must(t, "task", "rm", tty)
	c.must(t, "container", "rm", tty)
	if out, code := underPty(t, c.ctr(append(run("--rm", "-t", "--cgroup", "/hako/"+id("tty2"), ref, id("tty2")), "sh", "-c", "tty; exit 5")...)); code != 5 || !strings.Contains(out, "/dev/pts/0") {
		t.Fatalf("ctr run -t: exit %d, output %q; want 5 and /dev/pts/0", code, out)
	}

	// A create that fails: the shim reports hako-runc's error from its JSON log.
	_, stderr, code := runTool(t, c.ctr(append(run("--rm", "--cgroup", "/hako/"+id("missing"), ref, id("missing")), "/nonexistent")...))
	if code == 0 || !strings.Contains(stderr, "OCI runtime create failed") || !strings.Contains(stderr, "/nonexistent") {
		t.Fatalf("ctr run /nonexistent: exit %d, stderr %q", code, stderr)
	}

	// Nothing left: no task, no shim, no cgroup, no runc state.
	if out := c.must(t, "task", "ls"); strings.Count(out, "\n") > 1 {
		t.Fatalf("tasks left: %s", out)
	}
	waitFor(t, "the shims to exit", func() bool { return len(c.shims()) == 0 })
	for _, s := range []string{"echo", "exit", "detached", "tty", "tty2", "missing"} {
		if _, err := os.Stat("/sys/fs/cgroup/pids/hako/" + id(s)); !os.IsNotExist(err) {
			t.Errorf("cgroup of %s left behind: %v", id(s), err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(c.runcRoot, c.ns))
	if slices.ContainsFunc(entries, func(e os.DirEntry) bool { return !strings.HasPrefix(e.Name(), ".") }) {
		t.Errorf("hako-runc state left: %v", entries) // .hako-seccomp, the program cache, stays
	}
}

// underPty runs cmd with a pty as its terminal and returns what it wrote
// there and its exit code.
func underPty(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, pty); close(copied) }()
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	cmd.Wait()
	timer.Stop()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	return out.String(), cmd.ProcessState.ExitCode()
}
