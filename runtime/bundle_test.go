package runtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	runcPath    = "/usr/bin/runc"
	busyboxPath = "/bin/busybox" // Debian's busybox-static
)

// busyboxRootfs makes a minimal rootfs: a static busybox, the applets the
// test uses, and passwd/group files with root and hako (1000).
func busyboxRootfs(t *testing.T, rootfs string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(busyboxPath)
	if err != nil {
		t.Fatalf("busybox-static is required: %v", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(rootfs, "bin/busybox"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "grep", "head", "hostname", "id", "stat", "wc", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, rootfs, "etc/passwd", testPasswd)
	writeFile(t, rootfs, "etc/group", testGroup)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// cgroupDirs lists the cgroup directories, over every mounted hierarchy,
// at the relative path rel (e.g. "hako/<id>").
func cgroupDirs(t *testing.T, rel string) []string {
	t.Helper()
	var found []string
	for _, pattern := range []string{"/sys/fs/cgroup/" + rel, "/sys/fs/cgroup/*/" + rel} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, m...)
	}
	return found
}

// runInRunc writes the spec built from o into a bundle and runs it with
// Debian's runc, returning its combined output.
func runInRunc(t *testing.T, o SpecOptions) string {
	t.Helper()
	if _, err := os.Stat(runcPath); err != nil {
		t.Fatalf("runc is required at %s: %v", runcPath, err)
	}
	bundle := t.TempDir()
	state := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	busyboxRootfs(t, rootfs)

	// Network files the caller would generate.
	writeFile(t, bundle, "hosts", "127.0.0.1\tlocalhost\n")
	writeFile(t, bundle, "hostname", o.Hostname+"\n")
	writeFile(t, bundle, "resolv.conf", "nameserver 192.0.2.53\n")
	o.HostsPath = filepath.Join(bundle, "hosts")
	o.HostnamePath = filepath.Join(bundle, "hostname")
	o.ResolvConfPath = filepath.Join(bundle, "resolv.conf")
	o.RootfsPath = rootfs

	s, err := BuildSpec(ocispec.ImageConfig{Env: []string{"IMAGE_VAR=1"}}, o)
	if err != nil {
		t.Fatal(err)
	}
	s.Root.Path = "rootfs" // runc resolves it against the bundle
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}

	name := o.ID
	createdParents := map[string]bool{}
	for _, p := range []string{"/sys/fs/cgroup/hako", "/sys/fs/cgroup/*/hako"} {
		m, _ := filepath.Glob(p)
		for _, d := range m {
			createdParents[d] = false
		}
	}
	t.Cleanup(func() {
		del := exec.Command(runcPath, "--root", state, "delete", "-f", name)
		if out, err := del.CombinedOutput(); err != nil && !strings.Contains(string(out), "does not exist") {
			t.Errorf("runc delete: %v: %s", err, out)
		}
		if left := cgroupDirs(t, "hako/"+name); len(left) != 0 {
			t.Errorf("cgroup directories left behind: %v", left)
		}
		// Remove the /hako parents only if this test created them.
		for _, p := range []string{"/sys/fs/cgroup/hako", "/sys/fs/cgroup/*/hako"} {
			m, _ := filepath.Glob(p)
			for _, d := range m {
				if _, existed := createdParents[d]; !existed {
					os.Remove(d) // fails harmlessly if another container uses it
				}
			}
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, runcPath, "--root", state, "run", "--bundle", bundle, name)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("runc run: %v\n%s", err, out.String())
	}
	t.Logf("container output:\n%s", out.String())
	return out.String()
}

// lines splits output into trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

func wantLine(t *testing.T, out, want string) {
	t.Helper()
	for _, l := range lines(out) {
		if l == want {
			return
		}
	}
	t.Errorf("output lacks line %q:\n%s", want, out)
}

const probeScript = `grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; ` +
	`cat /proc/kcore | head -c1; echo rc=$?; echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c); ` +
	`hostname; id; cat /etc/hostname /etc/resolv.conf; ` +
	`echo IMAGE_VAR=$IMAGE_VAR HOME=$HOME PWD=$(pwd); ` +
	`echo rosys=$(grep -c ' /proc/sys ro,' /proc/self/mountinfo); cat /proc/self/cgroup`

// maskProbe returns shell lines that print, for each of Docker's masked
// paths present on this host, "mask:P=1:3:0" for a file (a /dev/null bind
// that reads 0 bytes) or "mask:P=dir:0" for an empty directory, and the
// lines the container must print.
func maskProbe(t *testing.T) (script string, want []string) {
	t.Helper()
	for _, p := range dockerMaskedPaths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			script += "; echo mask:" + p + "=dir:$(ls -A " + p + " | wc -l)"
			want = append(want, "mask:"+p+"=dir:0")
		} else {
			script += "; echo mask:" + p + "=$(stat -c %t:%T " + p + "):$(cat " + p + " | wc -c)"
			want = append(want, "mask:"+p+"=1:3:0")
		}
	}
	if len(want) == 0 {
		t.Fatal("none of Docker's masked paths exists on this host")
	}
	return script, want
}

func TestSpecRunsUnderRunc(t *testing.T) {
	id := "hako-test-" + randomHex(t, 6)
	masks, maskLines := maskProbe(t)
	dev, err := ParseDevice("/dev/null:/dev/hakonull:rw")
	if err != nil {
		t.Fatal(err)
	}
	devProbe := "; echo x > /dev/hakonull && echo devok=$(stat -c %t:%T /dev/hakonull)"
	o := SpecOptions{
		ID:          id,
		Hostname:    id[:12],
		Cmd:         []string{"sh", "-c", probeScript + masks + devProbe},
		CgroupsPath: "/hako/" + id,
		Devices:     []DeviceRequest{dev},
	}
	out := runInRunc(t, o)

	wantLine(t, out, "CapEff:\t00000000a80425fb")
	wantLine(t, out, "Seccomp:\t2")
	// /proc/kcore reads 0 bytes (masked, or absent on kernels without it).
	wantLine(t, out, "rc=0")
	wantLine(t, out, "kcore=0")
	for _, l := range maskLines {
		wantLine(t, out, l)
	}
	wantLine(t, out, "rosys=1")
	wantCgroup := ":/hako/" + id
	if isCgroup2Unified() {
		wantCgroup = "0::/" // its own cgroup namespace
	}
	wantLine(t, out, "devok=1:3")
	if !strings.Contains(out, wantCgroup+"\n") {
		t.Errorf("container not in cgroup /hako/%s", id)
	}
	wantLine(t, out, id[:12])
	wantLine(t, out, "uid=0(root) gid=0(root) groups=0(root)")
	wantLine(t, out, "nameserver 192.0.2.53")
	wantLine(t, out, "IMAGE_VAR=1 HOME=/root PWD=/")
}

func TestSpecRunsUnderRuncAsUser(t *testing.T) {
	id := "hako-test-" + randomHex(t, 6)
	masks, maskLines := maskProbe(t)
	o := SpecOptions{
		ID:          id,
		User:        "1000",
		Cmd:         []string{"sh", "-c", probeScript + masks},
		CgroupsPath: "/hako/" + id,
	}
	out := runInRunc(t, o)

	wantLine(t, out, "uid=1000(hako) gid=1000(hako) groups=10(wheel),29(audio),1000(hako)") // the kernel sorts groups
	// Docker semantics: a non-root user has no effective capabilities.
	wantLine(t, out, "CapEff:\t0000000000000000")
	wantLine(t, out, "Seccomp:\t2")
	wantLine(t, out, id[:12]) // default hostname: first 12 chars of the ID
	wantLine(t, out, "IMAGE_VAR=1 HOME=/home/hako PWD=/")
	for _, l := range maskLines {
		wantLine(t, out, l)
	}
}

// hostCapBnd returns this process's CapBnd line from /proc/self/status.
func hostCapBnd(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(data)) {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return ""
}

func TestPrivilegedSpecRunsUnderRunc(t *testing.T) {
	id := "hako-test-" + randomHex(t, 6)
	script := `grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; ` +
		`echo sysrw=$(grep -c ' /sys rw,' /proc/self/mountinfo); ` +
		`echo keys=$(stat -c %t:%T /proc/keys); echo rosys=$(grep -c ' /proc/sys ro,' /proc/self/mountinfo)`
	out := runInRunc(t, SpecOptions{
		ID:          id,
		Privileged:  true,
		Cmd:         []string{"sh", "-c", script},
		CgroupsPath: "/hako/" + id,
	})
	wantLine(t, out, "CapEff:\t"+hostCapBnd(t))
	wantLine(t, out, "Seccomp:\t0")
	wantLine(t, out, "sysrw=1")
	wantLine(t, out, "rosys=0")
	if strings.Contains(out, "keys=1:3") {
		t.Error("/proc/keys masked in a privileged container")
	}
}
