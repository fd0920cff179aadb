package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunOnCgroupV2 runs hako on a pure cgroup v2 host. On a hybrid host
// like this one (v1 controllers, a cgroup2 mount beside them) it makes one:
// hako runs in a mount namespace of its own where the cgroup2 hierarchy is
// mounted at /sys/fs/cgroup, so it sees what Raspberry Pi OS and current
// distros show, minus the controllers v1 holds here (memory among them, as
// on a Pi booted without cgroup_enable=memory). The container gets a cgroup
// namespace and its own cgroup in the v2 hierarchy; --memory fails with the
// one line that says how to enable it; nothing is left in the hierarchy.
func TestRunOnCgroupV2(t *testing.T) {
	if data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skipf("already a cgroup v2 host (controllers %q): every other run test covers it", strings.TrimSpace(string(data)))
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err != nil {
		t.Skip("no cgroup2 hierarchy on this host")
	}
	s := runStore(t)
	// libcontainer enables the available controllers down the path to the
	// container's cgroup (cgroup.subtree_control of the root and of /hako);
	// put the host's hierarchy back as it was.
	unified := "/sys/fs/cgroup/unified"
	for _, dir := range []string{unified, unified + "/hako"} {
		before := subtreeControl(dir)
		t.Cleanup(func() { restoreSubtreeControl(t, dir, before) })
	}
	v2 := func(args ...string) (string, string, int) {
		t.Helper()
		const script = `mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"`
		full := append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh",
			hakoBin, "--root", s.root, "--runroot", s.runroot, "run", "--network", "none"}, args...)
		return runTool(t, exec.Command("unshare", full...))
	}

	// Inside, the cgroup namespace shows the container's own cgroup as the
	// root: only its own two processes are in it.
	out, errOut, code := v2("--rm", "--debug", busybox.ref, "sh", "-c", "grep '^0::' /proc/self/cgroup; grep -c . /sys/fs/cgroup/cgroup.procs; true")
	if code != 0 || strings.Fields(out)[0] != "0::/" || strings.TrimSpace(strings.Fields(out)[1]) != "2" {
		t.Fatalf("exit %d, stdout %q, want 0::/ and 2 processes; stderr: %s", code, out, errOut)
	}
	if !regexp.MustCompile(`namespaces: new [^;]*\bcgroup\b`).MatchString(errOut) {
		t.Errorf("no cgroup namespace on cgroup v2; stderr: %s", errOut)
	}
	m := regexp.MustCompile(`cgroup: /hako/([0-9a-f]{64})`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no cgroup path in the debug output: %s", errOut)
	}
	s.checkNothingLeftOf(t, m[1])

	// No memory controller in this v2 hierarchy (v1 holds it).
	_, errOut, code = v2("--rm", "--memory", "64m", busybox.ref, "true")
	if code != 125 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "cgroup_enable=memory") {
		t.Errorf("--memory: exit %d, stderr %q; want 125 and how to enable the controller", code, errOut)
	}
}

// subtreeControl reads the controllers enabled in dir's cgroup.subtree_control
// (none when dir does not exist).
func subtreeControl(dir string) map[string]bool {
	on := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return on
	}
	for _, c := range strings.Fields(string(data)) {
		on[c] = true
	}
	return on
}

// restoreSubtreeControl disables in dir what was not enabled before.
// Cleanups run last-registered first, so children are restored before
// parents (a parent cannot disable what a child still uses).
func restoreSubtreeControl(t *testing.T, dir string, before map[string]bool) {
	for c := range subtreeControl(dir) {
		if !before[c] {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("-"+c), 0); err != nil {
				t.Errorf("restoring %s/cgroup.subtree_control: %v", dir, err)
			}
		}
	}
}
