package cgroups

import (
	"reflect"
	"sort"
	"testing"
)

func keys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func TestDetectFake(t *testing.T) {
	tests := []struct {
		name        string
		fake        func(t *testing.T) *fakeHost
		mode        Mode
		controllers []string
		swap        bool
		cpus        string
	}{
		{"v1", fakeV1, V1, []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"}, true, "0-3"},
		{"hybrid", fakeHybrid, Hybrid, []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"}, true, "0-3"},
		{"pi os v1 without memory", fakePiOS, V1, []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "pids"}, false, "0-3"},
		{"v2", func(t *testing.T) *fakeHost {
			f := newFake(t)
			f.v2("cpuset cpu io memory hugetlb pids rdma misc", true)
			return f
		}, V2, []string{"cpu", "cpuset", "hugetlb", "io", "memory", "misc", "pids", "rdma"}, true, "0-3"},
		{"v2 without memory", func(t *testing.T) *fakeHost {
			f := newFake(t)
			f.v2("cpu io pids", true)
			return f
		}, V2, []string{"cpu", "io", "pids"}, false, ""},
		{"v2 without swap accounting", func(t *testing.T) *fakeHost {
			f := newFake(t)
			f.v2("cpuset cpu memory pids", false)
			return f
		}, V2, []string{"cpu", "cpuset", "memory", "pids"}, false, "0-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.fake(t).detect()
			if h.Mode != tt.mode {
				t.Errorf("mode = %v, want %v", h.Mode, tt.mode)
			}
			if got := keys(h.Controllers); !reflect.DeepEqual(got, tt.controllers) {
				t.Errorf("controllers = %v, want %v", got, tt.controllers)
			}
			if h.SwapAccounting != tt.swap {
				t.Errorf("swap accounting = %v, want %v", h.SwapAccounting, tt.swap)
			}
			if h.CpusetCpus != tt.cpus {
				t.Errorf("cpuset cpus = %q, want %q", h.CpusetCpus, tt.cpus)
			}
		})
	}
}

func TestDetectHierarchies(t *testing.T) {
	f := fakeHybrid(t)
	h := f.detect()
	got := h.hierarchies()
	want := []string{}
	for _, d := range append(standardV1, "systemd", "unified") {
		want = append(want, f.root+"/"+d)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hierarchies = %v, want %v", got, want)
	}
	if d := h.dir("name=systemd", "x"); d != f.root+"/systemd/hako/x" {
		t.Errorf("name=systemd dir = %q", d)
	}

	// A co-mounted cpu,cpuacct hierarchy serves both controllers.
	p := fakePiOS(t)
	hp := p.detect()
	if a, b := hp.dir("cpu", "x"), hp.dir("cpuacct", "x"); a != b || a != p.root+"/cpu,cpuacct/hako/x" {
		t.Errorf("cpu dir %q, cpuacct dir %q", a, b)
	}
	if d := hp.dir("memory", "x"); d != "" {
		t.Errorf("memory dir on a host without memory = %q", d)
	}
}

func TestPaths(t *testing.T) {
	if got := Path("abc"); got != "/hako/abc" {
		t.Errorf("Path = %q", got)
	}
	h := &Host{Mode: V2, Root: "/sys/fs/cgroup"}
	if got := h.CgroupsPath("abc"); got != "/hako/abc" {
		t.Errorf("CgroupsPath = %q", got)
	}
	if got := h.dir("memory", "abc"); got != "/sys/fs/cgroup/hako/abc" {
		t.Errorf("v2 dir = %q", got)
	}
	h.Systemd = true
	if got := h.CgroupsPath("abc"); got != "hako.slice:hako:abc" {
		t.Errorf("systemd CgroupsPath = %q", got)
	}
	if got := h.dir("", "abc"); got != "/sys/fs/cgroup/hako.slice/hako-abc.scope" {
		t.Errorf("systemd v2 dir = %q", got)
	}
}
