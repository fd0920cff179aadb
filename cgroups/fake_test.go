package cgroups

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeHost is a fake cgroupfs tree with its own /proc/self/cgroup and /proc/cgroups.
type fakeHost struct {
	t                       *testing.T
	root, selfCgroup, procs string
}

// v1Controllers are the controllers of a typical v1 /proc/cgroups.
var v1Controllers = []string{"cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls", "perf_event", "net_prio", "hugetlb", "pids"}

func newFake(t *testing.T) *fakeHost {
	dir := t.TempDir()
	f := &fakeHost{t: t, root: filepath.Join(dir, "cgroup"), selfCgroup: filepath.Join(dir, "self-cgroup"), procs: filepath.Join(dir, "cgroups")}
	if err := os.MkdirAll(f.root, 0o755); err != nil {
		t.Fatal(err)
	}
	f.file(f.selfCgroup, "0::/\n")
	return f
}

// file writes content to path, creating its directory.
func (f *fakeHost) file(path, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// at writes a file relative to the fake cgroup root.
func (f *fakeHost) at(rel, content string) { f.file(filepath.Join(f.root, rel), content) }

// procCgroups writes /proc/cgroups: v1 controllers mounted on a hierarchy,
// except those in disabled (enabled=0, as cgroup_disable=memory gives).
func (f *fakeHost) procCgroups(disabled ...string) {
	var b strings.Builder
	b.WriteString("#subsys_name\thierarchy\tnum_cgroups\tenabled\n")
	for i, c := range v1Controllers {
		enabled, hier := "1", i+1
		for _, d := range disabled {
			if d == c {
				enabled, hier = "0", 0
			}
		}
		b.WriteString(c + "\t" + strconv.Itoa(hier) + "\t1\t" + enabled + "\n")
	}
	f.file(f.procs, b.String())
}

// v1 builds a v1 tree with one directory per name (a "cpu,cpuacct" name is a
// co-mounted hierarchy), plus the name=systemd hierarchy.
func (f *fakeHost) v1(dirs ...string) {
	for _, d := range append(dirs, "systemd") {
		f.at(d+"/cgroup.procs", "")
	}
	for _, d := range dirs {
		switch d {
		case "memory":
			f.at("memory/memory.memsw.limit_in_bytes", "9223372036854771712\n")
		case "cpuset":
			f.at("cpuset/cpuset.effective_cpus", "0-3\n")
			f.at("cpuset/cpuset.effective_mems", "0\n")
		}
	}
}

var standardV1 = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}

// v2 builds a unified tree with the given controllers and a child cgroup
// (init.scope, where this "process" lives) that has memory files.
func (f *fakeHost) v2(controllers string, swap bool) {
	f.at("cgroup.controllers", controllers+"\n")
	f.at("cgroup.subtree_control", controllers+"\n")
	f.at("cgroup.procs", "")
	f.at("cpuset.cpus.effective", "0-3\n")
	f.at("cpuset.mems.effective", "0\n")
	f.at("init.scope/cgroup.procs", "1\n")
	if strings.Contains(controllers, "memory") {
		f.at("init.scope/memory.max", "max\n")
		if swap {
			f.at("init.scope/memory.swap.max", "max\n")
		}
	}
	f.file(f.selfCgroup, "0::/init.scope\n")
}

func (f *fakeHost) detect() *Host {
	f.t.Helper()
	h, err := DetectAt(f.root, f.selfCgroup, f.procs)
	if err != nil {
		f.t.Fatalf("DetectAt: %v", err)
	}
	h.NumCPU = 4
	return h
}

// fakeV1 is a v1 host with every controller; fakeHybrid adds Root/unified.
func fakeV1(t *testing.T) *fakeHost {
	f := newFake(t)
	f.procCgroups()
	f.v1(standardV1...)
	return f
}

func fakeHybrid(t *testing.T) *fakeHost {
	f := fakeV1(t)
	f.at("unified/cgroup.controllers", "")
	f.at("unified/cgroup.procs", "")
	f.file(f.selfCgroup, "1:cpu:/\n4:memory:/\n0::/\n")
	return f
}

// fakePiOS is a Raspberry Pi OS style v1 host: memory disabled on the kernel
// command line (so not mounted), cpu and cpuacct co-mounted.
func fakePiOS(t *testing.T) *fakeHost {
	f := newFake(t)
	f.procCgroups("memory")
	f.v1("cpu,cpuacct", "cpuset", "devices", "freezer", "blkio", "pids")
	return f
}
