package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	occgroups "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These tests use the real cgroupfs of this machine (a hybrid host). They
// create cgroups only under /hako, and remove them.

func TestDetectReal(t *testing.T) {
	h, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	if h.Mode != Hybrid {
		t.Errorf("mode = %v, want hybrid", h.Mode)
	}
	for _, c := range []string{"memory", "cpu", "cpuacct", "pids", "cpuset"} {
		if !h.Controllers[c] {
			t.Errorf("controller %s not found; have %v", c, keys(h.Controllers))
		}
	}
	if !h.SwapAccounting {
		t.Error("swap accounting not found (memory.memsw.* exists here)")
	}
	if h.NumCPU != runtime.NumCPU() || h.CpusetCpus == "" || h.CpusetMems == "" {
		t.Errorf("cpus: %d %q %q", h.NumCPU, h.CpusetCpus, h.CpusetMems)
	}
	if h.Systemd {
		t.Error("systemd reported on a host without systemd")
	}
	// The library the runtime uses agrees.
	if occgroups.IsCgroup2UnifiedMode() || !occgroups.IsCgroup2HybridMode() {
		t.Error("opencontainers/cgroups does not see a hybrid host")
	}
	_, _, err = h.Resources(Limits{NanoCPUs: int64(h.NumCPU)*1e9 + 1})
	want := "range of CPUs is from 0.01 to " + strconv.Itoa(h.NumCPU) + ".00, as there are only " + strconv.Itoa(h.NumCPU) + " CPUs available"
	if err == nil || err.Error() != want {
		t.Errorf("too many cpus: %v", err)
	}
}

// realCgroup is a cgroup /hako/test-<random> made by libcontainer's cgroup
// manager from the resources Resources produced, holding one child process.
type realCgroup struct {
	h       *Host
	id      string
	cg      *occgroups.Cgroup
	m       occgroups.Manager
	cmd     *exec.Cmd
	release io.WriteCloser // the child's stdin: closing it lets the child go on
}

func newRealCgroup(t *testing.T, l Limits) *realCgroup {
	t.Helper()
	h, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	rc := &realCgroup{h: h, id: "test-" + hex.EncodeToString(b)}

	res, warnings, err := h.Resources(l)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Resources: %v %q", err, warnings)
	}
	// Convert exactly as libcontainer does for a container.
	spec := &specs.Spec{Linux: &specs.Linux{CgroupsPath: h.CgroupsPath(rc.id), Resources: res}}
	rc.cg, err = specconv.CreateCgroupConfig(&specconv.CreateOpts{CgroupName: rc.id, Spec: spec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.cg.Resources.SkipDevices = true // device rules are not this package's job
	if rc.m, err = manager.New(rc.cg); err != nil {
		t.Fatal(err)
	}

	// The child waits for a line on stdin, so it is in the cgroup before it
	// burns a little CPU and allocates (exec) — that is charged to the cgroup.
	rc.cmd = exec.Command("sh", "-c", `read x; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 30`)
	if rc.release, err = rc.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := rc.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat(filepath.Join(DefaultRoot, "memory", Parent))
	hadParent := statErr == nil
	t.Cleanup(func() {
		rc.kill()
		_ = rc.m.Destroy()
		_ = h.Cleanup(rc.id)
		assertGone(t, rc.id)
		if !hadParent { // we made /hako: remove it if nobody else uses it now
			if err := h.RemoveParent(); err != nil {
				t.Errorf("RemoveParent: %v", err)
			}
		}
	})
	if err := rc.m.Apply(rc.cmd.Process.Pid); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if err := rc.m.Set(rc.cg.Resources); err != nil {
		t.Fatalf("Set: %v", err)
	}
	return rc
}

// kill kills the child by its PID and reaps it.
func (rc *realCgroup) kill() {
	if rc.cmd.ProcessState == nil {
		_ = syscall.Kill(rc.cmd.Process.Pid, syscall.SIGKILL)
		_ = rc.cmd.Wait()
	}
}

// assertGone checks that no hierarchy has a /hako/test-* cgroup left.
func assertGone(t *testing.T, id string) {
	t.Helper()
	if m, _ := filepath.Glob("/sys/fs/cgroup/*/hako/test-*"); len(m) != 0 {
		t.Errorf("cgroups left behind: %v", m)
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/*/hako/" + id); len(m) != 0 {
		t.Errorf("cgroups of %s left behind: %v", id, m)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestRealCgroupLimitsAndStats(t *testing.T) {
	rc := newRealCgroup(t, Limits{Memory: 64 << 20, NanoCPUs: 5e8, CPUShares: 512, CpusetCpus: "0", PidsLimit: 32})
	pid := strconv.Itoa(rc.cmd.Process.Pid)
	root := "/sys/fs/cgroup"
	dir := func(ctrl string) string { return filepath.Join(root, ctrl, "hako", rc.id) }

	// The limits the kernel really holds.
	for file, want := range map[string]string{
		dir("memory") + "/memory.limit_in_bytes":       "67108864",
		dir("memory") + "/memory.memsw.limit_in_bytes": "134217728",
		dir("cpu") + "/cpu.cfs_quota_us":               "50000",
		dir("cpu") + "/cpu.cfs_period_us":              "100000",
		dir("cpu") + "/cpu.shares":                     "512",
		dir("cpuset") + "/cpuset.cpus":                 "0",
		dir("pids") + "/pids.max":                      "32",
	} {
		if got := readFile(t, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	// The child is in hako's cgroup in every hierarchy, including the unified one.
	for _, ctrl := range []string{"memory", "cpu", "cpuacct", "pids", "cpuset", "unified"} {
		procs := strings.Fields(readFile(t, dir(ctrl)+"/cgroup.procs"))
		if !slices.Contains(procs, pid) {
			t.Errorf("%s cgroup.procs = %v, want %s", ctrl, procs, pid)
		}
	}

	// Let the child run, then read its usage.
	rc.release.Close()
	var st Stats
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if st, err = rc.h.Stats(rc.id); err != nil {
			t.Fatal(err)
		}
		if st.CPUUsage > 0 && st.MemoryUsage > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("stats: %+v", st)
	if st.MemoryLimit != 64<<20 || st.Pids != 1 || st.PidsLimit != 32 || st.CPUUsage == 0 || st.MemoryUsage == 0 {
		t.Errorf("stats = %+v", st)
	}
	// Same numbers as libcontainer's own reader.
	ls, err := rc.m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	if ls.MemoryStats.Usage.Limit != st.MemoryLimit || ls.PidsStats.Current != st.Pids {
		t.Errorf("libcontainer stats differ: memory limit %d, pids %d", ls.MemoryStats.Usage.Limit, ls.PidsStats.Current)
	}

	rc.kill()
	if err := rc.m.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	assertGone(t, rc.id)
}

func TestRealCleanup(t *testing.T) {
	rc := newRealCgroup(t, Limits{Memory: 32 << 20, PidsLimit: 8})
	// A cgroup with a live process is refused, and the process is untouched.
	if err := rc.h.Cleanup(rc.id); err == nil {
		t.Error("Cleanup removed a cgroup with a live process")
	}
	if err := syscall.Kill(rc.cmd.Process.Pid, 0); err != nil {
		t.Errorf("child gone after Cleanup: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory/hako", rc.id)); err != nil {
		t.Errorf("busy cgroup removed: %v", err)
	}
	// Once the process is gone, Cleanup alone (no Destroy) removes every hierarchy's dir.
	rc.kill()
	if err := rc.h.Cleanup(rc.id); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	assertGone(t, rc.id)
	if _, err := rc.h.Stats(rc.id); err == nil {
		t.Error("Stats of a removed cgroup succeeded")
	}
}
