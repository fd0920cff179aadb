package cgroups

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatsV1(t *testing.T) {
	f := fakeHybrid(t)
	f.at("memory/hako/c1/memory.usage_in_bytes", "10485760\n")
	f.at("memory/hako/c1/memory.limit_in_bytes", "67108864\n")
	f.at("memory/hako/c1/memory.stat", "cache 4096\nrss 8192\ninactive_file 1\ntotal_cache 4096\ntotal_inactive_file 2097152\n")
	f.at("cpuacct/hako/c1/cpuacct.usage", "123456789\n")
	f.at("pids/hako/c1/pids.current", "3\n")
	f.at("pids/hako/c1/pids.max", "32\n")
	got, err := f.detect().Stats("c1")
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{MemoryUsage: 8 << 20, MemoryLimit: 64 << 20, CPUUsage: 123456789, Pids: 3, PidsLimit: 32}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	// No limits: v1 reports a huge number for memory, "max" for pids.
	f.at("memory/hako/c2/memory.usage_in_bytes", "4096\n")
	f.at("memory/hako/c2/memory.limit_in_bytes", "9223372036854771712\n")
	f.at("memory/hako/c2/memory.stat", "total_inactive_file 0\n")
	f.at("pids/hako/c2/pids.current", "1\n")
	f.at("pids/hako/c2/pids.max", "max\n")
	got, err = f.detect().Stats("c2")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{MemoryUsage: 4096, Pids: 1}); got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestStatsV1CoMounted(t *testing.T) {
	f := fakePiOS(t) // no memory controller, cpu,cpuacct together
	f.at("cpu,cpuacct/hako/c1/cpuacct.usage", "42\n")
	f.at("pids/hako/c1/pids.current", "2\n")
	f.at("pids/hako/c1/pids.max", "max\n")
	got, err := f.detect().Stats("c1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{CPUUsage: 42, Pids: 2}); got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestStatsV2(t *testing.T) {
	f := newFake(t)
	f.v2("cpuset cpu io memory pids", true)
	f.at("hako/c1/memory.current", "10485760\n")
	f.at("hako/c1/memory.max", "67108864\n")
	f.at("hako/c1/memory.stat", "anon 8192\nfile 4096\nactive_file 0\ninactive_file 2097152\n")
	f.at("hako/c1/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
	f.at("hako/c1/pids.current", "4\n")
	f.at("hako/c1/pids.max", "max\n")
	got, err := f.detect().Stats("c1")
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{MemoryUsage: 8 << 20, MemoryLimit: 64 << 20, CPUUsage: 1500000, Pids: 4}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	// memory.max "max" is no limit.
	f.at("hako/c1/memory.max", "max\n")
	if got, err := f.detect().Stats("c1"); err != nil || got.MemoryLimit != 0 {
		t.Errorf("unlimited: %+v %v", got, err)
	}
}

func TestStatsErrors(t *testing.T) {
	for name, f := range map[string]*fakeHost{"v1": fakeV1(t), "v2": func() *fakeHost {
		f := newFake(t)
		f.v2("cpu memory pids", true)
		return f
	}()} {
		h := f.detect()
		if _, err := h.Stats("missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: missing cgroup: %v", name, err)
		}
		if _, err := h.Stats("../x"); err == nil || !strings.Contains(err.Error(), "invalid container id") {
			t.Errorf("%s: bad id: %v", name, err)
		}
	}
	f := fakeV1(t)
	f.at("pids/hako/c1/pids.current", "lots\n")
	f.at("pids/hako/c1/pids.max", "max\n")
	if _, err := f.detect().Stats("c1"); err == nil || !strings.Contains(err.Error(), "parsing pids.current") {
		t.Errorf("bad number: %v", err)
	}
}

func TestCleanupFake(t *testing.T) {
	f := fakeHybrid(t)
	h := f.detect()
	// Empty cgroup dirs (a real cgroup's files vanish with rmdir), one with a sub-cgroup.
	for _, d := range append(standardV1, "systemd", "unified") {
		if err := os.MkdirAll(filepath.Join(f.root, d, "hako/c1/sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(f.root, d, "hako/other"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Cleanup("c1"); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(f.root, "*/hako/c1")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(f.root, "*/hako/other")); len(m) != len(standardV1)+2 {
		t.Errorf("other container's cgroups touched: %v", m)
	}
	// Cleaning up again, or a container that never had a cgroup, is fine.
	if err := h.Cleanup("c1"); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
	// A non-empty parent stays.
	if err := h.RemoveParent(); err != nil {
		t.Errorf("RemoveParent with a container left: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(f.root, "*/hako")); len(m) != len(standardV1)+2 {
		t.Errorf("non-empty parents removed: %v", m)
	}
	if err := h.Cleanup("other"); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveParent(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(f.root, "*/hako")); len(m) != 0 {
		t.Errorf("parents left: %v", m)
	}
	if err := h.Cleanup("../memory"); err == nil {
		t.Error("Cleanup accepted a path as id")
	}
}

func TestCleanupBusy(t *testing.T) {
	f := newFake(t)
	f.v2("cpu memory pids", true)
	f.at("hako/c1/cgroup.procs", "1234\n") // a non-empty dir stands for a busy cgroup
	err := f.detect().Cleanup("c1")
	if err == nil || !strings.HasPrefix(err.Error(), "removing cgroup of container c1: ") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "hako/c1/cgroup.procs")); err != nil {
		t.Errorf("busy cgroup touched: %v", err)
	}
}
