package cgroups

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseMemory(t *testing.T) {
	good := map[string]int64{
		"100b": 100, "100": 100, "512k": 512 << 10, "64m": 64 << 20, "64M": 64 << 20, "1g": 1 << 30,
		"1.5g": 3 << 29, "2GB": 2 << 30, "2GiB": 2 << 30, "1 kb": 1024, "1t": 1 << 40, "0": 0,
	}
	for in, want := range good {
		got, err := ParseMemory(in)
		if err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1", "-64m", "12x", "1gbb", "1bb", "1.2.3m", "1e3", "0x10", "1_0", "99999999999p"} {
		if got, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) = %d, want an error", in, got)
		}
	}
	if got, err := ParseMemorySwap("-1"); err != nil || got != -1 {
		t.Errorf("ParseMemorySwap(-1) = %d, %v", got, err)
	}
	if got, err := ParseMemorySwap("128m"); err != nil || got != 128<<20 {
		t.Errorf("ParseMemorySwap(128m) = %d, %v", got, err)
	}
}

func TestParseCPUs(t *testing.T) {
	good := map[string]int64{"1.5": 1.5e9, "0.01": 1e7, "2": 2e9, "0.000000001": 1, "3/2": 1.5e9}
	for in, want := range good {
		got, err := ParseCPUs(in)
		if err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "0.0000000001", "1e30"} {
		if got, err := ParseCPUs(in); err == nil {
			t.Errorf("ParseCPUs(%q) = %d, want an error", in, got)
		}
	}
}

// js renders resources as JSON, the form runc reads, for readable comparisons.
func js(t *testing.T, r *specs.LinuxResources) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestResources(t *testing.T) {
	hybrid := fakeHybrid(t).detect() // NumCPU 4, cpuset 0-3, swap accounting
	tests := []struct {
		name string
		l    Limits
		want string
	}{
		{"nothing", Limits{}, "null"},
		{"memory sets swap to twice memory", Limits{Memory: 64 << 20},
			`{"memory":{"limit":67108864,"swap":134217728}}`},
		{"explicit swap", Limits{Memory: 64 << 20, MemorySwap: 100 << 20},
			`{"memory":{"limit":67108864,"swap":104857600}}`},
		{"swap equal to memory disables swap", Limits{Memory: 64 << 20, MemorySwap: 64 << 20},
			`{"memory":{"limit":67108864,"swap":67108864}}`},
		{"unlimited swap", Limits{Memory: 64 << 20, MemorySwap: -1},
			`{"memory":{"limit":67108864,"swap":-1}}`},
		{"reservation", Limits{Memory: 64 << 20, MemoryReservation: 32 << 20},
			`{"memory":{"limit":67108864,"reservation":33554432,"swap":134217728}}`},
		{"reservation alone", Limits{MemoryReservation: 32 << 20},
			`{"memory":{"reservation":33554432}}`},
		{"cpus", Limits{NanoCPUs: 1.5e9},
			`{"cpu":{"quota":150000,"period":100000}}`},
		{"smallest cpus", Limits{NanoCPUs: 1e7},
			`{"cpu":{"quota":1000,"period":100000}}`},
		{"all cpus", Limits{NanoCPUs: 4e9},
			`{"cpu":{"quota":400000,"period":100000}}`},
		{"quota and period", Limits{CPUQuota: 50000, CPUPeriod: 200000},
			`{"cpu":{"quota":50000,"period":200000}}`},
		{"unlimited quota", Limits{CPUQuota: -1},
			`{"cpu":{"quota":-1}}`},
		{"shares", Limits{CPUShares: 512}, `{"cpu":{"shares":512}}`},
		{"shares clamped low", Limits{CPUShares: 1}, `{"cpu":{"shares":2}}`},
		{"shares clamped high", Limits{CPUShares: 1 << 20}, `{"cpu":{"shares":262144}}`},
		{"cpuset", Limits{CpusetCpus: "0,2-3", CpusetMems: "0"}, `{"cpu":{"cpus":"0,2-3","mems":"0"}}`},
		{"pids", Limits{PidsLimit: 100}, `{"pids":{"limit":100}}`},
		{"unlimited pids", Limits{PidsLimit: -1}, `{"pids":{"limit":-1}}`},
		{"everything", Limits{Memory: 1 << 30, NanoCPUs: 5e8, CPUShares: 256, CpusetCpus: "1", PidsLimit: 2048},
			`{"memory":{"limit":1073741824,"swap":2147483648},"cpu":{"shares":256,"quota":50000,"period":100000,"cpus":"1"},"pids":{"limit":2048}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, warnings, err := hybrid.Resources(tt.l)
			if err != nil {
				t.Fatalf("Resources: %v", err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if got := js(t, r); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestResourcesV2(t *testing.T) {
	f := newFake(t)
	f.v2("cpuset cpu io memory pids", true)
	r, warnings, err := f.detect().Resources(Limits{Memory: 64 << 20, NanoCPUs: 2e9, CpusetCpus: "3", PidsLimit: 10})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Resources: %v %q", err, warnings)
	}
	want := `{"memory":{"limit":67108864,"swap":134217728},"cpu":{"quota":200000,"period":100000,"cpus":"3"},"pids":{"limit":10}}`
	if got := js(t, r); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestResourcesNoSwapAccounting(t *testing.T) {
	f := newFake(t)
	f.v2("cpu memory pids", false)
	h := f.detect()
	r, warnings, err := h.Resources(Limits{Memory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := js(t, r); got != `{"memory":{"limit":67108864}}` {
		t.Errorf("got %s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no swap accounting") {
		t.Errorf("warnings = %q", warnings)
	}
	// Unlimited swap needs no accounting: no warning.
	r, warnings, err = h.Resources(Limits{Memory: 64 << 20, MemorySwap: -1})
	if err != nil || len(warnings) != 0 || js(t, r) != `{"memory":{"limit":67108864,"swap":-1}}` {
		t.Errorf("unlimited swap: %s %q %v", js(t, r), warnings, err)
	}
}

const memoryHint = "--memory needs the memory cgroup controller, which this kernel has disabled: add cgroup_enable=memory cgroup_memory=1 to the kernel command line (/boot/firmware/cmdline.txt on Raspberry Pi OS) and reboot"

func TestResourcesMemoryMissing(t *testing.T) {
	pi := fakePiOS(t).detect()
	v2 := newFake(t)
	v2.v2("cpu io pids", true)
	for name, h := range map[string]*Host{"pi os v1": pi, "v2": v2.detect()} {
		_, _, err := h.Resources(Limits{Memory: 64 << 20})
		if err == nil || err.Error() != memoryHint {
			t.Errorf("%s: err = %v\nwant %s", name, err, memoryHint)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line", name)
		}
		// Limits that do not need the memory controller still work there.
		r, _, err := h.Resources(Limits{NanoCPUs: 1e9, PidsLimit: 50})
		if err != nil || js(t, r) != `{"cpu":{"quota":100000,"period":100000},"pids":{"limit":50}}` {
			t.Errorf("%s: cpus+pids: %s %v", name, js(t, r), err)
		}
	}
	if _, _, err := pi.Resources(Limits{MemoryReservation: 64 << 20}); err == nil || !strings.HasPrefix(err.Error(), "--memory-reservation needs the memory cgroup controller") {
		t.Errorf("reservation: %v", err)
	}
}

func TestResourcesErrors(t *testing.T) {
	h := fakeHybrid(t).detect()
	noPids := fakeHybrid(t).detect()
	delete(noPids.Controllers, "pids")
	noCPU := fakeHybrid(t).detect()
	delete(noCPU.Controllers, "cpu")
	tests := []struct {
		name string
		h    *Host
		l    Limits
		want string
	}{
		{"too many cpus", h, Limits{NanoCPUs: 4.5e9}, "range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"},
		{"too few cpus", h, Limits{NanoCPUs: 1e6}, "range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"},
		{"negative cpus", h, Limits{NanoCPUs: -1}, "range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"},
		{"cpus and quota", h, Limits{NanoCPUs: 1e9, CPUQuota: 50000}, "conflicting options: --cpus and --cpu-quota/--cpu-period cannot both be set"},
		{"cpus and period", h, Limits{NanoCPUs: 1e9, CPUPeriod: 50000}, "conflicting options: --cpus and --cpu-quota/--cpu-period cannot both be set"},
		{"small period", h, Limits{CPUPeriod: 999}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
		{"large period", h, Limits{CPUPeriod: 1000001}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
		{"small quota", h, Limits{CPUQuota: 999}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
		{"small memory", h, Limits{Memory: 6<<20 - 1}, "minimum memory limit allowed is 6MB"},
		{"small reservation", h, Limits{MemoryReservation: 1 << 20}, "minimum memory reservation allowed is 6MB"},
		{"swap without memory", h, Limits{MemorySwap: 1 << 30}, "--memory-swap needs --memory as well"},
		{"swap below memory", h, Limits{Memory: 64 << 20, MemorySwap: 32 << 20}, "--memory-swap must be at least --memory (it is memory plus swap)"},
		{"reservation above memory", h, Limits{Memory: 64 << 20, MemoryReservation: 128 << 20}, "--memory-reservation must not be more than --memory"},
		{"negative memory", h, Limits{Memory: -5}, "memory limits cannot be negative"},
		{"cpuset not on host", h, Limits{CpusetCpus: "0-4"}, "--cpuset-cpus 0-4 is not available: this host has 0-3"},
		{"mems not on host", h, Limits{CpusetMems: "1"}, "--cpuset-mems 1 is not available: this host has 0"},
		{"bad cpuset", h, Limits{CpusetCpus: "3-1"}, `invalid value "3-1" for --cpuset-cpus: bad range "3-1"`},
		{"bad pids", h, Limits{PidsLimit: -2}, "--pids-limit must be positive, or -1 for unlimited"},
		{"no pids controller", noPids, Limits{PidsLimit: 10}, "--pids-limit needs the pids cgroup controller, which this host does not have"},
		{"no cpu controller", noCPU, Limits{CPUShares: 100}, "--cpu-shares needs the cpu cgroup controller, which this host does not have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _, err := tt.h.Resources(tt.l)
			if err == nil {
				t.Fatalf("got %s, want error %q", js(t, r), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("err  %q\nwant %q", err, tt.want)
			}
		})
	}
	// Unlimited pids on a host without the controller is no limit, not an error.
	if r, _, err := noPids.Resources(Limits{PidsLimit: -1}); err != nil || r != nil {
		t.Errorf("unlimited pids without controller: %v %v", r, err)
	}
}
