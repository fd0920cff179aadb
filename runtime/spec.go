package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/capability"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	// DefaultPathEnv is the PATH a container gets when neither the image
	// nor the user sets one (Docker's value).
	DefaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// DefaultShmSize is the size of /dev/shm when none is given (64 MiB).
	DefaultShmSize = 64 * 1024 * 1024
)

// DeviceRequest is one parsed --device HOST[:CTR[:rwm]] flag.
type DeviceRequest struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string // a combination of r, w, m
}

// SpecOptions are the user's flags and the caller's prepared resources
// that, together with the image config, make a container's OCI spec.
type SpecOptions struct {
	ID, Hostname string // hostname default: first 12 chars of ID
	RootfsPath   string // absolute, the merged overlay mount
	// Entrypoint is the --entrypoint override. Non-nil replaces the image's
	// entrypoint and drops the image's Cmd; []string{""} resets it to empty.
	Entrypoint *[]string
	Cmd        []string // args after IMAGE; replace the image Cmd when non-empty
	Env        []string // -e/--env-file, resolved to KEY=V
	WorkingDir string   // -w
	User       string   // -u name|uid[:gid|group]
	Tty        bool
	// OpenStdin (-i) does not change the spec; it is here so the caller
	// has one place for the run flags.
	OpenStdin       bool
	Privileged      bool
	CapAdd, CapDrop []string // names with or without CAP_, "ALL" supported
	// SeccompProfile is "" (Docker's default profile), "unconfined", or
	// the path of a Docker-format JSON profile.
	SeccompProfile string
	// AppArmorProfile is --security-opt apparmor= ("" = not given); Create
	// replaces it with the profile chosen for the host (apparmor.Choose),
	// which BuildSpec puts in the spec ("" = none).
	AppArmorProfile string
	NoNewPrivileges bool
	// UnconfinedSystemPaths (--security-opt systempaths=unconfined) leaves
	// /proc and /sys unmasked and writable, as Docker does.
	UnconfinedSystemPaths bool
	ReadOnly              bool
	Tmpfs                 map[string]string // path -> options ("rw,noexec,size=64m")
	Mounts                []specs.Mount     // binds/volumes prepared by the caller
	Devices               []DeviceRequest
	Resources             *specs.LinuxResources // may be nil
	CgroupsPath           string                // default "/hako/<id>"
	NetNSPath             string                // netns to join; "" = a new one
	HostNetwork           bool                  // no network namespace
	Ulimits               []specs.POSIXRlimit
	ShmSize               int64 // default 64 MiB
	// Files the caller generated, bind-mounted at /etc/hosts,
	// /etc/hostname and /etc/resolv.conf ("" = not mounted).
	HostsPath, HostnamePath, ResolvConfPath string

	// DeviceCgroupRules (--device-cgroup-rule) allow more devices in the
	// device cgroup, for devices made or passed in later.
	DeviceCgroupRules []specs.LinuxDeviceCgroup
	// GroupAdd (--group-add) are group names (looked up in the image's
	// /etc/group) or numbers added to the process's groups.
	GroupAdd []string
	// DNS, DNSSearch and DNSOptions (--dns, --dns-search, --dns-option)
	// replace those parts of the container's resolv.conf; ExtraHosts
	// (--add-host) are added to its /etc/hosts (dns.go).
	DNS, DNSSearch, DNSOptions []string
	ExtraHosts                 []ExtraHost
}

// dockerDefaultCaps is Docker's default capability set (CapEff 00000000a80425fb).
var dockerDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DefaultCapabilities returns Docker's default capability set.
func DefaultCapabilities() []string { return slices.Clone(dockerDefaultCaps) }

// dockerMaskedPaths and dockerReadonlyPaths are Docker's defaults.
var dockerMaskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

var dockerReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// isCgroup2Unified reports whether /sys/fs/cgroup is a cgroup2 mount. A
// variable so tests can exercise both layouts.
var isCgroup2Unified = func() bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return false
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC
}

// BuildSpec makes the OCI spec of a container from its image config and the
// user's options, with Docker's semantics and defaults. It reads the
// container's /etc/passwd and /etc/group under o.RootfsPath, and stats host
// devices, but changes nothing.
func BuildSpec(img ocispec.ImageConfig, o SpecOptions) (*specs.Spec, error) {
	if o.ID == "" {
		return nil, errors.New("building spec: empty container ID")
	}
	if !filepath.IsAbs(o.RootfsPath) {
		return nil, fmt.Errorf("building spec: rootfs path %q is not absolute", o.RootfsPath)
	}
	args, err := processArgs(img, o.Entrypoint, o.Cmd)
	if err != nil {
		return nil, err
	}
	cwd, err := workingDir(img.WorkingDir, o.WorkingDir)
	if err != nil {
		return nil, err
	}
	hostname, err := containerHostname(o)
	if err != nil {
		return nil, err
	}
	userSpec := o.User
	if userSpec == "" {
		userSpec = img.User
	}
	usr, home, err := ResolveUser(o.RootfsPath, userSpec)
	if err != nil {
		return nil, err
	}
	if err := addGroups(o.RootfsPath, &usr, o.GroupAdd); err != nil {
		return nil, err
	}
	caps, err := TweakCapabilities(dockerDefaultCaps, o.CapAdd, o.CapDrop, o.Privileged)
	if err != nil {
		return nil, err
	}

	oomScoreAdj := 0
	s := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: o.RootfsPath, Readonly: o.ReadOnly},
		Hostname: hostname,
		Process: &specs.Process{
			Terminal:        o.Tty,
			User:            usr,
			Args:            args,
			Env:             buildEnv(img.Env, o.Env, hostname, home, o.Tty),
			Cwd:             cwd,
			Capabilities:    processCapabilities(caps, usr.UID),
			NoNewPrivileges: o.NoNewPrivileges,
			ApparmorProfile: o.AppArmorProfile,
			OOMScoreAdj:     &oomScoreAdj,
			Rlimits:         slices.Clone(o.Ulimits),
		},
		Mounts: buildMounts(o),
		Linux: &specs.Linux{
			Namespaces:  namespaces(o),
			CgroupsPath: o.CgroupsPath,
			Sysctl:      sysctls(o.HostNetwork),
		},
	}
	if s.Linux.CgroupsPath == "" {
		s.Linux.CgroupsPath = "/hako/" + o.ID
	}
	if !o.Privileged && !o.UnconfinedSystemPaths {
		s.Linux.MaskedPaths = maskedPaths()
		s.Linux.ReadonlyPaths = slices.Clone(dockerReadonlyPaths)
	}
	if err := setDevices(s, o); err != nil {
		return nil, err
	}
	// The default profile is filtered by the bounding set, so this must
	// come after the capabilities.
	if s.Linux.Seccomp, err = seccompProfile(s, o.SeccompProfile, o.Privileged); err != nil {
		return nil, err
	}
	return s, nil
}

// processCapabilities puts caps in the bounding, effective and permitted
// sets, never inheritable or ambient (CVE-2022-24769). Like Docker (and
// execve), a non-root user gets them only in the bounding set.
func processCapabilities(caps []string, uid uint32) *specs.LinuxCapabilities {
	if uid != 0 {
		return &specs.LinuxCapabilities{Bounding: caps}
	}
	return &specs.LinuxCapabilities{
		Bounding:  caps,
		Effective: slices.Clone(caps),
		Permitted: slices.Clone(caps),
	}
}

// processArgs combines entrypoint and cmd as Docker does: the image's
// Entrypoint + Cmd; a CLI Cmd replaces the image's Cmd; --entrypoint
// replaces the Entrypoint and drops the image's Cmd.
func processArgs(img ocispec.ImageConfig, entrypoint *[]string, cmd []string) ([]string, error) {
	ep := img.Entrypoint
	if entrypoint != nil {
		ep = *entrypoint
	} else if len(cmd) == 0 {
		cmd = img.Cmd
	}
	// --entrypoint "" arrives as [""], which means no entrypoint at all.
	if len(ep) == 1 && ep[0] == "" {
		ep = nil
	}
	args := append(slices.Clone(ep), cmd...)
	if len(args) == 0 {
		return nil, errors.New("no command specified")
	}
	return args, nil
}

// workingDir picks -w over the image's WorkingDir, defaulting to "/".
func workingDir(imageDir, userDir string) (string, error) {
	dir := userDir
	if dir == "" {
		dir = imageDir
	}
	if dir == "" {
		return "/", nil
	}
	if !path.IsAbs(dir) {
		return "", fmt.Errorf("the working directory %q is invalid, it needs to be an absolute path", dir)
	}
	return path.Clean(dir), nil
}

// containerHostname is -h, or the host's name with host networking (as
// Docker), or the first 12 characters of the ID.
func containerHostname(o SpecOptions) (string, error) {
	if o.Hostname != "" {
		return o.Hostname, nil
	}
	if o.HostNetwork {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("reading host name: %w", err)
		}
		return h, nil
	}
	if len(o.ID) > 12 {
		return o.ID[:12], nil
	}
	return o.ID, nil
}

// buildEnv merges the environment as Docker does: the user's variables,
// then the image's whose keys the user did not set; all of them override
// the defaults PATH, HOSTNAME and (with a TTY) TERM=xterm. HOME comes from
// passwd unless set. An entry without "=" unsets that variable.
func buildEnv(imageEnv, userEnv []string, hostname, home string, tty bool) []string {
	merged := slices.Clone(userEnv)
	for _, kv := range imageEnv {
		if !slices.ContainsFunc(userEnv, func(u string) bool { return envKey(u) == envKey(kv) }) {
			merged = append(merged, kv)
		}
	}
	env := []string{"PATH=" + DefaultPathEnv, "HOSTNAME=" + hostname}
	if tty {
		env = append(env, "TERM=xterm")
	}
	env = replaceOrAppendEnv(env, merged)
	if !slices.ContainsFunc(env, func(kv string) bool { return envKey(kv) == "HOME" }) {
		env = append(env, "HOME="+home)
	}
	return env
}

func envKey(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k
}

// replaceOrAppendEnv overrides defaults by key, keeping their order, and
// appends new keys; "KEY" without "=" removes KEY.
func replaceOrAppendEnv(defaults, overrides []string) []string {
	env := slices.Clone(defaults)
	for _, kv := range overrides {
		k, _, hasValue := strings.Cut(kv, "=")
		i := slices.IndexFunc(env, func(e string) bool { return envKey(e) == k })
		switch {
		case !hasValue && i >= 0:
			env = slices.Delete(env, i, i+1)
		case !hasValue:
		case i >= 0:
			env[i] = kv
		default:
			env = append(env, kv)
		}
	}
	return env
}

// TweakCapabilities applies --cap-add, --cap-drop and --privileged to base
// as Docker does: privileged gets every capability this process may hold;
// "ALL" in add means all but the dropped ones; "ALL" in drop means only
// the added ones. Names may be lower case and lack the CAP_ prefix.
func TweakCapabilities(base, add, drop []string, privileged bool) ([]string, error) {
	if privileged {
		return availableCapabilities(), nil
	}
	if len(add) == 0 && len(drop) == 0 {
		return slices.Clone(base), nil
	}
	capDrop, err := normalizeCapabilities(drop)
	if err != nil {
		return nil, err
	}
	capAdd, err := normalizeCapabilities(add)
	if err != nil {
		return nil, err
	}

	var caps []string
	switch {
	case slices.Contains(capAdd, "ALL"):
		for _, c := range availableCapabilities() {
			if !slices.Contains(capDrop, c) {
				caps = append(caps, c)
			}
		}
	case slices.Contains(capDrop, "ALL"):
		caps = slices.Clone(capAdd)
	default:
		for _, c := range base {
			if !slices.Contains(capDrop, c) {
				caps = append(caps, c)
			}
		}
		caps = append(caps, capAdd...)
	}
	return dedupe(caps), nil
}

// normalizeCapabilities upper-cases names, adds CAP_ and checks each one
// is known and available here ("ALL" passes through).
func normalizeCapabilities(names []string) ([]string, error) {
	available := availableCapabilities()
	var out []string
	for _, n := range names {
		n = strings.ToUpper(n)
		if n == "ALL" {
			out = append(out, n)
			continue
		}
		if !strings.HasPrefix(n, "CAP_") {
			n = "CAP_" + n
		}
		if !slices.Contains(available, n) {
			if slices.Contains(knownCapabilities(), n) {
				return nil, fmt.Errorf("capability not supported by your kernel or not available in the current environment: %q", n)
			}
			return nil, fmt.Errorf("unknown capability: %q", n)
		}
		out = append(out, n)
	}
	return out, nil
}

func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }

// knownCapabilities lists every capability name the library knows.
func knownCapabilities() []string {
	var names []string
	for _, c := range capability.ListKnown() {
		names = append(names, capName(c))
	}
	return names
}

// availableCapabilities lists the capabilities the kernel supports and this
// process still has in its bounding set (Docker's "all capabilities").
func availableCapabilities() []string {
	supported, err := capability.ListSupported()
	if err != nil {
		supported = capability.ListKnown()
	}
	var names []string
	for _, c := range supported {
		if ok, err := capability.GetBound(c); err == nil && ok {
			names = append(names, capName(c))
		}
	}
	return names
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// namespaces are Docker's: mount, network (unless host networking; joined
// when a path is given), uts, pid, ipc, and cgroup on cgroup v2 hosts only.
func namespaces(o SpecOptions) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	if !o.HostNetwork {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: o.NetNSPath})
	}
	ns = append(ns,
		specs.LinuxNamespace{Type: specs.UTSNamespace},
		specs.LinuxNamespace{Type: specs.PIDNamespace},
		specs.LinuxNamespace{Type: specs.IPCNamespace},
	)
	if isCgroup2Unified() {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

// sysctls are those Docker sets in a container's own netns, so ping and
// low ports work without capabilities; skipped where the kernel lacks them.
func sysctls(hostNetwork bool) map[string]string {
	if hostNetwork {
		return nil
	}
	want := map[string]string{
		"net.ipv4.ping_group_range":           "0 2147483647",
		"net.ipv4.ip_unprivileged_port_start": "0",
	}
	out := map[string]string{}
	for k, v := range want {
		if _, err := os.Stat("/proc/sys/" + strings.ReplaceAll(k, ".", "/")); err == nil {
			out[k] = v
		}
	}
	return out
}

// maskedPaths is Docker's list plus, as current Docker does, each CPU's
// thermal_throttle directory where the host has one.
func maskedPaths() []string {
	paths := slices.Clone(dockerMaskedPaths)
	cpus, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle")
	return append(paths, cpus...)
}

// buildMounts returns Docker's default mounts, minus those the user's own
// mounts replace, then --tmpfs, the caller's mounts and the network files,
// ordered so that parents are mounted before their children.
func buildMounts(o SpecOptions) []specs.Mount {
	extra := tmpfsMounts(o.Tmpfs)
	extra = append(extra, o.Mounts...)
	extra = append(extra, networkFileMounts(o)...)

	taken := map[string]bool{}
	for _, m := range extra {
		taken[path.Clean(m.Destination)] = true
	}
	var mounts []specs.Mount
	for _, m := range defaultMounts(o) {
		if taken[m.Destination] || (taken["/dev"] && strings.HasPrefix(m.Destination, "/dev/")) {
			continue
		}
		mounts = append(mounts, m)
	}
	sort.SliceStable(extra, func(i, j int) bool {
		return mountDepth(extra[i].Destination) < mountDepth(extra[j].Destination)
	})
	return append(mounts, extra...)
}

func mountDepth(p string) int { return strings.Count(path.Clean(p), "/") }

// defaultMounts is Docker's DefaultLinuxSpec mount list. Privileged
// containers get /sys and the cgroup mount read-write.
func defaultMounts(o SpecOptions) []specs.Mount {
	shm := o.ShmSize
	if shm <= 0 {
		shm = DefaultShmSize
	}
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgroupOpts := []string{"ro", "nosuid", "noexec", "nodev"}
	if o.Privileged {
		sysOpts = sysOpts[:3]
		cgroupOpts[0] = "rw"
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgroupOpts},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(shm, 10)}},
	}
}

// tmpfsMounts turns --tmpfs into mounts, in path order for a stable spec.
func tmpfsMounts(tmpfs map[string]string) []specs.Mount {
	dests := make([]string, 0, len(tmpfs))
	for d := range tmpfs {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	var mounts []specs.Mount
	for _, d := range dests {
		opts := []string{"rw", "noexec", "nosuid", "nodev"}
		if tmpfs[d] != "" {
			opts = append(opts, strings.Split(tmpfs[d], ",")...)
		}
		mounts = append(mounts, specs.Mount{
			Destination: path.Clean(d), Type: "tmpfs", Source: "tmpfs", Options: mergeTmpfsOptions(opts),
		})
	}
	return mounts
}

// opposite flags: a later one replaces an earlier one (as Docker's
// MergeTmpfsOptions does), so "--tmpfs /x:exec" turns noexec off.
var tmpfsFlagGroup = map[string]string{
	"rw": "ro", "ro": "ro",
	"exec": "exec", "noexec": "exec",
	"suid": "suid", "nosuid": "suid",
	"dev": "dev", "nodev": "dev",
	"atime": "atime", "noatime": "atime",
	"diratime": "diratime", "nodiratime": "diratime",
	"relatime": "relatime", "norelatime": "relatime",
	"strictatime": "strictatime", "nostrictatime": "strictatime",
}

// mergeTmpfsOptions keeps the last of each flag pair and of each key=value,
// in order of first appearance.
func mergeTmpfsOptions(opts []string) []string {
	var out []string
	index := map[string]int{}
	for _, opt := range opts {
		if opt == "" {
			continue
		}
		group, ok := tmpfsFlagGroup[opt]
		if !ok {
			group, _, _ = strings.Cut(opt, "=")
		}
		if i, seen := index[group]; seen {
			out[i] = opt
			continue
		}
		index[group] = len(out)
		out = append(out, opt)
	}
	return out
}

// networkFileMounts bind-mounts the generated hosts, hostname and
// resolv.conf files; read-only with a read-only root, as Docker does. A
// file the user mounts there themselves (-v ./resolv.conf:/etc/resolv.conf)
// is theirs: Docker leaves it alone, and so does hako.
func networkFileMounts(o SpecOptions) []specs.Mount {
	files := []struct{ src, dst string }{
		{o.ResolvConfPath, "/etc/resolv.conf"},
		{o.HostnamePath, "/etc/hostname"},
		{o.HostsPath, "/etc/hosts"},
	}
	userMounted := map[string]bool{}
	for _, m := range o.Mounts {
		userMounted[path.Clean(m.Destination)] = true
	}
	for d := range o.Tmpfs {
		userMounted[path.Clean(d)] = true
	}
	var mounts []specs.Mount
	for _, f := range files {
		if f.src == "" || userMounted[f.dst] {
			continue
		}
		opts := []string{"rbind", "rprivate"}
		if o.ReadOnly {
			opts = append(opts, "ro")
		}
		mounts = append(mounts, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: opts})
	}
	return mounts
}

// dockerDeviceRules is Docker's device cgroup: deny all, allow the basic
// character devices, and deny fuse. specconv appends its own allow list.
func dockerDeviceRules() []specs.LinuxDeviceCgroup {
	rule := func(allow bool, major, minor int64) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: allow, Type: "c", Major: &major, Minor: &minor, Access: "rwm"}
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		rule(true, 1, 5),     // /dev/zero
		rule(true, 1, 3),     // /dev/null
		rule(true, 1, 9),     // /dev/urandom
		rule(true, 1, 8),     // /dev/random
		rule(true, 5, 0),     // /dev/tty
		rule(true, 5, 1),     // /dev/console
		rule(false, 10, 229), // /dev/fuse
	}
}

// setDevices fills Linux.Devices and the device cgroup rules. The caller's
// Resources are copied, not changed.
func setDevices(s *specs.Spec, o SpecOptions) error {
	res := specs.LinuxResources{}
	if o.Resources != nil {
		res = *o.Resources
	}
	s.Linux.Resources = &res

	if o.Privileged {
		devs, err := hostDevices("/dev", "/dev")
		if err != nil {
			return err
		}
		for _, d := range o.Devices {
			if d.PathOnHost == d.PathInContainer {
				continue // already there with all host devices
			}
			extra, _, err := devicesFromPath(d.PathOnHost, d.PathInContainer, "rwm")
			if err != nil {
				return err
			}
			devs = append(devs, extra...)
		}
		s.Linux.Devices = devs
		res.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		return nil
	}

	rules := dockerDeviceRules()
	for _, d := range o.Devices {
		devs, perms, err := devicesFromPath(d.PathOnHost, d.PathInContainer, d.CgroupPermissions)
		if err != nil {
			return err
		}
		s.Linux.Devices = append(s.Linux.Devices, devs...)
		rules = append(rules, perms...)
	}
	rules = append(rules, o.DeviceCgroupRules...)
	res.Devices = append(rules, res.Devices...)
	return nil
}

// ParseDevice parses --device HOST[:CONTAINER][:PERMISSIONS] as the Docker
// CLI does: the second field is the permissions if it is a valid rwm
// combination; the container path defaults to the host path.
func ParseDevice(s string) (DeviceRequest, error) {
	if strings.Count(s, ":") > 2 {
		return DeviceRequest{}, fmt.Errorf("invalid device specification: %s", s)
	}
	parts := strings.Split(s, ":")
	d := DeviceRequest{PathOnHost: parts[0], CgroupPermissions: "rwm"}
	if d.PathOnHost == "" {
		return DeviceRequest{}, fmt.Errorf("bad format for path: %s", s)
	}
	switch len(parts) {
	case 2:
		if validDeviceMode(parts[1]) {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		if !validDeviceMode(parts[2]) {
			return DeviceRequest{}, fmt.Errorf("bad mode specified: %s", parts[2])
		}
		d.PathInContainer, d.CgroupPermissions = parts[1], parts[2]
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	if !path.IsAbs(d.PathInContainer) {
		return DeviceRequest{}, fmt.Errorf("%s is not an absolute path", d.PathInContainer)
	}
	d.PathInContainer = path.Clean(d.PathInContainer)
	return d, nil
}

// validDeviceMode: a non-empty combination of r, w, m, each at most once.
func validDeviceMode(mode string) bool {
	if mode == "" {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range mode {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// errNotDevice marks a path that is not a character or block device.
var errNotDevice = errors.New("not a device node")

// deviceFromPath stats a host device (without following a final symlink).
func deviceFromPath(hostPath, ctrPath string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(hostPath, &st); err != nil {
		return specs.LinuxDevice{}, fmt.Errorf("stat %s: %w", hostPath, err)
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s: %w", hostPath, errNotDevice)
	}
	mode := fs.FileMode(st.Mode &^ unix.S_IFMT)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path:     ctrPath,
		Type:     typ,
		Major:    int64(unix.Major(uint64(st.Rdev))),
		Minor:    int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode,
		UID:      &uid,
		GID:      &gid,
	}, nil
}

// devicesFromPath resolves a --device request: a device node (symlinks
// followed, as Docker does) or a directory of them, mapped to the
// container path, with one cgroup rule per device.
func devicesFromPath(hostPath, ctrPath, perms string) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	resolved, err := filepath.EvalSymlinks(hostPath)
	if err != nil {
		return nil, nil, fmt.Errorf("error gathering device information while adding custom device %q: %w", hostPath, err)
	}
	var devs []specs.LinuxDevice
	if fi, err := os.Stat(resolved); err == nil && fi.IsDir() {
		devs, err = hostDevices(resolved, ctrPath)
		if err != nil {
			return nil, nil, err
		}
	} else {
		d, err := deviceFromPath(resolved, ctrPath)
		if err != nil {
			return nil, nil, fmt.Errorf("error gathering device information while adding custom device %q: %w", hostPath, err)
		}
		devs = append(devs, d)
	}
	if len(devs) == 0 {
		return nil, nil, fmt.Errorf("no devices found in %s", hostPath)
	}
	rules := make([]specs.LinuxDeviceCgroup, 0, len(devs))
	for _, d := range devs {
		major, minor := d.Major, d.Minor
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: perms})
	}
	return devs, rules, nil
}

// hostDevices lists the device nodes under dir (recursively), mapped under
// ctrDir, skipping what containerd's HostDevices skips: pts, shm, fd,
// mqueue, LXC/udev internals and the console.
func hostDevices(dir, ctrDir string) ([]specs.LinuxDevice, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing devices in %s: %w", dir, err)
	}
	var out []specs.LinuxDevice
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			switch name {
			case "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev":
				continue
			}
			sub, err := hostDevices(filepath.Join(dir, name), path.Join(ctrDir, name))
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		case name == "console":
			continue
		}
		d, err := deviceFromPath(filepath.Join(dir, name), path.Join(ctrDir, name))
		if errors.Is(err, errNotDevice) || errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// seccompProfile picks the seccomp filter: none for "unconfined" or a
// privileged container without an explicit profile, a Docker-format JSON
// file when a path is given, else Docker's default profile.
func seccompProfile(s *specs.Spec, profile string, privileged bool) (*specs.LinuxSeccomp, error) {
	switch {
	case profile == "unconfined":
		return nil, nil
	case profile == "":
		if privileged {
			return nil, nil
		}
		p, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			return nil, fmt.Errorf("loading default seccomp profile: %w", err)
		}
		return p, nil
	}
	body, err := os.ReadFile(profile)
	if err != nil {
		return nil, fmt.Errorf("reading seccomp profile: %w", err)
	}
	p, err := seccomp.LoadProfile(string(body), s)
	if err != nil {
		return nil, fmt.Errorf("loading seccomp profile %s: %w", profile, err)
	}
	return p, nil
}
