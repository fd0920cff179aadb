package runtime

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestDescribeNamespaces: new, joined and the host's, each named.
func TestDescribeNamespaces(t *testing.T) {
	got := describeNamespaces([]specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: "/run/x/netns/1"},
	})
	want := "new mount, pid; joins network at /run/x/netns/1; the host's uts, ipc, cgroup, user, time"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestDescribeCapsAndSeccomp: kept and dropped add up to the kernel's set;
// the seccomp line names the profile and counts its calls.
func TestDescribeCapsAndSeccomp(t *testing.T) {
	s := describeCaps(&specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_KILL"}})
	if !strings.HasPrefix(s, "2 of this kernel's ") || !strings.Contains(s, "dropped: CAP_DAC_OVERRIDE") || strings.Contains(s, "dropped: CAP_CHOWN") {
		t.Errorf("capabilities: %q", s)
	}
	if s := describeCaps(&specs.LinuxCapabilities{}); !strings.Contains(s, "kept (bounding set; 0 effective): none;") {
		t.Errorf("no capabilities: %q", s)
	}
	spec := &specs.Spec{Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActAllow},
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0}}},
			{Names: []string{"ptrace"}, Action: specs.ActErrno},
		},
	}}}
	got := describeSeccomp(spec, SpecOptions{SeccompProfile: "/etc/p.json"})
	if !strings.HasPrefix(got, "/etc/p.json: 2 system calls allowed, 1 more allowed only with certain arguments, 1 named with another action; any other call: SCMP_ACT_ERRNO (EPERM)") {
		t.Errorf("seccomp: %q", got)
	}
	if got := describeSeccomp(&specs.Spec{Linux: &specs.Linux{}}, SpecOptions{Privileged: true}); got != "none (--privileged): every system call is allowed" {
		t.Errorf("privileged: %q", got)
	}
}
