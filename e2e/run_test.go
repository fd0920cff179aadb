package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// runStore is a store with busybox pulled, checked for leftovers (mounts,
// cgroups, libcontainer state, processes) when the test ends.
func runStore(t *testing.T) *store {
	t.Helper()
	s := newStore(t)
	s.mustHako(t, "pull", "-q", busybox.ref)
	parents := cgroupParents()
	t.Cleanup(func() {
		s.checkNothingLeft(t)
		// Remove the /hako cgroup parents this test created; rmdir fails
		// harmlessly on one another container is using.
		for _, d := range cgroupParents() {
			if !slices.Contains(parents, d) {
				os.Remove(d)
			}
		}
	})
	return s
}

// cgroupParents lists hako's cgroup parent directories in every hierarchy.
func cgroupParents() []string {
	a, _ := filepath.Glob("/sys/fs/cgroup/hako")
	b, _ := filepath.Glob("/sys/fs/cgroup/*/hako")
	return append(a, b...)
}

// run is `hako run --network none ARGS...`.
func (s *store) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return s.hako(t, append([]string{"run", "--network", "none"}, args...)...)
}

// mustRun runs a container and fails unless it exits 0.
func (s *store) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.run(t, args...)
	if code != 0 {
		t.Fatalf("run %q: exit %d, stderr: %s", args, code, errOut)
	}
	return out
}

// containerIDs lists the IDs of the records under ROOT/containers.
func (s *store) containerIDs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.root, "containers"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// checkNothingLeft fails the test if anything of the store's containers is
// left (see leftovers).
func (s *store) checkNothingLeft(t *testing.T) {
	t.Helper()
	for _, l := range s.leftovers(t) {
		t.Error(l)
	}
}

// leftovers lists what the store's containers left behind: mounts under the
// store, cgroups, libcontainer state, processes.
func (s *store) leftovers(t *testing.T) []string {
	t.Helper()
	var left []string
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (strings.HasPrefix(f[4], s.root+"/") || strings.HasPrefix(f[4], s.runroot+"/")) {
			left = append(left, "mount left behind: "+line)
		}
	}
	for _, id := range s.containerIDs(t) {
		for _, pattern := range []string{"/sys/fs/cgroup/hako/" + id, "/sys/fs/cgroup/*/hako/" + id} {
			m, _ := filepath.Glob(pattern)
			for _, d := range m {
				left = append(left, "cgroup left behind: "+d)
			}
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(s.runroot, "libcontainer")); len(ents) != 0 {
		left = append(left, fmt.Sprintf("libcontainer state left behind: %d entries", len(ents)))
	}
	// A container's processes live in a mount namespace whose root is the
	// overlay of one of the store's containers: its options name the store.
	self, _ := os.Readlink("/proc/self/ns/mnt")
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if ns, err := os.Readlink(p + "/ns/mnt"); err != nil || ns == self {
			continue
		}
		mi, err := os.ReadFile(p + "/mountinfo")
		if err == nil && strings.Contains(string(mi), "upperdir="+filepath.Join(s.root, "containers")+"/") {
			left = append(left, fmt.Sprintf("process %s left behind: %q", filepath.Base(p), argv0(atoi(filepath.Base(p)))))
		}
	}
	return left
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func wantCode(t *testing.T, what string, code, want int) {
	t.Helper()
	if code != want {
		t.Errorf("%s: exit %d, want %d", what, code, want)
	}
}

func TestRunEchoAndRemove(t *testing.T) {
	s := runStore(t)
	out := s.mustRun(t, "--rm", busybox.ref, "echo", "hi")
	if out != "hi\n" {
		t.Errorf("stdout %q, want %q", out, "hi\n")
	}
	if ids := s.containerIDs(t); len(ids) != 0 {
		t.Errorf("--rm left container records: %v", ids)
	}
}

func TestRunKeepsRecord(t *testing.T) {
	s := runStore(t)
	_, _, code := s.run(t, "--name", "keep.me", busybox.ref, "sh", "-c", "echo data > /file; exit 3")
	wantCode(t, "exit 3", code, 3)
	ids := s.containerIDs(t)
	if len(ids) != 1 || len(ids[0]) != 64 {
		t.Fatalf("records %v, want one 64-hex ID", ids)
	}
	dir := filepath.Join(s.root, "containers", ids[0])
	var rec struct {
		ID, Name, Image string
		Spec            struct{ Hostname string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || json.Unmarshal(b, &rec) != nil {
		t.Fatalf("reading record: %v %s", err, b)
	}
	if rec.ID != ids[0] || rec.Name != "keep.me" || rec.Spec.Hostname != ids[0][:12] {
		t.Errorf("record %+v", rec)
	}
	var st struct {
		State    string
		ExitCode int `json:"exit_code"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "status.json"))
	if err != nil || json.Unmarshal(b, &st) != nil || st.State != "exited" || st.ExitCode != 3 {
		t.Errorf("status %s (%v), want exited with 3", b, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "upper", "file")); err != nil || string(got) != "data\n" {
		t.Errorf("upper/file: %q %v", got, err)
	}
	_, errOut, code := s.run(t, "--name", "keep.me", busybox.ref, "true")
	wantCode(t, "duplicate name", code, 125)
	if !strings.Contains(errOut, "already in use") {
		t.Errorf("duplicate name stderr %q", errOut)
	}
}

// TestRunFailsCleanly checks runs that fail half-way leave nothing behind
// (checkNothingLeft), and no record when the container was never created.
func TestRunFailsCleanly(t *testing.T) {
	s := runStore(t)
	_, _, code := s.run(t, "--device", "/dev/nonexistent", busybox.ref, "true")
	wantCode(t, "bad device", code, 125)
	_, _, code = s.run(t, "-u", "nosuchuser", busybox.ref, "true")
	wantCode(t, "unknown user", code, 125)
	_, errOut, code := s.run(t, "--group-add", "nosuchgroup", busybox.ref, "true")
	wantCode(t, "unknown --group-add group", code, 125)
	if !strings.Contains(strings.ToLower(errOut), "unable to find group nosuchgroup") { // moby/sys/user's words, its case changed in v0.4.1
		t.Errorf("--group-add nosuchgroup: stderr %q", errOut)
	}
	_, _, code = s.run(t, "--device-cgroup-rule", "x 1:2 r", busybox.ref, "true")
	wantCode(t, "bad --device-cgroup-rule", code, 125)
	_, errOut, code = s.run(t, "--network", "host", "--dns", "1.1.1.1", busybox.ref, "true")
	wantCode(t, "--dns with --network host", code, 125)
	if !strings.Contains(errOut, "conflicting options: dns and the network mode") {
		t.Errorf("--dns with host network: %q", errOut)
	}
	_, _, code = s.run(t, "--add-host", "nocolon", busybox.ref, "true")
	wantCode(t, "bad --add-host", code, 125)
	_, _, code = s.run(t)
	wantCode(t, "no image", code, 125)
	if ids := s.containerIDs(t); len(ids) != 0 {
		t.Errorf("failed creates left records: %v", ids)
	}
	// A command that cannot start still leaves its record (no --rm).
	_, _, code = s.run(t, busybox.ref, "/no/such/cmd")
	wantCode(t, "missing command", code, 127)
	if ids := s.containerIDs(t); len(ids) != 1 {
		t.Errorf("records after a failed start: %v, want 1", ids)
	}
}

func TestRunExitCodes(t *testing.T) {
	s := runStore(t)
	for _, c := range []struct {
		name string
		args []string
		want int
	}{
		{"exit 3", []string{"--rm", busybox.ref, "sh", "-c", "exit 3"}, 3},
		{"missing command", []string{"--rm", busybox.ref, "/no/such/cmd"}, 127},
		{"missing command in PATH", []string{"--rm", busybox.ref, "nosuchcmd"}, 127},
		{"not executable", []string{"--rm", busybox.ref, "/etc/passwd"}, 126},
		{"bad flag", []string{"--rm", "--no-such-flag", busybox.ref, "true"}, 125},
		{"unknown image", []string{"--rm", registry + "/nosuch:latest", "true"}, 125},
		{"pull never", []string{"--rm", "--pull", "never", registry + "/nosuch:latest", "true"}, 125},
		{"relative volume target", []string{"--rm", "-v", "/tmp:rel", busybox.ref, "true"}, 125},
		{"bad name", []string{"--rm", "--name", "-bad", busybox.ref, "true"}, 125},
	} {
		_, errOut, code := s.run(t, c.args...)
		wantCode(t, c.name, code, c.want)
		if c.want >= 125 && strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
			t.Errorf("%s: stderr has more than one error line: %q", c.name, errOut)
		}
	}
}

// cgroupFile is a shell command printing the first field of the container's
// own cgroup file: v1 path under /sys/fs/cgroup, else the v2 file.
func cgroupFile(v1, v2 string) string {
	return "cat /sys/fs/cgroup/" + v1 + " 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/" + v2
}

// TestRunSignals checks signals to hako reach the container's process.
func TestRunSignals(t *testing.T) {
	s := runStore(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		s.checkSignal(t, sig)
	}
}

func (s *store) checkSignal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
	cmd := s.cmd("run", "--rm", "--network", "none", busybox.ref, "sh", "-c",
		`trap "echo got-`+name+`; exit 7" `+name+`; echo ready; while true; do sleep 0.1; done`)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	r := bufio.NewReader(stdout)
	if line, _ := r.ReadString('\n'); line != "ready\n" {
		t.Fatalf("first line %q, want ready", line)
	}
	cmd.Process.Signal(sig)
	rest, _ := io.ReadAll(r)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 7 || string(rest) != "got-"+name+"\n" {
		t.Errorf("after SIG%s: exit %d, output %q; want 7 and got-%s", name, code, rest, name)
	}
}

func TestRunFlags(t *testing.T) {
	s := runStore(t)
	host := t.TempDir()
	share := filepath.Join(host, "share") // missing: hako creates it
	envFile := filepath.Join(host, "env")
	if err := os.WriteFile(envFile, []byte("# comment\nA=1\n\nB=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostName, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	resolv := filepath.Join(host, "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 192.0.2.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// cpu.shares 512 is cpu.weight 20 on cgroup v2.
	cpuShares512 := "512"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cpuShares512 = "20"
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"env", []string{"-e", "A=1", busybox.ref, "sh", "-c", "echo $A"}, "1"},
		{"user", []string{"-u", "1000", busybox.ref, "id"}, "uid=1000(hako) gid=1000(hako) groups=29(audio),1000(hako)"},
		{"workdir", []string{"-w", "/newdir", busybox.ref, "pwd"}, "/newdir"},
		{"hostname", []string{"-h", "box", busybox.ref, "hostname"}, "box"},
		{"entrypoint", []string{"--entrypoint", "echo", busybox.ref, "ep"}, "ep"},
		{"caps", []string{busybox.ref, "grep", "CapEff", "/proc/self/status"}, "CapEff:\t00000000a80425fb"},
		{"seccomp", []string{busybox.ref, "grep", "Seccomp:", "/proc/self/status"}, "Seccomp:\t2"},
		{"seccomp unconfined", []string{"--security-opt", "seccomp=unconfined", busybox.ref, "grep", "Seccomp:", "/proc/self/status"}, "Seccomp:\t0"},
		{"cap-drop", []string{"--cap-drop", "all", busybox.ref, "grep", "CapEff", "/proc/self/status"}, "CapEff:\t0000000000000000"},
		{"volume", []string{"-v", share + ":/share", busybox.ref, "sh", "-c", "echo from-ctr > /share/f; echo ok"}, "ok"},
		{"pid 1", []string{busybox.ref, "sh", "-c", "ps -o comm= > /tmp/ps; echo $$; cat /tmp/ps"}, "1\nsh\nps"},
		{"ulimit", []string{"--ulimit", "nofile=100:200", busybox.ref, "sh", "-c", "ulimit -n; ulimit -Hn"}, "100\n200"},
		{"hosts", []string{busybox.ref, "sh", "-c", "head -1 /etc/hosts; cat /etc/hostname | wc -c"}, "127.0.0.1\tlocalhost\n13"},
		{"read-only", []string{"--read-only", busybox.ref, "sh", "-c", "touch /x 2>/dev/null || echo ro"}, "ro"},
		{"tmpfs", []string{"--read-only", "--tmpfs", "/scratch", busybox.ref, "sh", "-c", "touch /scratch/x && echo rw"}, "rw"},
		{"volume ro", []string{"-v", share + ":/share:ro", busybox.ref, "sh", "-c", "touch /share/g 2>/dev/null || echo ro"}, "ro"},
		{"env-file", []string{"--env-file", envFile, "-e", "C=3", busybox.ref, "sh", "-c", "echo $A$B$C"}, "123"},
		// hako-default denies mount where AppArmor is on, as docker-default does.
		{"cap-add", []string{"--cap-add", "sys_admin", "--security-opt", "apparmor=unconfined", busybox.ref, "sh", "-c", "mount -t tmpfs x /tmp && echo mounted"}, "mounted"},
		{"privileged", []string{"--privileged", busybox.ref, "sh", "-c", "mount -t tmpfs x /tmp && grep Seccomp: /proc/self/status"}, "Seccomp:\t0"},
		{"no-new-privileges", []string{"--security-opt", "no-new-privileges", busybox.ref, "grep", "NoNewPrivs", "/proc/self/status"}, "NoNewPrivs:\t1"},
		{"device", []string{"--device", "/dev/null:/dev/mynull", busybox.ref, "sh", "-c", "echo x > /dev/mynull && echo ok"}, "ok"},
		// Major 240 is for local use: no driver, so an allowed open fails with
		// ENXIO, one the device cgroup refuses with EPERM.
		{"device cgroup refuses", []string{busybox.ref, "sh", "-c", "mknod /tmp/x c 240 0; cat /tmp/x 2>&1; true"}, "cat: can't open '/tmp/x': Operation not permitted"},
		{"device-cgroup-rule", []string{"--device-cgroup-rule", "c 240:* rwm", busybox.ref, "sh", "-c", "mknod /tmp/x c 240 0; cat /tmp/x 2>&1; true"}, "cat: can't open '/tmp/x': No such device or address"},
		{"group-add", []string{"--group-add", "audio", "--group-add", "4242", "-u", "1000:1000", busybox.ref, "id"}, "uid=1000(hako) gid=1000(hako) groups=29(audio),1000(hako),4242"},
		{"network host", []string{"--network", "host", busybox.ref, "hostname"}, hostName},
		{"pull always", []string{"--pull", "always", "--platform", "linux/" + goruntime.GOARCH, busybox.ref, "true"}, ""},
		{"cpus", []string{"--cpus", "0.5", busybox.ref, "sh", "-c", cgroupFile("cpu/cpu.cfs_quota_us", "cpu.max")}, "50000"},
		{"cpu-shares", []string{"--cpu-shares", "512", busybox.ref, "sh", "-c", cgroupFile("cpu/cpu.shares", "cpu.weight")}, cpuShares512},
		{"memory", []string{"--memory", "64m", busybox.ref, "sh", "-c", cgroupFile("memory/memory.limit_in_bytes", "memory.max")}, "67108864"},
		{"pids-limit", []string{"--pids-limit", "42", busybox.ref, "sh", "-c", cgroupFile("pids/pids.max", "pids.max")}, "42"},
		{"user by name", []string{"-u", "hako", busybox.ref, "id"}, "uid=1000(hako) gid=1000(hako) groups=29(audio),1000(hako)"},
		// An explicit group replaces the user's groups (Docker, runc).
		{"user:group by name", []string{"-u", "hako:audio", busybox.ref, "id"}, "uid=1000(hako) gid=29(audio) groups=29(audio)"},
		{"masked paths", []string{busybox.ref, "sh", "-c", "wc -c < /proc/timer_list; if [ -e /proc/kcore ]; then wc -c < /proc/kcore; else echo 0; fi"}, "0\n0"},
		{"systempaths unconfined", []string{"--security-opt", "systempaths=unconfined", "--security-opt", "apparmor=unconfined", "--security-opt", "label=disable", busybox.ref, "sh", "-c", "wc -c < /proc/timer_list | grep -qv '^0$' && grep -c ' /proc/sys ro' /proc/self/mountinfo; true"}, "0"},
		{"/proc/sys read-only", []string{busybox.ref, "sh", "-c", "echo x 2>/dev/null > /proc/sys/kernel/domainname || echo ro"}, "ro"},
		{"/sys read-only", []string{busybox.ref, "sh", "-c", `awk '$5 == "/sys" { split($6, o, ","); print o[1] }' /proc/self/mountinfo`}, "ro"},
		{"no DNS without a network", []string{busybox.ref, "sh", "-c", "grep -c nameserver /etc/resolv.conf; true"}, "0"},
		{"dns", []string{"--dns", "9.9.9.9", "--dns-search", "example.org", "--dns-option", "ndots:2", busybox.ref, "grep", "-v", "^#", "/etc/resolv.conf"}, "nameserver 9.9.9.9\nsearch example.org\noptions ndots:2"},
		{"add-host", []string{"--add-host", "db:10.1.2.3", "--add-host", "gw=host-gateway", busybox.ref, "sh", "-c", "tail -2 /etc/hosts"}, "10.1.2.3\tdb\n10.89.0.1\tgw"},
		// The init's own variables (GOMAXPROCS, GODEBUG, libcontainer's
		// pipes) stay with the init: pid 1's environment is the config's.
		{"init's environment not passed on", []string{busybox.ref, "sh", "-c", `tr '\0' '\n' < /proc/1/environ | grep -c -e GODEBUG -e GOMAXPROCS -e _LIBCONTAINER; true`}, "0"},
		{"own resolv.conf", []string{"-v", resolv + ":/etc/resolv.conf:ro", busybox.ref, "cat", "/etc/resolv.conf"}, "nameserver 192.0.2.53"},
	}
	for _, c := range cases {
		out, errOut, code := s.run(t, append([]string{"--rm"}, c.args...)...)
		if code != 0 || strings.TrimSpace(out) != c.want {
			t.Errorf("%s: exit %d, stdout %q, want %q; stderr %s", c.name, code, out, c.want, errOut)
		}
	}
	if got, err := os.ReadFile(filepath.Join(share, "f")); err != nil || string(got) != "from-ctr\n" {
		t.Errorf("volume file on host: %q %v", got, err)
	}
}

func TestRunStdin(t *testing.T) {
	s := runStore(t)
	out, _, code := s.hakoIn(t, strings.NewReader("piped\n"), "run", "--rm", "-i", "--network", "none", busybox.ref, "cat")
	if code != 0 || out != "piped\n" {
		t.Errorf("-i: exit %d, stdout %q", code, out)
	}
	// Without -i the container's stdin is empty.
	out, _, code = s.hakoIn(t, strings.NewReader("piped\n"), "run", "--rm", "--network", "none", busybox.ref, "cat")
	if code != 0 || out != "" {
		t.Errorf("no -i: exit %d, stdout %q", code, out)
	}
}

func TestRunIsolation(t *testing.T) {
	s := runStore(t)
	_, errOut, code := s.run(t, "--rm", busybox.ref, "mount", "-t", "tmpfs", "x", "/tmp")
	if code == 0 || !strings.Contains(errOut, "permission denied") {
		t.Errorf("mount -t tmpfs in an unprivileged container: exit %d, stderr %q; want EPERM", code, errOut)
	}
	out := s.mustRun(t, "--rm", busybox.ref, "sh", "-c", "ip link 2>/dev/null | grep -c '^[0-9]'")
	if strings.TrimSpace(out) != "1" {
		t.Errorf("--network none: %q interfaces, want only lo", out)
	}
}

func TestRunLimits(t *testing.T) {
	s := runStore(t)
	_, _, code := s.run(t, "--rm", "--memory", "16m", busybox.ref, "sh", "-c", "x=a; while true; do x=$x$x; done")
	wantCode(t, "memory hog under --memory 16m", code, 137)
	// Docker's least limit: the init's heap asks for a huge page
	// (runtime.HugeHeap), charged to the container's memory cgroup.
	if out := s.mustRun(t, "--rm", "--memory", "6m", busybox.ref, "echo", "small"); strings.TrimSpace(out) != "small" {
		t.Errorf("--memory 6m: output %q, want small", out)
	}

	out, errOut, code := s.run(t, "--rm", "--pids-limit", "10", busybox.ref, "sh", "-c",
		"for i in $(seq 20); do sleep 5 & done; echo all-started")
	if code == 0 || strings.Contains(out, "all-started") || !strings.Contains(errOut, "fork") {
		t.Errorf("--pids-limit 10 with 20 children: exit %d, stdout %q, stderr %q; want a fork failure", code, out, errOut)
	}
	// The same without the limit: all start (and are killed when sh exits).
	out = s.mustRun(t, "--rm", busybox.ref, "sh", "-c", "for i in $(seq 20); do sleep 5 & done; echo all-started")
	if out != "all-started\n" {
		t.Errorf("without --pids-limit: %q", out)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a goroutine writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls b until it contains want, failing the test after 20 s.
func (b *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q after 20s: %q", want, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunTTY drives `run -it` from a pty, as a user's terminal would: the
// container gets a pty of the terminal's size that follows SIGWINCH.
func TestRunTTY(t *testing.T) {
	s := runStore(t)
	pty, cmd, out := startTTY(t, s, console.WinSize{Height: 30, Width: 100})
	var err error

	// Type only once the shell prompts: before hako has put the terminal in
	// raw mode, the test's own pty would echo and translate the input.
	out.waitFor(t, "# ")
	io.WriteString(pty, "tty; stty size\n")
	out.waitFor(t, "30 100")
	if err := pty.Resize(console.WinSize{Height: 40, Width: 120}); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGWINCH)
	time.Sleep(200 * time.Millisecond) // hako resizes asynchronously
	io.WriteString(pty, "stty size; exit 5\n")
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 5 {
		t.Errorf("run -it: %v, want exit 5", err)
	}
	got := out.String()
	t.Logf("tty output: %q", got)
	for _, want := range []string{"\r\n/dev/pts/0\r\n", "\r\n30 100\r\n", "\r\n40 120\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("tty output lacks %q", want)
		}
	}
	if strings.Contains(got, "\r\r\n") {
		t.Errorf("tty output has doubled carriage returns")
	}
}

// TestRunTTYCtrlC: in raw mode Ctrl-C travels as a byte to the container's
// terminal, which interrupts the foreground command there, not hako.
func TestRunTTYCtrlC(t *testing.T) {
	s := runStore(t)
	pty, cmd, out := startTTY(t, s, console.WinSize{Height: 24, Width: 80})
	out.waitFor(t, "# ")
	io.WriteString(pty, "sleep 100\n")
	time.Sleep(300 * time.Millisecond)
	io.WriteString(pty, "\x03") // Ctrl-C: the shell in the container reports 130
	io.WriteString(pty, "echo after-sleep-$?\n")
	out.waitFor(t, "after-sleep-130")
	io.WriteString(pty, "exit 4\n")
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("run -it after Ctrl-C: exit %d, want 4 (hako itself must not be interrupted); output %q", code, out.String())
	}
}

// startTTY starts `hako run --rm -it … sh` on a new pty of the given size,
// as from a user's terminal, and collects what the terminal shows. Should
// the test end early, hako is told to exit (and so cleans up) or killed.
func startTTY(t *testing.T, s *store, size console.WinSize) (console.Console, *exec.Cmd, *syncBuffer) {
	t.Helper()
	return startTTYCmd(t, s, size, "run", "--rm", "-it", "--network", "none", busybox.ref, "sh")
}

// startTTYCmd runs hako with args on a new pty of the given size.
func startTTYCmd(t *testing.T, s *store, size console.WinSize, args ...string) (console.Console, *exec.Cmd, *syncBuffer) {
	t.Helper()
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pty.Close() })
	if err := pty.Resize(size); err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	cmd := s.cmd(args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	t.Cleanup(func() {
		timer.Stop()
		if cmd.ProcessState == nil {
			io.WriteString(pty, "\x03exit\n")
			cmd.Wait()
		}
	})
	out := &syncBuffer{}
	go io.Copy(out, pty)
	return pty, cmd, out
}

// TestRunRemoveLeavesNothing: a --rm container's record goes, and with it
// the ID the leftover check looks for; so these runs name their container
// (--debug) and everything of it is checked by ID: cgroups in every
// hierarchy, mounts, state. Other containers on the host (the runtime
// package's tests run at the same time) do not matter here.
func TestRunRemoveLeavesNothing(t *testing.T) {
	s := runStore(t)
	idLine := regexp.MustCompile(`debug: container ([0-9a-f]{64}):`)
	for _, c := range []struct {
		name       string
		flags, cmd []string
		code       int
	}{
		{"exit 0", nil, []string{"true"}, 0},
		{"exit 3", nil, []string{"sh", "-c", "exit 3"}, 3},
		{"not found", nil, []string{"/nosuch"}, 127},
		{"cannot execute", nil, []string{"/etc/passwd"}, 126},
		{"cgroup limits", []string{"--memory", "32m", "--pids-limit", "20"}, []string{"true"}, 0},
	} {
		args := append(append(append([]string{"--rm", "--debug"}, c.flags...), busybox.ref), c.cmd...)
		_, errOut, code := s.run(t, args...)
		wantCode(t, c.name, code, c.code)
		m := idLine.FindStringSubmatch(errOut)
		if m == nil {
			t.Errorf("%s: no container ID in the debug output", c.name)
			continue
		}
		s.checkNothingLeftOf(t, m[1])
		if _, err := os.Stat(filepath.Join(s.root, "containers", m[1])); !os.IsNotExist(err) {
			t.Errorf("%s: the record of a --rm container is still there (%v)", c.name, err)
		}
	}
}

// TestLeftoverCheckSeesALiveContainer: the check every run test ends with
// does see a container's process and cgroups while it runs.
func TestLeftoverCheckSeesALiveContainer(t *testing.T) {
	s := runStore(t)
	cmd := s.cmd("run", "--rm", "--network", "none", busybox.ref, "sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, pid := s.waitForInit(t, "sleep")
	var sawProcess, sawCgroup bool
	for _, l := range s.leftovers(t) {
		sawProcess = sawProcess || strings.HasPrefix(l, "process "+strconv.Itoa(pid)+" ")
		sawCgroup = sawCgroup || strings.HasPrefix(l, "cgroup left behind: ")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Error("hako run exited 0 after its container was killed")
	}
	if !sawProcess || !sawCgroup {
		t.Errorf("leftovers while a container ran: process seen %v, cgroup seen %v", sawProcess, sawCgroup)
	}
}

// TestMountTargetsLayer: the mount targets the image lacks (/etc/hosts,
// /etc/hostname, /etc/resolv.conf here) come from hako's targets layer
// below the image's, so the init creates nothing in the container's upper
// dir; export still shows them, as Docker's export of a container does.
func TestMountTargetsLayer(t *testing.T) {
	s := runStore(t)
	s.mustRun(t, "--name", "tg", "--network", "none", busybox.ref, "true")
	t.Cleanup(func() { s.hako(t, "rm", "-f", "tg") })
	id := strings.TrimSpace(s.mustHako(t, "inspect", "--format", "{{.ID}}", "tg"))
	var upper []string
	filepath.WalkDir(filepath.Join(s.root, "containers", id, "upper"), func(p string, d os.DirEntry, err error) error {
		upper = append(upper, p)
		return nil
	})
	if len(upper) != 1 {
		t.Errorf("upper dir of a container that wrote nothing holds %q, want only itself", upper)
	}
	names := " " + tarNames(t, s.mustHako(t, "export", "tg")) + " "
	for _, want := range []string{"etc/hosts", "etc/hostname", "etc/resolv.conf", "proc/", "bin/busybox"} {
		if !strings.Contains(names, " "+want+" ") {
			t.Errorf("export lacks %s: %s", want, names)
		}
	}
}
