// Package hostinfo gathers what a bug report about hako needs to know of
// the host: kernel, distribution, architecture and the platform hako pulls,
// cgroups, the storage root's overlay support and free space, page size,
// seccomp and AppArmor, and hako's own version. Each fact that would stop a
// container from running as expected also yields a warning saying how to
// fix it.
package hostinfo

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/apparmor"
	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/rootfs"
)

// Info is the host as hako sees it. Field names follow `docker info
// --format json` where Docker has the same fact.
type Info struct {
	ServerVersion   string
	Build           string
	KernelVersion   string
	OperatingSystem string
	OSType          string
	Architecture    string
	DefaultPlatform string // what `hako pull` picks from a multi-platform image
	NCPU            int
	MemTotal        int64
	PageSize        int

	Driver           string // storage driver: overlay or vfs (set by the caller, who knows the flags)
	RootDir          string
	RootFilesystem   string // the storage root's filesystem type
	RootFreeBytes    uint64
	OverlaySupported bool
	OverlayError     string `json:",omitempty"`

	CgroupVersion     string // "1" or "2", as Docker prints it
	CgroupLayout      string // v1, hybrid or v2
	CgroupDriver      string // cgroupfs or systemd
	CgroupControllers []string

	Seccomp  bool
	AppArmor bool

	Warnings []string
}

// Gather reads the host. root is hako's storage root, runRoot its runtime
// state directory; it is created if
// missing, since the overlay probe writes (and removes) a directory there.
func Gather(root, runRoot, version, build string) (*Info, error) {
	in := &Info{
		ServerVersion: version, Build: build, OSType: runtime.GOOS,
		NCPU: runtime.NumCPU(), PageSize: os.Getpagesize(),
		Driver: "overlay", RootDir: root,
		DefaultPlatform: image.PlatformString(image.HostPlatform()),
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, fmt.Errorf("reading the kernel's name: %w", err)
	}
	in.KernelVersion = unix.ByteSliceToString(uts.Release[:])
	in.Architecture = unix.ByteSliceToString(uts.Machine[:])
	in.OperatingSystem = osRelease("/etc/os-release")
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		in.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	if in.PageSize != 4096 {
		in.warn("the kernel uses %d KiB pages: images built for 4 KiB pages (jemalloc, some Node.js and Chromium builds) may crash; on a Raspberry Pi 5, kernel=kernel8.img in config.txt boots a 4 KiB-page kernel", in.PageSize/1024)
	}
	in.storage(root)
	in.cgroups()
	in.Seccomp = seccompFilters()
	if !in.Seccomp {
		in.warn("the kernel has no seccomp filters: containers run without hako's syscall filter")
	}
	in.AppArmor = apparmor.NewHost(runRoot).Enabled()
	return in, nil
}

func (in *Info) warn(format string, a ...any) {
	in.Warnings = append(in.Warnings, fmt.Sprintf(format, a...))
}

func (in *Info) storage(root string) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		in.OverlayError = err.Error()
		in.warn("storage root %s: %v", root, err)
		return
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err == nil {
		in.RootFreeBytes = st.Bavail * uint64(st.Bsize)
		in.RootFilesystem = fsName(uint32(st.Type)) // int32 on 32-bit arm
	}
	if err := rootfs.ProbeOverlay(root); err != nil {
		in.OverlayError = err.Error()
		in.warn("overlayfs refuses %s as an upper dir (%s): hako uses the vfs storage driver there, which copies each layer and container in full; for overlay, point --root (HAKO_ROOT) at a plain ext4, xfs or btrfs directory", root, in.RootFilesystem)
		return
	}
	in.OverlaySupported = true
}

func (in *Info) cgroups() {
	h, err := cgroups.Detect()
	if err != nil {
		in.warn("cgroups: %v", err)
		return
	}
	in.CgroupLayout = h.Mode.String()
	in.CgroupVersion = "1"
	if h.Mode == cgroups.V2 {
		in.CgroupVersion = "2"
	}
	in.CgroupDriver = "cgroupfs"
	if h.Systemd {
		in.CgroupDriver = "systemd"
	}
	for c, ok := range h.Controllers {
		if ok {
			in.CgroupControllers = append(in.CgroupControllers, c)
		}
	}
	sort.Strings(in.CgroupControllers)
	if !h.Controllers["memory"] {
		in.warn("no memory cgroup controller: --memory cannot work; %s", cgroups.MemoryBootHint)
	}
}

// osRelease is PRETTY_NAME from an os-release file.
func osRelease(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return "unknown"
}

// seccompFilters tells whether the kernel takes seccomp filters, as Docker
// checks it: setting a filter mode with a nil program fails with EFAULT
// (and changes nothing) only when filters are supported.
func seccompFilters() bool {
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err == unix.EINVAL {
		return false
	}
	err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, 0, 0, 0)
	return err == unix.EFAULT
}

// fsName names a filesystem type (statfs f_type). A switch, not a
// package-level map: every hako process would build the map at start.
func fsName(t uint32) string {
	switch t {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlay"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	case unix.MSDOS_SUPER_MAGIC:
		return "vfat"
	case unix.NFS_SUPER_MAGIC:
		return "nfs"
	case unix.SQUASHFS_MAGIC:
		return "squashfs"
	case 0x2fc12fc1:
		return "zfs"
	}
	return fmt.Sprintf("0x%x", t)
}
