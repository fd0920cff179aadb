package e2e

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runc is hako-runc (a symlink to the binary under test) with its own --root
// and a JSON log, as containerd's shim runs it.
type runc struct {
	bin, root, log string
}

func newRunc(t *testing.T) *runc {
	t.Helper()
	dir := t.TempDir()
	r := &runc{bin: filepath.Join(dir, "hako-runc"), root: filepath.Join(dir, "root"), log: filepath.Join(dir, "log.json")}
	if err := os.Symlink(hakoBin, r.bin); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *runc) cmd(args ...string) *exec.Cmd {
	return exec.Command(r.bin, append([]string{"--root", r.root, "--log", r.log, "--log-format", "json"}, args...)...)
}

func (r *runc) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runTool(t, r.cmd(args...))
}

func (r *runc) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := r.run(t, args...)
	if code != 0 {
		t.Fatalf("hako-runc %v: exit %d: %s", args, code, errOut)
	}
	return out
}

type ociState struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

func (r *runc) state(t *testing.T, id string) ociState {
	t.Helper()
	var s ociState
	if err := json.Unmarshal([]byte(r.must(t, "state", id)), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// lastLogError is the last error in the JSON log, as the shim reads it.
func (r *runc) lastLogError(t *testing.T) string {
	t.Helper()
	data, _ := os.ReadFile(r.log)
	msg := ""
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Level == "error" {
			msg = e.Msg
		}
	}
	return msg
}

// runcBundle makes an OCI bundle of the busybox test image with runc's
// default spec (hako-runc spec), running args, in the cgroup /hako/<id>.
func runcBundle(t *testing.T, r *runc, id string, terminal bool, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	untar := exec.Command("tar", "-x", "-C", rootfs)
	rc := mutate.Extract(busybox.img)
	defer rc.Close()
	untar.Stdin = rc
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("unpacking busybox: %v: %s", err, out)
	}
	r.must(t, "spec", "--bundle", dir)
	var spec specs.Spec
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		t.Fatal(err)
	}
	spec.Process.Terminal = terminal
	spec.Process.Args = args
	spec.Linux.CgroupsPath = "/hako/" + id
	if data, err = json.Marshal(&spec); err == nil {
		err = os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func readFile(p string) string {
	data, _ := os.ReadFile(p)
	return string(data)
}

// TestRuncLifecycle drives hako-runc as containerd's shim does: create (the
// init waits, stdio passed through, nothing on stdout), start, state, ps,
// exec --detach, pause/resume, kill, delete, and runc's error words.
func TestRuncLifecycle(t *testing.T) {
	r := newRunc(t)
	id := "hako-e2e-runc-" + strconv.Itoa(os.Getpid())
	bundle := runcBundle(t, r, id, false, "sh", "-c", "echo started; exec sleep 1000")
	t.Cleanup(func() { r.run(t, "delete", "--force", id) })

	out := filepath.Join(t.TempDir(), "out")
	stdout, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	create := r.cmd("create", "--bundle", bundle, "--pid-file", pidFile, id)
	create.Stdout, create.Stderr = stdout, stdout
	t0 := time.Now()
	if err := create.Run(); err != nil {
		t.Fatalf("create: %v: %s", err, readFile(out))
	}
	t.Logf("create took %v", time.Since(t0))
	if s := readFile(out); s != "" {
		t.Fatalf("create wrote %q; want nothing before start", s)
	}
	st := r.state(t, id)
	if st.Status != "created" || st.Bundle != bundle || strconv.Itoa(st.Pid) != readFile(pidFile) {
		t.Fatalf("state after create = %+v, pid file %q", st, readFile(pidFile))
	}
	// The init is alive, waiting on the exec fifo, and is the only process
	// in the container's cgroup.
	if err := unix.Kill(st.Pid, 0); err != nil {
		t.Fatalf("init %d: %v", st.Pid, err)
	}
	if got := r.must(t, "ps", "--format", "json", id); got != "["+strconv.Itoa(st.Pid)+"]\n" {
		t.Fatalf("ps after create = %q, want only the init %d", got, st.Pid)
	}
	r.must(t, "start", id)
	waitFor(t, "the container's output", func() bool { return readFile(out) == "started\n" })
	if st = r.state(t, id); st.Status != "running" {
		t.Fatalf("state after start = %+v", st)
	}
	var pids []int
	if err := json.Unmarshal([]byte(r.must(t, "ps", "--format", "json", id)), &pids); err != nil || !slices.Contains(pids, st.Pid) {
		t.Fatalf("ps = %v (%v), want init %d in it", pids, err, st.Pid)
	}

	// exec --detach with a process file, its stdio this process's.
	proc := specs.Process{Args: []string{"sh", "-c", "echo exec $$ in $(hostname)"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	procFile := filepath.Join(t.TempDir(), "process.json")
	data, _ := json.Marshal(proc)
	if err := os.WriteFile(procFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	execOut := filepath.Join(t.TempDir(), "exec-out")
	f, _ := os.Create(execOut)
	execPid := filepath.Join(t.TempDir(), "exec-pid")
	ex := r.cmd("exec", "--process", procFile, "--detach", "--pid-file", execPid, id)
	ex.Stdout, ex.Stderr = f, f
	if err := ex.Run(); err != nil {
		t.Fatalf("exec: %v: %s", err, readFile(execOut))
	}
	f.Close()
	waitFor(t, "the exec's output", func() bool { return strings.HasPrefix(readFile(execOut), "exec ") })
	if got := readFile(execOut); !strings.Contains(got, " in runc\n") || readFile(execPid) == "" {
		t.Fatalf("exec wrote %q, pid file %q; want the container's hostname runc", got, readFile(execPid))
	}

	// update --resources -, as the shim passes new limits.
	update := r.cmd("update", "--resources", "-", id)
	update.Stdin = strings.NewReader(`{"pids":{"limit":50}}`)
	if out, err := update.CombinedOutput(); err != nil {
		t.Fatalf("update: %v: %s", err, out)
	}
	if got := strings.TrimSpace(readFile(filepath.Join(pidsCgroup(id), "pids.max"))); got != "50" {
		t.Fatalf("pids.max after update = %q, want 50", got)
	}

	r.must(t, "pause", id)
	if st = r.state(t, id); st.Status != "paused" {
		t.Fatalf("state after pause = %+v", st)
	}
	r.must(t, "resume", id)
	if st = r.state(t, id); st.Status != "running" {
		t.Fatalf("state after resume = %+v", st)
	}
	var list []ociState
	if err := json.Unmarshal([]byte(r.must(t, "list", "--format=json")), &list); err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("list = %+v (%v)", list, err)
	}

	r.must(t, "kill", id, "9")
	waitFor(t, "the container to stop", func() bool { return r.state(t, id).Status == "stopped" })
	if _, _, code := r.run(t, "kill", id, "9"); code != 1 || r.lastLogError(t) != "container not running" {
		t.Fatalf("kill of a stopped container: exit %d, log error %q", code, r.lastLogError(t))
	}
	r.must(t, "kill", "--all", id, "9") // the shim's kill --all of a stopped container is fine
	r.must(t, "delete", id)
	if _, _, code := r.run(t, "state", id); code != 1 || !strings.Contains(r.lastLogError(t), "does not exist") {
		t.Fatalf("state of a deleted container: exit %d, log error %q", code, r.lastLogError(t))
	}
	if _, err := os.Stat(pidsCgroup(id)); !os.IsNotExist(err) {
		t.Fatalf("cgroup left behind: %v", err)
	}
	if entries, _ := os.ReadDir(r.root); slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == id }) {
		t.Fatal("state dir left behind")
	}
}

// TestRuncConsoleSocket: with a terminal, create sends the pty master over
// --console-socket (as runc does) and the container's output comes through it.
func TestRuncConsoleSocket(t *testing.T) {
	r := newRunc(t)
	id := "hako-e2e-runctty-" + strconv.Itoa(os.Getpid())
	bundle := runcBundle(t, r, id, true, "sh", "-c", "tty; stty size; sleep 1000")
	t.Cleanup(func() { r.run(t, "delete", "--force", id) })
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	master := make(chan *os.File, 1)
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			master <- nil
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			master <- nil
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) != 1 {
			master <- nil
			return
		}
		fds, _ := unix.ParseUnixRights(&msgs[0])
		master <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	r.must(t, "create", "--bundle", bundle, "--console-socket", sock, id)
	m := <-master
	if m == nil {
		t.Fatal("no pty master received on the console socket")
	}
	defer m.Close()
	r.must(t, "start", id)
	got := make(chan string, 1)
	go func() {
		var all []byte
		buf := make([]byte, 256)
		for !strings.Contains(string(all), "\n") || !strings.Contains(string(all[strings.Index(string(all), "\n")+1:]), "\n") {
			n, err := m.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- string(all)
	}()
	select {
	case s := <-got:
		if !strings.HasPrefix(s, "/dev/pts/0\r\n") {
			t.Fatalf("container wrote %q on its terminal; want /dev/pts/0 first", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing read from the pty master")
	}
	r.must(t, "delete", "--force", id)
}

// pidsCgroup is the pids cgroup of the container in /hako/<id>.
func pidsCgroup(id string) string {
	if _, err := os.Stat("/sys/fs/cgroup/pids"); err == nil {
		return "/sys/fs/cgroup/pids/hako/" + id
	}
	return "/sys/fs/cgroup/hako/" + id
}

// TestRuncRun: run in the foreground passes the container's stdio and exit
// code through and leaves nothing; the systemd driver is refused in one
// line where systemd does not run.
func TestRuncRun(t *testing.T) {
	r := newRunc(t)
	id := "hako-e2e-runcrun-" + strconv.Itoa(os.Getpid())
	bundle := runcBundle(t, r, id, false, "sh", "-c", "read x; echo got $x; exit 7")
	run := r.cmd("run", "--bundle", bundle, id)
	run.Stdin = strings.NewReader("input\n")
	stdout, _, code := runTool(t, run)
	if stdout != "got input\n" || code != 7 {
		t.Fatalf("run: stdout %q, exit %d; want \"got input\" and 7", stdout, code)
	}
	if _, _, code := r.run(t, "state", id); code != 1 {
		t.Fatal("run left its container behind")
	}
	if _, err := os.Stat(pidsCgroup(id)); !os.IsNotExist(err) {
		t.Fatalf("run left its cgroup behind: %v", err)
	}
	// features and --version, as containerd and go-runc read them.
	var feat struct {
		OCIVersionMax string `json:"ociVersionMax"`
		Linux         struct {
			Namespaces []string `json:"namespaces"`
			Seccomp    struct {
				Enabled bool `json:"enabled"`
			} `json:"seccomp"`
		} `json:"linux"`
	}
	if err := json.Unmarshal([]byte(r.must(t, "features")), &feat); err != nil || feat.OCIVersionMax != specs.Version ||
		!slices.Contains(feat.Linux.Namespaces, "pid") || !feat.Linux.Seccomp.Enabled {
		t.Fatalf("features: %+v (%v)", feat, err)
	}
	if v := r.must(t, "--version"); !strings.HasPrefix(v, "runc version ") || !strings.Contains(v, "\nspec: ") {
		t.Fatalf("--version printed %q", v)
	}

	if _, err := os.Stat("/run/systemd/system"); err == nil {
		return // systemd runs here: the driver is not refused
	}
	_, stderr, code := runTool(t, exec.Command(r.bin, "--root", r.root, "--systemd-cgroup", "create", "--bundle", bundle, id))
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "systemd not running on this host") {
		t.Fatalf("--systemd-cgroup without systemd: exit %d, stderr %q", code, stderr)
	}
	if _, _, code := r.run(t, "state", id); code != 1 {
		t.Fatal("a refused create left a container")
	}
}

// TestRuncOnCgroupV2: hako-runc on a pure cgroup v2 host (made as
// TestRunOnCgroupV2 makes one on a hybrid host): the cgroupfs path is taken
// as given in the v2 hierarchy, and delete removes it.
func TestRuncOnCgroupV2(t *testing.T) {
	if data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skipf("already a cgroup v2 host (controllers %q): the other hako-runc tests cover it", strings.TrimSpace(string(data)))
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err != nil {
		t.Skip("no cgroup2 hierarchy on this host")
	}
	unified := "/sys/fs/cgroup/unified"
	for _, dir := range []string{unified, unified + "/hako"} {
		before := subtreeControl(dir)
		t.Cleanup(func() { restoreSubtreeControl(t, dir, before) })
	}
	r := newRunc(t)
	id := "hako-e2e-runcv2-" + strconv.Itoa(os.Getpid())
	bundle := runcBundle(t, r, id, false, "sleep", "1000")
	t.Cleanup(func() { r.run(t, "delete", "--force", id) })
	const script = `set -e
mount -t cgroup2 cgroup2 /sys/fs/cgroup
H="$1 --root $2"; B=$3; ID=$4
$H create --bundle $B $ID
$H start $ID
$H state $ID | grep -o '"pid": [0-9]*'
echo procs $(cat /sys/fs/cgroup/hako/$ID/cgroup.procs)
$H delete --force $ID
test -e /sys/fs/cgroup/hako/$ID && echo cgroup left || echo cgroup gone`
	out, errOut, code := runTool(t, exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", r.bin, r.root, bundle, id))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || strings.TrimPrefix(lines[0], `"pid": `) != strings.TrimPrefix(lines[1], "procs ") || lines[2] != "cgroup gone" {
		t.Fatalf("exit %d, stdout %q, want the init alone in /hako/%s and the cgroup gone after delete; stderr: %s", code, out, id, errOut)
	}
}
