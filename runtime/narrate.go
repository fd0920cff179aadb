package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	ocgroups "github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-run/hako/cgroups"
)

// hako --debug tells each isolation step in plain words. The lines here
// describe what the spec and libcontainer's config ask for ("as
// configured"); trace.go adds what was measured while the container's
// init did it. Nothing here runs without --debug.

// debugSpec tells the isolation the spec asks for: namespaces, cgroup and
// limits, capabilities, seccomp, masked and read-only paths, mounts.
func (c *Container) debugSpec(spec *specs.Spec, o SpecOptions) {
	if c.debugf == nil {
		return
	}
	if l := spec.Linux; l != nil {
		c.debug("namespaces: %s (as configured)", describeNamespaces(l.Namespaces))
		c.debug("cgroup: %s, %s (as configured)", l.CgroupsPath, describeResources(l.Resources))
	}
	if p := spec.Process; p != nil && p.Capabilities != nil {
		c.debug("capabilities: %s (as configured)", describeCaps(p.Capabilities))
	}
	c.debug("seccomp: %s (as configured)", describeSeccomp(spec, o))
	if l := spec.Linux; l != nil {
		c.debug("masked paths: %d, each hidden behind /dev/null or an empty read-only tmpfs: %s (as configured)",
			len(l.MaskedPaths), strings.Join(l.MaskedPaths, " "))
		c.debug("read-only paths: %d, each bind-mounted read-only over itself: %s (as configured)",
			len(l.ReadonlyPaths), strings.Join(l.ReadonlyPaths, " "))
	}
	var ms []string
	for _, m := range spec.Mounts {
		s := m.Destination + " (" + m.Type
		if m.Type == "bind" {
			s += " of " + m.Source
		}
		if slices.Contains(m.Options, "ro") {
			s += ", ro"
		}
		ms = append(ms, s+")")
	}
	c.debug("mounts: made in the new mount namespace: %s (as configured)", strings.Join(ms, ", "))
	if spec.Process != nil {
		c.debug("process: %q as %d:%d in %s, no_new_privileges=%v", spec.Process.Args,
			spec.Process.User.UID, spec.Process.User.GID, spec.Process.Cwd, spec.Process.NoNewPrivileges)
	}
}

// allNamespaces are the kinds Linux has, in the order hako tells them.
var allNamespaces = []specs.LinuxNamespaceType{specs.MountNamespace, specs.NetworkNamespace, specs.UTSNamespace,
	specs.PIDNamespace, specs.IPCNamespace, specs.CgroupNamespace, specs.UserNamespace, specs.TimeNamespace}

// describeNamespaces: "new mount, uts, pid, ipc; joins network at PATH;
// the host's cgroup, user, time".
func describeNamespaces(ns []specs.LinuxNamespace) string {
	var made, joined, host []string
	for _, t := range allNamespaces {
		i := slices.IndexFunc(ns, func(n specs.LinuxNamespace) bool { return n.Type == t })
		switch {
		case i < 0:
			host = append(host, string(t))
		case ns[i].Path == "":
			made = append(made, string(t))
		default:
			joined = append(joined, string(t)+" at "+ns[i].Path)
		}
	}
	parts := []string{"new " + strings.Join(made, ", ")}
	if len(joined) > 0 {
		parts = append(parts, "joins "+strings.Join(joined, ", "))
	}
	if len(host) > 0 {
		parts = append(parts, "the host's "+strings.Join(host, ", "))
	}
	return strings.Join(parts, "; ")
}

// describeResources is the limits the spec asks for, in the spec's terms.
func describeResources(r *specs.LinuxResources) string {
	var l []string
	if r != nil {
		if m := r.Memory; m != nil {
			if m.Limit != nil {
				l = append(l, fmt.Sprintf("memory %d bytes", *m.Limit))
			}
			if m.Swap != nil {
				l = append(l, fmt.Sprintf("memory+swap %d bytes", *m.Swap))
			}
			if m.Reservation != nil {
				l = append(l, fmt.Sprintf("memory reservation %d bytes", *m.Reservation))
			}
		}
		if cp := r.CPU; cp != nil {
			if cp.Quota != nil && cp.Period != nil {
				l = append(l, fmt.Sprintf("cpu %dµs every %dµs", *cp.Quota, *cp.Period))
			}
			if cp.Shares != nil {
				l = append(l, fmt.Sprintf("cpu shares %d", *cp.Shares))
			}
			if cp.Cpus != "" {
				l = append(l, "cpus "+cp.Cpus)
			}
		}
		if p := r.Pids; p != nil && p.Limit != nil {
			l = append(l, fmt.Sprintf("pids %d", *p.Limit))
		}
	}
	if len(l) == 0 {
		return "no limits"
	}
	return "limits: " + strings.Join(l, ", ")
}

// describeCaps counts the bounding set against every capability this
// kernel has, and names both the kept and the dropped ones.
func describeCaps(caps *specs.LinuxCapabilities) string {
	all, err := capability.ListSupported()
	if err != nil {
		all = capability.ListKnown()
	}
	var dropped []string
	for _, c := range all {
		name := "CAP_" + strings.ToUpper(c.String())
		if !slices.Contains(caps.Bounding, name) {
			dropped = append(dropped, name)
		}
	}
	return fmt.Sprintf("%d of this kernel's %d kept (bounding set; %d effective): %s; %d dropped: %s",
		len(caps.Bounding), len(all), len(caps.Effective), orNone(strings.Join(caps.Bounding, " ")),
		len(dropped), orNone(strings.Join(dropped, " ")))
}

// describeSeccomp names the profile and counts what it lets through.
func describeSeccomp(spec *specs.Spec, o SpecOptions) string {
	var sc *specs.LinuxSeccomp
	if spec.Linux != nil {
		sc = spec.Linux.Seccomp
	}
	if sc == nil {
		why := "--security-opt seccomp=unconfined"
		if o.Privileged {
			why = "--privileged"
		}
		return "none (" + why + "): every system call is allowed"
	}
	name := "Docker's default profile (built in)"
	if o.SeccompProfile != "" {
		name = o.SeccompProfile
	}
	allowed, conditional, other := 0, 0, 0
	for _, r := range sc.Syscalls {
		switch {
		case r.Action == specs.ActAllow && len(r.Args) > 0:
			conditional += len(r.Names)
		case r.Action == specs.ActAllow:
			allowed += len(r.Names)
		default:
			other += len(r.Names)
		}
	}
	deflt := string(sc.DefaultAction)
	if sc.DefaultErrnoRet != nil {
		deflt += " errno " + strconv.Itoa(int(*sc.DefaultErrnoRet))
	} else if sc.DefaultAction == specs.ActErrno {
		deflt += " (EPERM)"
	}
	return fmt.Sprintf("%s: %d system calls allowed, %d more allowed only with certain arguments, %d named with another action; any other call: %s; architectures %s",
		name, allowed, conditional, other, deflt, strings.Join(archNames(sc.Architectures), " "))
}

func archNames(as []specs.Arch) []string {
	var s []string
	for _, a := range as {
		s = append(s, strings.TrimPrefix(strings.ToLower(string(a)), "scmp_arch_"))
	}
	return s
}

// debugDevices tells the device nodes libcontainer creates in /dev and
// the device cgroup rules it installs (after specconv added its defaults).
func (c *Container) debugDevices(cfg *configs.Config) {
	var nodes []string
	for _, d := range cfg.Devices {
		nodes = append(nodes, fmt.Sprintf("%s (%c %d:%d)", d.Path, d.Type, d.Major, d.Minor))
	}
	c.debug("devices: %d nodes created in /dev: %s (as configured)", len(nodes), strings.Join(nodes, ", "))
	if cfg.Cgroups == nil || cfg.Cgroups.Resources == nil {
		return
	}
	var rules []string
	for _, r := range cfg.Cgroups.Resources.Devices {
		verb := "deny"
		if r.Allow {
			verb = "allow"
		}
		rules = append(rules, verb+" "+r.CgroupString())
	}
	how := "devices.allow and devices.deny files"
	if c.cg.Mode == cgroups.V2 {
		how = "an eBPF program attached to the cgroup"
	}
	c.debug("device cgroup rules, in %s: %s (as configured)", how, strings.Join(rules, ", "))
}

// limitFiles are the cgroup files holding the limits r sets, on this host.
func limitFiles(h *cgroups.Host, id string, r *ocgroups.Resources) []string {
	if r == nil {
		return nil
	}
	v2 := h.Mode == cgroups.V2
	pick := func(v1, v2name string) string {
		if v2 {
			return v2name
		}
		return v1
	}
	var files []string
	add := func(ctrl, file string) {
		if d := h.Dir(ctrl, id); d != "" && file != "" {
			files = append(files, filepath.Join(d, file))
		}
	}
	if r.Memory != 0 {
		add("memory", pick("memory.limit_in_bytes", "memory.max"))
	}
	if r.MemorySwap != 0 {
		add("memory", pick("memory.memsw.limit_in_bytes", "memory.swap.max"))
	}
	if r.MemoryReservation != 0 {
		add("memory", pick("memory.soft_limit_in_bytes", "memory.low"))
	}
	if r.CpuQuota != 0 {
		if v2 {
			add("cpu", "cpu.max")
		} else {
			add("cpu", "cpu.cfs_quota_us")
			add("cpu", "cpu.cfs_period_us")
		}
	}
	if r.CpuShares != 0 {
		add("cpu", pick("cpu.shares", "cpu.weight"))
	}
	if r.CpusetCpus != "" {
		add("cpuset", "cpuset.cpus")
	}
	if r.PidsLimit != nil {
		add("pids", "pids.max")
	}
	if !v2 {
		add("devices", "devices.list")
	}
	return files
}

// readLimits reads the files back, grouped by directory:
// "/sys/fs/cgroup/memory/hako/ID: memory.limit_in_bytes=67108864; …" (a
// file of several lines, as devices.list, joined with ", ").
func readLimits(files []string) string {
	var out []string
	dir := ""
	for _, f := range files {
		v := "(unreadable)"
		if b, err := os.ReadFile(f); err == nil {
			v = strings.Join(strings.Split(strings.TrimSpace(string(b)), "\n"), ", ")
		}
		kv := filepath.Base(f) + "=" + v
		if d := filepath.Dir(f); d != dir {
			dir = d
			kv = "in " + d + ": " + kv
		}
		out = append(out, kv)
	}
	return strings.Join(out, "; ")
}

// overlayOptions is how the kernel shows the overlay mounted at target
// (its mountinfo super options), without the directories: "rw,
// redirect_dir=off,index=off,…".
func overlayOptions(target string) string {
	b, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS … - TYPE SOURCE SUPEROPTS
		f := strings.Fields(line)
		i := slices.Index(f, "-")
		if len(f) < 5 || i < 0 || len(f) < i+4 || f[4] != target || f[i+1] != "overlay" {
			continue
		}
		var opts []string
		for _, o := range strings.Split(f[i+3], ",") {
			k, _, _ := strings.Cut(o, "=")
			if k != "lowerdir" && k != "upperdir" && k != "workdir" && k != "lowerdir+" {
				opts = append(opts, o)
			}
		}
		return strings.Join(opts, ",")
	}
	return "unknown"
}

// Debugging reports whether the container tells its steps (hako --debug):
// its monitor then tells them too, until the container runs.
func (c *Container) Debugging() bool { return c.debugf != nil }

// SetDebugf sets (nil: stops) where the container tells its steps.
func (c *Container) SetDebugf(f func(format string, args ...any)) { c.debugf = f }
