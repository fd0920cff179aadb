package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBundleCrun: Debian's crun runs a bundle hako wrote, unchanged, with
// the output, exit code, seccomp filter, capabilities and read-only root
// hako run gives (-e, -w, --cap-drop, a -v bind, --read-only). The bundle
// states ociVersion 1.1.0 (runtime.bundleOCIVersion): crun before 1.14.3
// refuses one without "1.0" in it, such as 1.3.0 ("unknown version
// specified").
//
// crun 1.8 refuses a hybrid host like this one (v1 controllers with a
// cgroup2 mount beside them: "cgroups in hybrid mode not supported"), so
// hako and crun run in a private mount namespace that shows a plain host:
// "v2" mounts the cgroup2 hierarchy at /sys/fs/cgroup (as TestRunOnCgroupV2
// does), "v1" detaches the cgroup2 mount (as the bench does). The
// container's cgroup is made under /hako there and must be gone after crun
// run; the controllers enabled on the way are put back.
//
// crun before 1.14 sets RLIMIT_MEMLOCK to infinity before it loads the
// eBPF program that enforces a v2 device cgroup, and fails when it cannot
// (it needs CAP_SYS_RESOURCE). hako's spec denies devices ("allow": false
// rules, as Docker's), so crun may not go on without the program. Where
// the test runs without CAP_SYS_RESOURCE (some CI sandboxes drop it) the
// v2 case checks that this is what stops crun, runs the bundle with its
// device rules removed (all else unchanged must give hako run's output),
// and skips, naming the limit.
func TestBundleCrun(t *testing.T) {
	hybrid := fileExists("/sys/fs/cgroup/unified/cgroup.controllers")
	pureV2 := fileExists("/sys/fs/cgroup/cgroup.controllers")
	t.Run("v2", func(t *testing.T) {
		v2root := "/sys/fs/cgroup"
		if !pureV2 {
			if !hybrid {
				t.Skip("no cgroup2 hierarchy on this host (pure cgroup v1)")
			}
			v2root = "/sys/fs/cgroup/unified"
		}
		crunRunsBundle(t, `mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"`, []string{v2root})
	})
	t.Run("v1", func(t *testing.T) {
		if pureV2 {
			t.Skip("no cgroup v1 hierarchy on this host (pure cgroup v2)")
		}
		roots, _ := filepath.Glob("/sys/fs/cgroup/*/tasks")
		for i := range roots {
			roots[i] = filepath.Dir(roots[i])
		}
		script := `exec "$@"`
		if hybrid {
			script = `umount -l /sys/fs/cgroup/unified && exec "$@"`
		}
		crunRunsBundle(t, script, roots)
	})
}

// crunRunsBundle runs hako run, hako bundle and crun run of the bundle in a
// private mount namespace prepared by script, whose cgroup hierarchies are
// at roots on the host, and compares the outputs.
func crunRunsBundle(t *testing.T, script string, roots []string) {
	s := runStore(t)
	for _, root := range roots {
		for _, dir := range []string{root, root + "/hako"} {
			before := subtreeControl(dir)
			t.Cleanup(func() { restoreSubtreeControl(t, dir, before) })
		}
	}
	inNS := func(argv ...string) (string, string, int) {
		t.Helper()
		full := append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh"}, argv...)
		return runTool(t, exec.Command("unshare", full...))
	}
	hako := func(args ...string) []string {
		return append([]string{hakoBin, "--root", s.root, "--runroot", s.runroot}, args...)
	}
	share := t.TempDir()
	if err := os.WriteFile(filepath.Join(share, "f"), []byte("shared"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-e", "X=1", "-w", "/tmp", "--cap-drop", "net_raw", "--read-only", "-v", share + ":/share"}
	cmd := []string{"sh", "-c", "echo $X; pwd; cat /share/f; echo; grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status; touch /x 2>/dev/null || echo ro; exit 3"}
	// CAP_NET_RAW (bit 13) dropped from Docker's default set a80425fb.
	const want = "1\n/tmp\nshared\nCapEff:\t00000000a80405fb\nCapBnd:\t00000000a80405fb\nSeccomp:\t2\nro\n"
	run := append(append(append([]string{"run", "--rm", "--network", "none"}, flags...), busybox.ref), cmd...)
	if out, errOut, code := inNS(hako(run...)...); code != 3 || out != want {
		t.Fatalf("hako run: exit %d, %q, want 3 and %q; %s", code, out, want, errOut)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	bundle := append(append(append([]string{"bundle"}, flags...), busybox.ref, dir, "--"), cmd...)
	if out, errOut, code := inNS(hako(bundle...)...); code != 0 {
		t.Fatalf("hako bundle: exit %d, %q; %s", code, out, errOut)
	}
	config := readFile(filepath.Join(dir, "config.json"))
	m := regexp.MustCompile(`"cgroupsPath": "(/hako/[0-9a-f]{64})"`).FindStringSubmatch(config)
	if m == nil {
		t.Fatalf("no /hako cgroupsPath in the bundle's config.json: %s", config)
	}
	crunRoot := t.TempDir()
	const id = "hako-bundle-crun-test"
	t.Cleanup(func() {
		// After a failed run: crun's state, then the cgroup it may leave.
		inNS("crun", "--root", crunRoot, "delete", "--force", id)
		for _, root := range roots {
			os.Remove(root + m[1])
		}
	})
	checkCgroupGone := func() {
		t.Helper()
		for _, root := range roots {
			if fileExists(root + m[1]) {
				t.Errorf("crun left the container's cgroup %s", root+m[1])
			}
		}
	}
	got, errOut, code := inNS("crun", "--root", crunRoot, "run", "--bundle", dir, id)
	if code == 1 && strings.Contains(errOut, "setrlimit (RLIM_MEMLOCK): Operation not permitted") && !hasCapSysResource(t) {
		// The rest of the spec still runs under crun on v2: the same bundle
		// with no device rules (then crun does without the eBPF program)
		// gives hako run's output.
		var spec map[string]any
		if err := json.Unmarshal([]byte(config), &spec); err != nil {
			t.Fatal(err)
		}
		delete(spec["linux"].(map[string]any)["resources"].(map[string]any), "devices")
		b, err := json.Marshal(spec)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, errOut, code = inNS("crun", "--root", crunRoot, "run", "--bundle", dir, id)
		if code != 3 || got != want {
			t.Errorf("crun run of the bundle without its device rules: exit %d, %q, want 3 and %q; stderr: %s", code, got, want, errOut)
		}
		checkCgroupGone()
		t.Skipf("crun %s cannot load the eBPF program of hako's device rules on cgroup v2 without CAP_SYS_RESOURCE, which this test process lacks: it raises RLIMIT_MEMLOCK to infinity first (crun 1.14 no longer does)", crunVersion())
	}
	if code != 3 || got != want {
		t.Errorf("crun run of the bundle: exit %d, %q, want 3 and %q; stderr: %s", code, got, want, errOut)
	}
	checkCgroupGone()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func crunVersion() string {
	out, _ := exec.Command("crun", "--version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimPrefix(first, "crun version ")
}
