package runccompat

import (
	"fmt"
	"strings"

	"github.com/opencontainers/cgroups/systemd"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// checkCgroupDriver refuses, before anything is made, the two mismatches
// between the cgroup driver and the spec's cgroupsPath that would otherwise
// fail late or put the container somewhere odd: --systemd-cgroup where
// systemd does not run (runc's own words, so the shim's error reads the
// same), and systemd's slice:prefix:name form without --systemd-cgroup
// (cgroupfs would take it as a relative directory named with colons).
func checkCgroupDriver(useSystemd bool, spec *specs.Spec) error {
	path := ""
	if spec.Linux != nil {
		path = spec.Linux.CgroupsPath
	}
	if useSystemd {
		if !systemd.IsRunningSystemd() {
			return fmt.Errorf("systemd not running on this host, cannot use systemd cgroups manager (--systemd-cgroup; cgroupsPath %q): drop the flag (SystemdCgroup = false in containerd's runc options) and give cgroupsPath as a cgroupfs path", path)
		}
		return nil
	}
	if isSlicePath(path) {
		return fmt.Errorf("cgroupsPath %q is systemd's slice:prefix:name form, which needs --systemd-cgroup (SystemdCgroup = true in containerd's runc options); without it give a cgroupfs path such as /kubepods/pod1/ctr1", path)
	}
	return nil
}

// isSlicePath reports whether p has systemd's slice:prefix:name form, as
// kubelet's and containerd's systemd cgroup driver write it.
func isSlicePath(p string) bool {
	parts := strings.Split(p, ":")
	return len(parts) == 3 && strings.HasSuffix(parts[0], ".slice") && !strings.Contains(parts[0], "/")
}
