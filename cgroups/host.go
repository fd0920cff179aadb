// Package cgroups turns a user's resource flags into an OCI specs.LinuxResources
// checked against this host's cgroup setup (v1, hybrid or v2, and which
// controllers exist), names hako's cgroup for a container, reads its stats and
// removes leftover cgroup directories.
//
// The package never creates cgroups itself: libcontainer does that from the spec.
package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Mode is the cgroup layout of a host.
type Mode int

const (
	// V1 has only per-controller hierarchies under Root/<controller>.
	V1 Mode = iota + 1
	// Hybrid has v1 controllers plus an empty cgroup2 hierarchy at Root/unified.
	Hybrid
	// V2 has one unified cgroup2 hierarchy mounted at Root.
	V2
)

func (m Mode) String() string {
	switch m {
	case V1:
		return "v1"
	case Hybrid:
		return "hybrid"
	case V2:
		return "v2"
	}
	return "unknown"
}

// DefaultRoot is where the cgroup filesystems are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// Host describes this machine's cgroup setup.
type Host struct {
	Mode Mode
	// Controllers are the controllers hako can use: on v1/hybrid the enabled and
	// mounted v1 controllers, on v2 those listed in Root/cgroup.controllers.
	Controllers map[string]bool
	Root        string // "/sys/fs/cgroup"
	NumCPU      int    // CPUs this process may run on
	// SwapAccounting is true when a memory+swap limit can be set
	// (v1: memory.memsw.* exists; v2: memory.swap.max exists).
	SwapAccounting bool
	// CpusetCpus and CpusetMems are the CPUs and memory nodes available to
	// containers ("0-3"), empty when the cpuset controller is missing.
	CpusetCpus, CpusetMems string
	// Systemd is true when systemd runs and must own the cgroups (see UseSystemd).
	Systemd bool

	// v1Dirs maps each v1 hierarchy (controller or "name=systemd") to its mount
	// directory; in hybrid mode "" is the cgroup2 mount at Root/unified.
	v1Dirs map[string]string
}

// Detect describes the real host.
func Detect() (*Host, error) {
	h, err := DetectAt(DefaultRoot, "/proc/self/cgroup", "/proc/cgroups")
	if err != nil {
		return nil, err
	}
	h.Systemd = UseSystemd()
	return h, nil
}

// UseSystemd reports whether systemd is the init system, in which case the
// cgroups must be created through systemd (the path from CgroupsPath).
func UseSystemd() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// DetectAt describes a cgroup setup mounted at root, reading the given copies of
// /proc/self/cgroup and /proc/cgroups. It only looks at files, so tests can use
// a fake tree: a cgroup2 mount is recognised by its cgroup.controllers file, a
// v1 hierarchy by a cgroup.procs file in a directory named after its controllers.
func DetectAt(root, procSelfCgroup, procCgroups string) (*Host, error) {
	h := &Host{Root: root, NumCPU: runtime.NumCPU(), Controllers: map[string]bool{}}
	if exists(filepath.Join(root, "cgroup.controllers")) {
		if err := h.detectV2(procSelfCgroup); err != nil {
			return nil, err
		}
		return h, nil
	}
	if err := h.detectV1(procCgroups); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Host) detectV2(procSelfCgroup string) error {
	h.Mode = V2
	data, err := os.ReadFile(filepath.Join(h.Root, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("reading cgroup controllers: %w", err)
	}
	for _, c := range strings.Fields(string(data)) {
		h.Controllers[c] = true
	}
	if h.Controllers["memory"] {
		h.SwapAccounting = h.v2SwapAccounting(procSelfCgroup)
	}
	if h.Controllers["cpuset"] {
		h.CpusetCpus = readTrim(filepath.Join(h.Root, "cpuset.cpus.effective"))
		h.CpusetMems = readTrim(filepath.Join(h.Root, "cpuset.mems.effective"))
	}
	return nil
}

// v2SwapAccounting looks for memory.swap.max in a non-root cgroup with the
// memory controller (the root cgroup has no memory.* limit files): our own
// cgroup first, then the root's children.
func (h *Host) v2SwapAccounting(procSelfCgroup string) bool {
	var dirs []string
	if own, err := ownV2Path(procSelfCgroup); err == nil && own != "/" {
		dirs = append(dirs, filepath.Join(h.Root, own))
	}
	entries, _ := os.ReadDir(h.Root)
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(h.Root, e.Name()))
		}
	}
	for _, d := range dirs {
		if exists(filepath.Join(d, "memory.max")) {
			return exists(filepath.Join(d, "memory.swap.max"))
		}
	}
	// No cgroup to look at: assume the kernel default (swap accounting on), as Docker does.
	return true
}

// ownV2Path returns the "0::<path>" entry of a /proc/<pid>/cgroup file.
func ownV2Path(procSelfCgroup string) (string, error) {
	data, err := os.ReadFile(procSelfCgroup)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Clean("/" + p), nil
		}
	}
	return "", errors.New("no cgroup2 entry")
}

func (h *Host) detectV1(procCgroups string) error {
	enabled, err := enabledV1Controllers(procCgroups)
	if err != nil {
		return err
	}
	h.Mode = V1
	h.v1Dirs = map[string]string{}
	entries, err := os.ReadDir(h.Root)
	if err != nil {
		return fmt.Errorf("reading %s: %w", h.Root, err)
	}
	for _, e := range entries {
		dir := filepath.Join(h.Root, e.Name())
		if e.Name() == "unified" && exists(filepath.Join(dir, "cgroup.controllers")) {
			h.Mode = Hybrid
			h.v1Dirs[""] = dir
			continue
		}
		if !exists(filepath.Join(dir, "cgroup.procs")) {
			continue
		}
		// A directory may hold several controllers ("cpu,cpuacct") or a
		// named hierarchy ("systemd" for name=systemd).
		for _, c := range strings.Split(e.Name(), ",") {
			if enabled[c] {
				h.Controllers[c] = true
			} else if c == "systemd" {
				c = "name=systemd"
			}
			// An exact directory name wins over a combined one.
			if _, seen := h.v1Dirs[c]; !seen || c == e.Name() {
				h.v1Dirs[c] = dir
			}
		}
	}
	if d, ok := h.v1Dirs["memory"]; ok && h.Controllers["memory"] {
		h.SwapAccounting = exists(filepath.Join(d, "memory.memsw.limit_in_bytes"))
	}
	if d, ok := h.v1Dirs["cpuset"]; ok && h.Controllers["cpuset"] {
		h.CpusetCpus = readTrim(filepath.Join(d, "cpuset.effective_cpus"))
		if h.CpusetCpus == "" {
			h.CpusetCpus = readTrim(filepath.Join(d, "cpuset.cpus"))
		}
		h.CpusetMems = readTrim(filepath.Join(d, "cpuset.effective_mems"))
		if h.CpusetMems == "" {
			h.CpusetMems = readTrim(filepath.Join(d, "cpuset.mems"))
		}
	}
	return nil
}

// enabledV1Controllers parses /proc/cgroups: controllers that are enabled and
// attached to a v1 hierarchy (hierarchy 0 means v2 or unmounted).
func enabledV1Controllers(procCgroups string) (map[string]bool, error) {
	f, err := os.Open(procCgroups)
	if err != nil {
		return nil, fmt.Errorf("reading cgroup controllers: %w", err)
	}
	defer f.Close()
	out := map[string]bool{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		hier, _ := strconv.Atoi(fields[1])
		if fields[3] == "1" && hier != 0 {
			out[fields[0]] = true
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", procCgroups, err)
	}
	return out, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

func readTrim(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
