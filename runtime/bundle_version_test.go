package runtime

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestBundleOCIVersion: hako's spec states v1.1.0 in a bundle (what it
// uses, and a version crun before 1.14.3 accepts); a spec with a field
// added later keeps the module's version.
func TestBundleOCIVersion(t *testing.T) {
	s := mustBuild(t, ocispec.ImageConfig{}, testOpts(t))
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultErrnoRet == nil {
		t.Fatal("hako's spec has no seccomp defaultErrnoRet: v1.0.2 may do")
	}
	if v := bundleOCIVersion(s); v != "1.1.0" {
		t.Errorf("hako's spec: %q, want 1.1.0", v)
	}
	later := []func(*specs.Spec){
		func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0"} },
		func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}} },
		func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolDefault} },
		func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{Schemata: []string{"L3:0=f"}} },
		func(s *specs.Spec) { s.Linux.Resources.Pids = &specs.LinuxPids{} },
	}
	for i, set := range later {
		s := mustBuild(t, ocispec.ImageConfig{}, testOpts(t))
		set(s)
		if v := bundleOCIVersion(s); v != specs.Version {
			t.Errorf("case %d: %q, want %q", i, v, specs.Version)
		}
	}
}
