package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runc/libcontainer/configs/validate"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const testID = "0123456789abcdef0123456789abcdef"

func testOpts(t *testing.T) SpecOptions {
	t.Helper()
	return SpecOptions{ID: testID, RootfsPath: userRootfs(t), Cmd: []string{"sh"}}
}

func mustBuild(t *testing.T, img ocispec.ImageConfig, o SpecOptions) *specs.Spec {
	t.Helper()
	s, err := BuildSpec(img, o)
	if err != nil {
		t.Fatalf("BuildSpec: %v", err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func TestProcessArgs(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/ep", "-x"}, Cmd: []string{"default", "arg"}}
	noEP := ocispec.ImageConfig{Cmd: []string{"/bin/sh"}}
	tests := []struct {
		name       string
		img        ocispec.ImageConfig
		entrypoint *[]string
		cmd        []string
		want       []string
		wantErr    string
	}{
		{name: "image entrypoint and cmd", img: img, want: []string{"/ep", "-x", "default", "arg"}},
		{name: "cli cmd replaces image cmd", img: img, cmd: []string{"other"}, want: []string{"/ep", "-x", "other"}},
		{name: "entrypoint resets image cmd", img: img, entrypoint: &[]string{"/new"}, want: []string{"/new"}},
		{name: "entrypoint with cli cmd", img: img, entrypoint: &[]string{"/new"}, cmd: []string{"a", "b"}, want: []string{"/new", "a", "b"}},
		{name: "empty entrypoint with cmd", img: img, entrypoint: &[]string{""}, cmd: []string{"ls", "-l"}, want: []string{"ls", "-l"}},
		{name: "empty entrypoint alone", img: img, entrypoint: &[]string{""}, wantErr: "no command specified"},
		{name: "nil-length entrypoint alone", img: img, entrypoint: &[]string{}, wantErr: "no command specified"},
		{name: "image cmd only", img: noEP, want: []string{"/bin/sh"}},
		{name: "cli cmd only", img: ocispec.ImageConfig{}, cmd: []string{"true"}, want: []string{"true"}},
		{name: "nothing", img: ocispec.ImageConfig{}, wantErr: "no command specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOpts(t)
			o.Entrypoint, o.Cmd = tt.entrypoint, tt.cmd
			s, err := BuildSpec(tt.img, o)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Process.Args, tt.want) {
				t.Errorf("args = %q, want %q", s.Process.Args, tt.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	const path = "PATH=" + DefaultPathEnv
	host := "HOSTNAME=0123456789ab"
	tests := []struct {
		name     string
		imageEnv []string
		userEnv  []string
		tty      bool
		user     string
		want     []string
	}{
		{name: "defaults", want: []string{path, host, "HOME=/root"}},
		{name: "tty", tty: true, want: []string{path, host, "TERM=xterm", "HOME=/root"}},
		{name: "image PATH wins over default", imageEnv: []string{"PATH=/img", "A=1"},
			want: []string{"PATH=/img", host, "A=1", "HOME=/root"}},
		{name: "user overrides image by key", imageEnv: []string{"A=1", "B=2"}, userEnv: []string{"B=user", "C=3"},
			want: []string{path, host, "B=user", "C=3", "A=1", "HOME=/root"}},
		{name: "user overrides TERM and HOSTNAME", tty: true, userEnv: []string{"TERM=vt100", "HOSTNAME=x"},
			want: []string{path, "HOSTNAME=x", "TERM=vt100", "HOME=/root"}},
		{name: "key without value unsets", imageEnv: []string{"A=1"}, userEnv: []string{"PATH"},
			want: []string{host, "A=1", "HOME=/root"}},
		{name: "empty value kept", userEnv: []string{"E="}, want: []string{path, host, "E=", "HOME=/root"}},
		{name: "HOME from passwd of user", user: "hako", want: []string{path, host, "HOME=/home/hako"}},
		{name: "HOME set by image", user: "hako", imageEnv: []string{"HOME=/data"}, want: []string{path, host, "HOME=/data"}},
		{name: "HOME for unknown uid", user: "4242", want: []string{path, host, "HOME=/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOpts(t)
			o.Env, o.Tty, o.User = tt.userEnv, tt.tty, tt.user
			s := mustBuild(t, ocispec.ImageConfig{Env: tt.imageEnv}, o)
			if !slices.Equal(s.Process.Env, tt.want) {
				t.Errorf("env = %q\nwant  %q", s.Process.Env, tt.want)
			}
			if s.Process.Terminal != tt.tty {
				t.Errorf("terminal = %v", s.Process.Terminal)
			}
		})
	}
}

func TestWorkingDir(t *testing.T) {
	tests := []struct {
		image, user, want, wantErr string
	}{
		{want: "/"},
		{image: "/app", want: "/app"},
		{image: "/app", user: "/srv//x/", want: "/srv/x"},
		{user: "rel", wantErr: `the working directory "rel" is invalid, it needs to be an absolute path`},
	}
	for _, tt := range tests {
		o := testOpts(t)
		o.WorkingDir = tt.user
		s, err := BuildSpec(ocispec.ImageConfig{WorkingDir: tt.image}, o)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%+v: err = %v", tt, err)
			}
			continue
		}
		if err != nil || s.Process.Cwd != tt.want {
			t.Errorf("%+v: cwd = %v, %v", tt, s, err)
		}
	}
}

func TestUserInSpec(t *testing.T) {
	tests := []struct {
		imageUser, user string
		want            specs.User
		wantErr         string
	}{
		{want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0}}},
		{imageUser: "hako", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 29}}},
		{imageUser: "hako", user: "0", want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0}}},
		{user: "1000:10", want: specs.User{UID: 1000, GID: 10, AdditionalGids: []uint32{10}}},
		{user: "ghost", wantErr: "unable to find user ghost: no matching entries in passwd file"},
	}
	for _, tt := range tests {
		o := testOpts(t)
		o.User = tt.user
		s, err := BuildSpec(ocispec.ImageConfig{User: tt.imageUser}, o)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%+v: err = %v", tt, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(s.Process.User, tt.want) {
			t.Errorf("%+v: user = %+v, %v", tt, s.Process.User, err)
		}
	}
}

// capMask turns names into the bit mask /proc/self/status shows.
func capMask(t *testing.T, names []string) uint64 {
	t.Helper()
	byName := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		byName[capName(c)] = c
	}
	var m uint64
	for _, n := range names {
		c, ok := byName[n]
		if !ok {
			t.Fatalf("unknown capability %q", n)
		}
		m |= 1 << uint(c)
	}
	return m
}

func TestDefaultCapabilities(t *testing.T) {
	s := mustBuild(t, ocispec.ImageConfig{}, testOpts(t))
	c := s.Process.Capabilities
	if got := capMask(t, c.Bounding); got != 0xa80425fb {
		t.Errorf("bounding mask = %016x, want 00000000a80425fb", got)
	}
	if !slices.Equal(c.Bounding, c.Effective) || !slices.Equal(c.Bounding, c.Permitted) {
		t.Errorf("sets differ: %+v", c)
	}
	if c.Inheritable != nil || c.Ambient != nil {
		t.Errorf("inheritable/ambient not empty: %+v", c)
	}
	if len(c.Bounding) != 14 {
		t.Errorf("%d caps", len(c.Bounding))
	}
}

// As Docker does since 23.0, a non-root user keeps the capabilities only in
// the bounding set, so its effective set is empty as after execve.
func TestNonRootCapabilities(t *testing.T) {
	o := testOpts(t)
	o.User = "hako"
	s := mustBuild(t, ocispec.ImageConfig{}, o)
	c := s.Process.Capabilities
	if capMask(t, c.Bounding) != 0xa80425fb || c.Effective != nil || c.Permitted != nil || c.Inheritable != nil || c.Ambient != nil {
		t.Errorf("caps = %+v", c)
	}
}

func TestTweakCapabilities(t *testing.T) {
	all := availableCapabilities()
	if !slices.Contains(all, "CAP_SYS_ADMIN") {
		t.Fatalf("test needs root with a full bounding set, have %v", all)
	}
	without := func(list []string, drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(c string) bool { return slices.Contains(drop, c) })
	}
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		want       []string
		wantErr    string
	}{
		{name: "default", want: dockerDefaultCaps},
		{name: "add short lower", add: []string{"sys_admin"}, want: append(slices.Clone(dockerDefaultCaps), "CAP_SYS_ADMIN")},
		{name: "add already present", add: []string{"CAP_CHOWN"}, want: dockerDefaultCaps},
		{name: "drop", drop: []string{"net_raw", "CAP_MKNOD"}, want: without(dockerDefaultCaps, "CAP_NET_RAW", "CAP_MKNOD")},
		{name: "drop all add one", drop: []string{"ALL"}, add: []string{"NET_BIND_SERVICE"}, want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "drop all", drop: []string{"all"}, want: nil},
		{name: "add all drop one", add: []string{"ALL"}, drop: []string{"SYS_ADMIN"}, want: without(all, "CAP_SYS_ADMIN")},
		{name: "privileged", privileged: true, drop: []string{"ALL"}, want: all},
		{name: "unknown", add: []string{"FLY"}, wantErr: `unknown capability: "CAP_FLY"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOpts(t)
			o.CapAdd, o.CapDrop, o.Privileged = tt.add, tt.drop, tt.privileged
			s, err := BuildSpec(ocispec.ImageConfig{}, o)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Process.Capabilities
			if !slices.Equal(got.Bounding, tt.want) || !slices.Equal(got.Effective, tt.want) || !slices.Equal(got.Permitted, tt.want) {
				t.Errorf("caps = %+v\nwant %v", got, tt.want)
			}
			if got.Inheritable != nil || got.Ambient != nil {
				t.Errorf("inheritable/ambient set: %+v", got)
			}
		})
	}
}

func nsTypes(ns []specs.LinuxNamespace) []specs.LinuxNamespaceType {
	var out []specs.LinuxNamespaceType
	for _, n := range ns {
		out = append(out, n.Type)
	}
	return out
}

func TestNamespaces(t *testing.T) {
	defer func(f func() bool) { isCgroup2Unified = f }(isCgroup2Unified)
	tests := []struct {
		name      string
		v2        bool
		netns     string
		host      bool
		want      []specs.LinuxNamespaceType
		wantNetNS string
	}{
		{name: "v1 new netns", want: []specs.LinuxNamespaceType{"mount", "network", "uts", "pid", "ipc"}},
		{name: "v2 adds cgroupns", v2: true, want: []specs.LinuxNamespaceType{"mount", "network", "uts", "pid", "ipc", "cgroup"}},
		{name: "join netns", netns: "/run/netns/x", want: []specs.LinuxNamespaceType{"mount", "network", "uts", "pid", "ipc"}, wantNetNS: "/run/netns/x"},
		{name: "host network", host: true, want: []specs.LinuxNamespaceType{"mount", "uts", "pid", "ipc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isCgroup2Unified = func() bool { return tt.v2 }
			o := testOpts(t)
			o.NetNSPath, o.HostNetwork, o.Hostname = tt.netns, tt.host, "h"
			s := mustBuild(t, ocispec.ImageConfig{}, o)
			if got := nsTypes(s.Linux.Namespaces); !slices.Equal(got, tt.want) {
				t.Errorf("namespaces = %v, want %v", got, tt.want)
			}
			for _, n := range s.Linux.Namespaces {
				if n.Type == specs.NetworkNamespace && n.Path != tt.wantNetNS {
					t.Errorf("netns path = %q", n.Path)
				}
			}
			if tt.host && len(s.Linux.Sysctl) != 0 {
				t.Errorf("sysctls with host network: %v", s.Linux.Sysctl)
			}
			if !tt.host && s.Linux.Sysctl["net.ipv4.ping_group_range"] != "0 2147483647" {
				t.Errorf("sysctls = %v", s.Linux.Sysctl)
			}
		})
	}
}

func TestCgroup2Detection(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Fatal(err)
	}
	if isCgroup2Unified() != (st.Type == unix.CGROUP2_SUPER_MAGIC) {
		t.Fatal("cgroup v2 detection disagrees with statfs")
	}
	s := mustBuild(t, ocispec.ImageConfig{}, testOpts(t))
	has := slices.Contains(nsTypes(s.Linux.Namespaces), specs.CgroupNamespace)
	if has != (st.Type == unix.CGROUP2_SUPER_MAGIC) {
		t.Errorf("cgroup namespace = %v on this host", has)
	}
}

func TestHostnameAndCgroupsPath(t *testing.T) {
	o := testOpts(t)
	s := mustBuild(t, ocispec.ImageConfig{}, o)
	if s.Hostname != "0123456789ab" || s.Linux.CgroupsPath != "/hako/"+testID {
		t.Errorf("hostname %q, cgroups %q", s.Hostname, s.Linux.CgroupsPath)
	}
	o.Hostname, o.CgroupsPath = "web", "/hako/custom"
	s = mustBuild(t, ocispec.ImageConfig{}, o)
	if s.Hostname != "web" || s.Linux.CgroupsPath != "/hako/custom" || !slices.Contains(s.Process.Env, "HOSTNAME=web") {
		t.Errorf("hostname %q, cgroups %q, env %q", s.Hostname, s.Linux.CgroupsPath, s.Process.Env)
	}
	o.Hostname, o.HostNetwork = "", true
	s = mustBuild(t, ocispec.ImageConfig{}, o)
	if h, _ := os.Hostname(); s.Hostname != h {
		t.Errorf("host network hostname %q, want %q", s.Hostname, h)
	}
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	s := mustBuild(t, ocispec.ImageConfig{}, testOpts(t))
	for _, p := range []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap"} {
		if !slices.Contains(s.Linux.MaskedPaths, p) {
			t.Errorf("%s not masked", p)
		}
	}
	for _, p := range s.Linux.MaskedPaths[12:] {
		if !strings.HasSuffix(p, "/thermal_throttle") {
			t.Errorf("unexpected masked path %s", p)
		}
	}
	wantRO := []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	if !slices.Equal(s.Linux.ReadonlyPaths, wantRO) {
		t.Errorf("readonly = %v", s.Linux.ReadonlyPaths)
	}

	o := testOpts(t)
	o.Privileged = true
	s = mustBuild(t, ocispec.ImageConfig{}, o)
	if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Errorf("privileged: masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
}

func findMount(s *specs.Spec, dest string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dest {
			return &s.Mounts[i]
		}
	}
	return nil
}

func TestDefaultMounts(t *testing.T) {
	s := mustBuild(t, ocispec.ImageConfig{}, testOpts(t))
	want := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
	}
	if !reflect.DeepEqual(s.Mounts, want) {
		t.Errorf("mounts =\n%+v\nwant\n%+v", s.Mounts, want)
	}
	if s.Root.Readonly || s.Root.Path == "" {
		t.Errorf("root = %+v", s.Root)
	}
}

func TestMountOptions(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(o *SpecOptions)
		check func(t *testing.T, s *specs.Spec)
	}{
		{"shm size", func(o *SpecOptions) { o.ShmSize = 1 << 20 }, func(t *testing.T, s *specs.Spec) {
			if m := findMount(s, "/dev/shm"); m == nil || !slices.Contains(m.Options, "size=1048576") {
				t.Errorf("shm = %+v", m)
			}
		}},
		{"privileged sys and cgroup rw", func(o *SpecOptions) { o.Privileged = true }, func(t *testing.T, s *specs.Spec) {
			if m := findMount(s, "/sys"); slices.Contains(m.Options, "ro") {
				t.Errorf("/sys = %v", m.Options)
			}
			if m := findMount(s, "/sys/fs/cgroup"); m.Options[0] != "rw" {
				t.Errorf("cgroup = %v", m.Options)
			}
		}},
		{"read-only root", func(o *SpecOptions) { o.ReadOnly = true; o.HostsPath = "/h" }, func(t *testing.T, s *specs.Spec) {
			if !s.Root.Readonly {
				t.Error("root writable")
			}
			if m := findMount(s, "/etc/hosts"); !slices.Contains(m.Options, "ro") {
				t.Errorf("hosts = %v", m.Options)
			}
		}},
		{"tmpfs defaults", func(o *SpecOptions) { o.Tmpfs = map[string]string{"/run/": ""} }, func(t *testing.T, s *specs.Spec) {
			m := findMount(s, "/run")
			want := specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "noexec", "nosuid", "nodev"}}
			if m == nil || !reflect.DeepEqual(*m, want) {
				t.Errorf("tmpfs = %+v", m)
			}
		}},
		{"tmpfs options merged", func(o *SpecOptions) { o.Tmpfs = map[string]string{"/x": "exec,size=64m,ro,mode=700"} },
			func(t *testing.T, s *specs.Spec) {
				want := []string{"ro", "exec", "nosuid", "nodev", "size=64m", "mode=700"}
				if m := findMount(s, "/x"); m == nil || !slices.Equal(m.Options, want) {
					t.Errorf("tmpfs = %+v, want %v", m, want)
				}
			}},
		{"tmpfs replaces /dev/shm", func(o *SpecOptions) { o.Tmpfs = map[string]string{"/dev/shm": "size=1m"} },
			func(t *testing.T, s *specs.Spec) {
				n := 0
				for _, m := range s.Mounts {
					if m.Destination == "/dev/shm" {
						n++
						if m.Source != "tmpfs" {
							t.Errorf("default shm kept: %+v", m)
						}
					}
				}
				if n != 1 {
					t.Errorf("%d /dev/shm mounts", n)
				}
			}},
		{"user /dev drops /dev defaults", func(o *SpecOptions) {
			o.Mounts = []specs.Mount{{Destination: "/dev", Type: "bind", Source: "/srv/dev", Options: []string{"rbind"}}}
		}, func(t *testing.T, s *specs.Spec) {
			for _, m := range s.Mounts {
				if strings.HasPrefix(m.Destination, "/dev/") {
					t.Errorf("kept %s", m.Destination)
				}
			}
		}},
		{"caller mounts sorted by depth", func(o *SpecOptions) {
			o.Mounts = []specs.Mount{
				{Destination: "/data/sub", Type: "bind", Source: "/b"},
				{Destination: "/data", Type: "bind", Source: "/a"},
			}
			o.HostsPath, o.HostnamePath, o.ResolvConfPath = "/f/hosts", "/f/hostname", "/f/resolv.conf"
		}, func(t *testing.T, s *specs.Spec) {
			var dests []string
			for _, m := range s.Mounts[7:] {
				dests = append(dests, m.Destination)
			}
			// Parents first (by depth), otherwise in the given order.
			want := []string{"/data", "/data/sub", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"}
			if !slices.Equal(dests, want) {
				t.Errorf("order = %v, want %v", dests, want)
			}
			m := findMount(s, "/etc/hosts")
			if m.Source != "/f/hosts" || m.Type != "bind" || !slices.Equal(m.Options, []string{"rbind", "rprivate"}) {
				t.Errorf("hosts = %+v", m)
			}
		}},
		{"the user's own resolv.conf and hosts stay on top", func(o *SpecOptions) {
			o.Mounts = []specs.Mount{{Destination: "/etc/resolv.conf", Type: "bind", Source: "/mine/resolv.conf"}}
			o.Tmpfs = map[string]string{"/etc/hostname": ""}
			o.HostsPath, o.HostnamePath, o.ResolvConfPath = "/f/hosts", "/f/hostname", "/f/resolv.conf"
		}, func(t *testing.T, s *specs.Spec) {
			got := map[string][]string{}
			for _, m := range s.Mounts {
				got[m.Destination] = append(got[m.Destination], m.Source)
			}
			if !slices.Equal(got["/etc/resolv.conf"], []string{"/mine/resolv.conf"}) || !slices.Equal(got["/etc/hostname"], []string{"tmpfs"}) ||
				!slices.Equal(got["/etc/hosts"], []string{"/f/hosts"}) {
				t.Errorf("mounts on /etc files: %v", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOpts(t)
			tt.edit(&o)
			tt.check(t, mustBuild(t, ocispec.ImageConfig{}, o))
		})
	}
}

func TestSeccomp(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "p.json")
	body := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	hasSyscall := func(s *specs.LinuxSeccomp, name string) bool {
		for _, sc := range s.Syscalls {
			if slices.Contains(sc.Names, name) {
				return true
			}
		}
		return false
	}
	tests := []struct {
		name       string
		profile    string
		privileged bool
		capAdd     []string
		check      func(t *testing.T, s *specs.LinuxSeccomp)
		wantErr    bool
	}{
		{name: "default", check: func(t *testing.T, s *specs.LinuxSeccomp) {
			if s == nil || s.DefaultAction != specs.ActErrno || !hasSyscall(s, "read") || hasSyscall(s, "mount") {
				t.Errorf("default profile: %+v", s)
			}
		}},
		// The default profile follows the bounding set: SYS_ADMIN allows mount.
		{name: "default with sys_admin", capAdd: []string{"SYS_ADMIN"}, check: func(t *testing.T, s *specs.LinuxSeccomp) {
			if s == nil || !hasSyscall(s, "mount") {
				t.Error("mount not allowed with CAP_SYS_ADMIN")
			}
		}},
		{name: "unconfined", profile: "unconfined", check: func(t *testing.T, s *specs.LinuxSeccomp) {
			if s != nil {
				t.Error("unconfined has a profile")
			}
		}},
		{name: "privileged", privileged: true, check: func(t *testing.T, s *specs.LinuxSeccomp) {
			if s != nil {
				t.Error("privileged has a profile")
			}
		}},
		{name: "file", profile: profile, check: func(t *testing.T, s *specs.LinuxSeccomp) {
			if s == nil || s.DefaultAction != specs.ActAllow || !hasSyscall(s, "mkdir") {
				t.Errorf("file profile: %+v", s)
			}
		}},
		{name: "file with privileged", profile: profile, privileged: true, check: func(t *testing.T, s *specs.LinuxSeccomp) {
			if s == nil {
				t.Error("explicit profile dropped")
			}
		}},
		{name: "missing file", profile: "/nonexistent/p.json", wantErr: true},
		{name: "bad json", profile: bad, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOpts(t)
			o.SeccompProfile, o.Privileged, o.CapAdd = tt.profile, tt.privileged, tt.capAdd
			s, err := BuildSpec(ocispec.ImageConfig{}, o)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s.Linux.Seccomp)
		})
	}
}

func TestProcessMisc(t *testing.T) {
	o := testOpts(t)
	s := mustBuild(t, ocispec.ImageConfig{}, o)
	if s.Process.NoNewPrivileges || s.Process.Rlimits != nil || s.Process.OOMScoreAdj == nil || *s.Process.OOMScoreAdj != 0 {
		t.Errorf("defaults: nnp=%v rlimits=%v oom=%v", s.Process.NoNewPrivileges, s.Process.Rlimits, s.Process.OOMScoreAdj)
	}
	if s.Version != specs.Version || s.Root.Path != o.RootfsPath {
		t.Errorf("version %q root %q", s.Version, s.Root.Path)
	}
	o.NoNewPrivileges = true
	o.Ulimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 2048, Soft: 1024}}
	s = mustBuild(t, ocispec.ImageConfig{}, o)
	if !s.Process.NoNewPrivileges || !reflect.DeepEqual(s.Process.Rlimits, o.Ulimits) {
		t.Errorf("nnp=%v rlimits=%v", s.Process.NoNewPrivileges, s.Process.Rlimits)
	}
}

func TestBuildSpecErrors(t *testing.T) {
	o := testOpts(t)
	o.RootfsPath = "relative"
	if _, err := BuildSpec(ocispec.ImageConfig{}, o); err == nil {
		t.Error("relative rootfs accepted")
	}
	o = testOpts(t)
	o.ID = ""
	if _, err := BuildSpec(ocispec.ImageConfig{}, o); err == nil {
		t.Error("empty ID accepted")
	}
}

func TestParseDevice(t *testing.T) {
	tests := []struct {
		in      string
		want    DeviceRequest
		wantErr string
	}{
		{in: "/dev/fuse", want: DeviceRequest{"/dev/fuse", "/dev/fuse", "rwm"}},
		{in: "/dev/fuse:r", want: DeviceRequest{"/dev/fuse", "/dev/fuse", "r"}},
		{in: "/dev/sda:/dev/xvda", want: DeviceRequest{"/dev/sda", "/dev/xvda", "rwm"}},
		{in: "/dev/sda:/dev/xvda:rw", want: DeviceRequest{"/dev/sda", "/dev/xvda", "rw"}},
		{in: "/dev/sda:/dev/x//y/", want: DeviceRequest{"/dev/sda", "/dev/x/y", "rwm"}},
		{in: "/dev/sda:/dev/xvda:rx", wantErr: "bad mode specified: rx"},
		{in: "/dev/sda:/dev/xvda:rr", wantErr: "bad mode specified: rr"},
		{in: "/dev/sda:xvda", wantErr: "xvda is not an absolute path"},
		{in: ":/dev/x", wantErr: "bad format for path: :/dev/x"},
		{in: "a:b:c:d", wantErr: "invalid device specification: a:b:c:d"},
	}
	for _, tt := range tests {
		got, err := ParseDevice(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestDevices(t *testing.T) {
	o := testOpts(t)
	s := mustBuild(t, ocispec.ImageConfig{}, o)
	if len(s.Linux.Devices) != 0 {
		t.Errorf("devices = %v", s.Linux.Devices)
	}
	rules := s.Linux.Resources.Devices
	if !reflect.DeepEqual(rules, dockerDeviceRules()) || rules[0].Allow || rules[0].Access != "rwm" || rules[0].Type != "" {
		t.Errorf("rules = %+v", rules)
	}

	// /dev/null is char 1:3 on every Linux host.
	mem := int64(256 << 20)
	res := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}}
	o.Resources = res
	o.Devices = []DeviceRequest{{PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rw"}}
	s = mustBuild(t, ocispec.ImageConfig{}, o)
	if len(s.Linux.Devices) != 1 {
		t.Fatalf("devices = %+v", s.Linux.Devices)
	}
	d := s.Linux.Devices[0]
	if d.Path != "/dev/mynull" || d.Type != "c" || d.Major != 1 || d.Minor != 3 || d.FileMode == nil || *d.FileMode != 0o666 {
		t.Errorf("device = %+v", d)
	}
	last := s.Linux.Resources.Devices[len(s.Linux.Resources.Devices)-1]
	if !last.Allow || last.Type != "c" || *last.Major != 1 || *last.Minor != 3 || last.Access != "rw" {
		t.Errorf("rule = %+v", last)
	}
	if s.Linux.Resources.Memory == nil || *s.Linux.Resources.Memory.Limit != mem {
		t.Error("caller's resources lost")
	}
	if res.Devices != nil {
		t.Error("caller's resources modified")
	}

	o.Devices = []DeviceRequest{{PathOnHost: "/etc/hostname", PathInContainer: "/dev/x", CgroupPermissions: "rwm"}}
	if _, err := BuildSpec(ocispec.ImageConfig{}, o); err == nil || !strings.Contains(err.Error(), "not a device") {
		t.Errorf("regular file as device: %v", err)
	}
	o.Devices = []DeviceRequest{{PathOnHost: "/dev/nonexistent-hako", PathInContainer: "/dev/x", CgroupPermissions: "rwm"}}
	if _, err := BuildSpec(ocispec.ImageConfig{}, o); err == nil {
		t.Error("missing device accepted")
	}
}

func TestPrivilegedDevices(t *testing.T) {
	o := testOpts(t)
	o.Privileged = true
	s := mustBuild(t, ocispec.ImageConfig{}, o)
	var null bool
	for _, d := range s.Linux.Devices {
		if d.Path == "/dev/null" && d.Major == 1 && d.Minor == 3 {
			null = true
		}
		if strings.HasPrefix(d.Path, "/dev/pts/") || d.Path == "/dev/console" {
			t.Errorf("unexpected host device %s", d.Path)
		}
	}
	if !null || len(s.Linux.Devices) < 5 {
		t.Errorf("host devices missing: %d devices", len(s.Linux.Devices))
	}
	want := []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	if !reflect.DeepEqual(s.Linux.Resources.Devices, want) {
		t.Errorf("rules = %+v", s.Linux.Resources.Devices)
	}
}

// The spec must convert and validate with the libcontainer hako links, for
// the defaults and for the privileged and host-network variants.
func TestSpecConvertsForLibcontainer(t *testing.T) {
	variants := map[string]func(o *SpecOptions){
		"default":    func(o *SpecOptions) {},
		"privileged": func(o *SpecOptions) { o.Privileged = true },
		"host net":   func(o *SpecOptions) { o.HostNetwork = true },
		"full": func(o *SpecOptions) {
			o.Tty, o.ReadOnly, o.NoNewPrivileges = true, true, true
			o.Tmpfs = map[string]string{"/run": "size=1m"}
			o.CapAdd = []string{"NET_ADMIN"}
			o.Devices = []DeviceRequest{{"/dev/null", "/dev/n2", "r"}}
		},
	}
	for name, edit := range variants {
		t.Run(name, func(t *testing.T) {
			o := testOpts(t)
			edit(&o)
			s := mustBuild(t, ocispec.ImageConfig{}, o)
			cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: o.ID, Spec: s})
			if err != nil {
				t.Fatalf("specconv: %v", err)
			}
			if err := validate.Validate(cfg); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if cfg.Cgroups.Path != "/hako/"+testID {
				t.Errorf("cgroup path %q", cfg.Cgroups.Path)
			}
		})
	}
}

// BenchmarkBuildSpec measures the default spec, dominated by the seccomp
// profile and the passwd/group reads.
func BenchmarkBuildSpec(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(testPasswd), 0o644); err != nil {
		b.Fatal(err)
	}
	o := SpecOptions{ID: testID, RootfsPath: root, Cmd: []string{"sh"}, User: "hako"}
	for b.Loop() {
		if _, err := BuildSpec(ocispec.ImageConfig{}, o); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseDeviceCgroupRule(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	good := map[string]specs.LinuxDeviceCgroup{
		"c 13:* rwm": {Allow: true, Type: "c", Major: n(13), Access: "rwm"},
		"b 8:1 r":    {Allow: true, Type: "b", Major: n(8), Minor: n(1), Access: "r"},
		"a *:* m":    {Allow: true, Type: "a", Access: "m"},
	}
	for in, want := range good {
		got, err := ParseDeviceCgroupRule(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseDeviceCgroupRule(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "c 13 rwm", "x 1:2 r", "c 1:2 rwx", "c 1:2", "c 99999999999999999999:1 r"} {
		if _, err := ParseDeviceCgroupRule(in); err == nil {
			t.Errorf("ParseDeviceCgroupRule(%q) succeeded", in)
		}
	}
}
