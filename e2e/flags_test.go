package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-run/hako/internal/testimage"
	"golang.org/x/sys/unix"
)

// TestRunMoreFlags covers the run flags TestRunFlags leaves out, each by its
// observable effect inside the container.
func TestRunMoreFlags(t *testing.T) {
	s := runStore(t)
	t.Setenv("HAKO_E2E_FROM_HOST", "host-value")
	os.Unsetenv("HAKO_E2E_UNSET")

	profile := filepath.Join(t.TempDir(), "seccomp.json")
	// Docker's profile format: allow everything but mkdir/mkdirat.
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW",
		"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	swap := cgroupFile("memory/memory.memsw.limit_in_bytes", "memory.swap.max")
	wantSwap := "134217728" // v1: memory+swap
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		wantSwap = "67108864" // v2: swap alone
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"env from host", []string{"-e", "HAKO_E2E_FROM_HOST", busybox.ref, "sh", "-c", "echo $HAKO_E2E_FROM_HOST"}, "host-value"},
		{"env unset on host", []string{"-e", "HAKO_E2E_UNSET", busybox.ref, "sh", "-c", "echo ${HAKO_E2E_UNSET-absent}"}, "absent"},
		{"seccomp file", []string{"--security-opt", "seccomp=" + profile, busybox.ref, "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/d 2>/dev/null || echo denied"}, "Seccomp:\t2\ndenied"},
		{"memory-swap", []string{"--memory", "64m", "--memory-swap", "128m", busybox.ref, "sh", "-c", swap}, wantSwap},
		{"shm 64m", []string{busybox.ref, "sh", "-c", "df -k /dev/shm | tail -1 | awk '{print $2}'"}, "65536"},
		{"mqueue", []string{busybox.ref, "sh", "-c", "grep -c ' /dev/mqueue ' /proc/self/mountinfo"}, "1"},
		{"ulimit above hard", []string{"--ulimit", fmt.Sprintf("nofile=%d:%d", nofile.Max+1000, nofile.Max+1000), busybox.ref, "sh", "-c", "ulimit -Hn"}, strconv.FormatUint(nofile.Max, 10)},
	}
	for _, c := range cases {
		out, errOut, code := s.run(t, append([]string{"--rm"}, c.args...)...)
		if code != 0 || strings.TrimSpace(out) != c.want {
			t.Errorf("%s: exit %d, stdout %q, want %q; stderr %s", c.name, code, out, c.want, errOut)
		}
	}
}

// TestRunStdoutStderr: without -t the container's stdout and stderr reach
// hako's stdout and stderr separately.
func TestRunStdoutStderr(t *testing.T) {
	s := runStore(t)
	out, errOut, code := s.run(t, "--rm", busybox.ref, "sh", "-c", "echo to-out; echo to-err >&2")
	if code != 0 || strings.TrimSpace(out) != "to-out" || !strings.Contains(errOut, "to-err") || strings.Contains(out, "to-err") {
		t.Errorf("exit %d, stdout %q, stderr %q: want to-out on stdout and to-err on stderr only", code, out, errOut)
	}
}

// TestRunOverlaySemantics runs an image whose upper layer deletes a file
// (whiteout) and replaces a directory's content (opaque), and one of many
// layers, through the real overlay mount.
func TestRunOverlaySemantics(t *testing.T) {
	base, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimage.WithLayer(base, map[string]testimage.File{
		"data/":    {Mode: os.ModeDir | 0o755},
		"data/a":   {Mode: 0o644, Content: []byte("a")},
		"data/b":   {Mode: 0o644, Content: []byte("b")},
		"opq/":     {Mode: os.ModeDir | 0o755},
		"opq/old1": {Mode: 0o644, Content: []byte("1")},
		"opq/old2": {Mode: 0o644, Content: []byte("2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if img, err = testimage.WithLayer(img, map[string]testimage.File{
		"data/a":  {Whiteout: true},
		"opq/":    {Mode: os.ModeDir | 0o755, Opaque: true},
		"opq/new": {Mode: 0o644, Content: []byte("n")},
	}); err != nil {
		t.Fatal(err)
	}
	ref := registry + "/overlay-semantics:latest"
	push(t, ref, img)

	const many = 60
	deep := base
	for i := 0; i < many; i++ {
		if deep, err = testimage.WithLayer(deep, map[string]testimage.File{fmt.Sprintf("many-%02d", i): {Mode: 0o644, Content: []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	deepRef := registry + "/many-layers:latest"
	push(t, deepRef, deep)

	s := runStore(t)
	out := s.mustRun(t, "--rm", ref, "sh", "-c", "ls /data; echo --; ls /opq")
	if strings.TrimSpace(out) != "b\n--\nnew" {
		t.Errorf("overlay view %q, want data/b only and opq/new only", out)
	}
	out = s.mustRun(t, "--rm", deepRef, "sh", "-c", "ls / | grep -c '^many-'")
	if strings.TrimSpace(out) != strconv.Itoa(many) {
		t.Errorf("a %d-layer image shows %q files of its layers, want %d", many+1, out, many)
	}
}
