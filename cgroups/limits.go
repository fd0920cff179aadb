package cgroups

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Limits are the user's resource flags, with Docker's meaning and defaults.
// The zero value sets no limit.
type Limits struct {
	Memory            int64 // --memory, bytes; 0 = no limit
	MemorySwap        int64 // --memory-swap, memory+swap bytes; 0 = 2×Memory (Docker's default), -1 = unlimited swap
	MemoryReservation int64 // --memory-reservation, bytes (a soft limit)
	NanoCPUs          int64 // --cpus 1.5 → 1.5e9
	CPUShares         uint64
	CPUQuota          int64  // --cpu-quota, µs per period; -1 = unlimited
	CPUPeriod         uint64 // --cpu-period, µs
	CpusetCpus        string // --cpuset-cpus "0-2,4"
	CpusetMems        string // --cpuset-mems
	PidsLimit         int64  // --pids-limit; 0 = not set, -1 = unlimited
}

// Docker's bounds (daemon/daemon_unix.go).
// MemoryBootHint says how to turn on the memory controller where the kernel
// has it disabled (Raspberry Pi OS does by default).
const MemoryBootHint = "add cgroup_enable=memory cgroup_memory=1 to the kernel command line (/boot/firmware/cmdline.txt on Raspberry Pi OS) and reboot"

const (
	minMemory       = 6 * 1024 * 1024 // smallest --memory and --memory-reservation
	minCPUShares    = 2
	maxCPUShares    = 262144
	minCPUPeriod    = 1000
	maxCPUPeriod    = 1000000
	minCPUQuota     = 1000
	defaultPeriod   = 100000 // µs: the period --cpus is expressed in, as Docker
	minNanoCPUs     = 1e7    // 0.01 CPU: a smaller quota is below the kernel's 1 ms minimum
	swapDisabledMsg = "swap limit not set: this kernel has no swap accounting, so the container may use swap beyond --memory"
)

// ParseMemory parses a size as Docker's --memory does (go-units RAMInBytes):
// a non-negative number with an optional binary unit b, k, m, g, t or p,
// optionally followed by "b" or "ib", case-insensitive: "100b", "512k", "64m", "1.5g".
func ParseMemory(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	i := strings.LastIndexAny(s, "0123456789.")
	if i < 0 {
		return 0, fmt.Errorf("invalid size %q", orig)
	}
	num, unit := strings.TrimSpace(s[:i+1]), strings.ToLower(strings.TrimSpace(s[i+1:]))
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || strings.Trim(num, "0123456789.") != "" {
		return 0, fmt.Errorf("invalid size %q", orig)
	}
	mul, ok := unitMultiplier(unit)
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q", orig, unit)
	}
	v := n * float64(mul)
	if v >= 1<<63 {
		return 0, fmt.Errorf("invalid size %q: too large", orig)
	}
	return int64(v), nil
}

func unitMultiplier(unit string) (int64, bool) {
	if unit == "" || unit == "b" {
		return 1, true
	}
	shift := strings.IndexByte("kmgtp", unit[0])
	rest := unit[1:]
	if shift < 0 || (rest != "" && rest != "b" && rest != "ib") {
		return 0, false
	}
	return 1 << (10 * (shift + 1)), true
}

// ParseMemorySwap parses --memory-swap: "-1" (unlimited) or a size for ParseMemory.
func ParseMemorySwap(s string) (int64, error) {
	if strings.TrimSpace(s) == "-1" {
		return -1, nil
	}
	return ParseMemory(s)
}

// ParseCPUs parses --cpus as Docker does: a decimal number of CPUs, exact to
// the nanoCPU: "1.5" → 1500000000.
func ParseCPUs(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, fmt.Errorf("invalid number of CPUs %q", s)
	}
	r.Mul(r, big.NewRat(1e9, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("invalid number of CPUs %q: too precise", s)
	}
	if r.Sign() < 0 || !r.Num().IsInt64() {
		return 0, fmt.Errorf("invalid number of CPUs %q: out of range", s)
	}
	return r.Num().Int64(), nil
}

// Resources converts limits to the OCI spec's resources after checking them as
// Docker does and against this host: a limit whose controller is missing is an
// error, not silently dropped. It returns nil resources when nothing is set.
// Warnings are for the user (printed to stderr), e.g. swap that cannot be limited.
func (h *Host) Resources(l Limits) (*specs.LinuxResources, []string, error) {
	var r specs.LinuxResources
	mem, warnings, err := h.memory(l)
	if err != nil {
		return nil, nil, err
	}
	r.Memory = mem
	if r.CPU, err = h.cpu(l); err != nil {
		return nil, nil, err
	}
	if r.Pids, err = h.pids(l); err != nil {
		return nil, nil, err
	}
	if r.Memory == nil && r.CPU == nil && r.Pids == nil {
		return nil, warnings, nil
	}
	return &r, warnings, nil
}

func (h *Host) needController(ctrl, flag string) error {
	if h.Controllers[ctrl] {
		return nil
	}
	if ctrl == "memory" {
		return fmt.Errorf("%s needs the memory cgroup controller, which this kernel has disabled: %s", flag, MemoryBootHint)
	}
	return fmt.Errorf("%s needs the %s cgroup controller, which this host does not have", flag, ctrl)
}

func (h *Host) memory(l Limits) (*specs.LinuxMemory, []string, error) {
	switch {
	case l.Memory < 0 || l.MemoryReservation < 0 || l.MemorySwap < -1:
		return nil, nil, errors.New("memory limits cannot be negative")
	case l.Memory == 0 && l.MemorySwap > 0:
		return nil, nil, errors.New("--memory-swap needs --memory as well")
	case l.Memory != 0 && l.Memory < minMemory:
		return nil, nil, errors.New("minimum memory limit allowed is 6MB")
	case l.MemoryReservation != 0 && l.MemoryReservation < minMemory:
		return nil, nil, errors.New("minimum memory reservation allowed is 6MB")
	case l.MemorySwap > 0 && l.MemorySwap < l.Memory:
		return nil, nil, errors.New("--memory-swap must be at least --memory (it is memory plus swap)")
	case l.Memory > 0 && l.MemoryReservation > l.Memory:
		return nil, nil, errors.New("--memory-reservation must not be more than --memory")
	}
	if l.Memory == 0 && l.MemoryReservation == 0 {
		return nil, nil, nil
	}
	flag := "--memory"
	if l.Memory == 0 {
		flag = "--memory-reservation"
	}
	if err := h.needController("memory", flag); err != nil {
		return nil, nil, err
	}
	m := &specs.LinuxMemory{}
	if l.Memory > 0 {
		m.Limit = ptr(l.Memory)
	}
	if l.MemoryReservation > 0 {
		m.Reservation = ptr(l.MemoryReservation)
	}
	var warnings []string
	if l.Memory > 0 {
		// Always set swap with memory: v1 leaves memsw unlimited otherwise.
		swap := l.MemorySwap
		if swap == 0 {
			swap = 2 * l.Memory
		}
		switch {
		case swap == -1:
			m.Swap = ptr(int64(-1))
		case h.SwapAccounting:
			m.Swap = ptr(swap)
		default:
			warnings = append(warnings, swapDisabledMsg)
		}
	}
	return m, warnings, nil
}

func (h *Host) cpu(l Limits) (*specs.LinuxCPU, error) {
	if err := h.checkCPU(l); err != nil {
		return nil, err
	}
	c := &specs.LinuxCPU{Cpus: l.CpusetCpus, Mems: l.CpusetMems}
	set := l.CpusetCpus != "" || l.CpusetMems != ""
	if l.NanoCPUs > 0 {
		c.Period = ptr(uint64(defaultPeriod))
		c.Quota = ptr(l.NanoCPUs * defaultPeriod / 1e9)
		set = true
	}
	if l.CPUQuota != 0 {
		c.Quota = ptr(l.CPUQuota)
		set = true
	}
	if l.CPUPeriod != 0 {
		c.Period = ptr(l.CPUPeriod)
		set = true
	}
	if l.CPUShares != 0 {
		// Docker clamps shares to the kernel's range rather than failing.
		c.Shares = ptr(min(max(l.CPUShares, minCPUShares), maxCPUShares))
		set = true
	}
	if !set {
		return nil, nil
	}
	return c, nil
}

func (h *Host) checkCPU(l Limits) error {
	if l.NanoCPUs != 0 && (l.CPUQuota != 0 || l.CPUPeriod != 0) {
		return errors.New("conflicting options: --cpus and --cpu-quota/--cpu-period cannot both be set")
	}
	if l.NanoCPUs < 0 || (l.NanoCPUs > 0 && l.NanoCPUs < minNanoCPUs) || l.NanoCPUs > int64(h.NumCPU)*1e9 {
		return fmt.Errorf("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", h.NumCPU, h.NumCPU)
	}
	if l.CPUPeriod != 0 && (l.CPUPeriod < minCPUPeriod || l.CPUPeriod > maxCPUPeriod) {
		return errors.New("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	}
	if l.CPUQuota != 0 && l.CPUQuota != -1 && l.CPUQuota < minCPUQuota {
		return errors.New("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}
	flags := map[string]bool{
		"--cpus": l.NanoCPUs != 0, "--cpu-quota": l.CPUQuota != 0,
		"--cpu-period": l.CPUPeriod != 0, "--cpu-shares": l.CPUShares != 0,
	}
	for _, f := range []string{"--cpus", "--cpu-quota", "--cpu-period", "--cpu-shares"} {
		if flags[f] {
			if err := h.needController("cpu", f); err != nil {
				return err
			}
		}
	}
	if err := h.checkCpuset("--cpuset-cpus", l.CpusetCpus, h.CpusetCpus); err != nil {
		return err
	}
	return h.checkCpuset("--cpuset-mems", l.CpusetMems, h.CpusetMems)
}

// checkCpuset checks that a requested list ("0-2,4") is a subset of the host's.
func (h *Host) checkCpuset(flag, want, have string) error {
	if want == "" {
		return nil
	}
	if err := h.needController("cpuset", flag); err != nil {
		return err
	}
	w, err := parseList(want)
	if err != nil {
		return fmt.Errorf("invalid value %q for %s: %w", want, flag, err)
	}
	hv, err := parseList(have)
	if err != nil {
		return fmt.Errorf("reading the host's cpuset %q: %w", have, err)
	}
	for n := range w {
		if !hv[n] {
			return fmt.Errorf("%s %s is not available: this host has %s", flag, want, have)
		}
	}
	return nil
}

// parseList parses the kernel's list format: "0-3,5,7-8".
func parseList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad entry %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad range %q", part)
			}
		}
		if b-a > 1<<16 {
			return nil, fmt.Errorf("range %q too large", part)
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}

func (h *Host) pids(l Limits) (*specs.LinuxPids, error) {
	switch {
	case l.PidsLimit == 0:
		return nil, nil
	case l.PidsLimit < -1:
		return nil, errors.New("--pids-limit must be positive, or -1 for unlimited")
	}
	if err := h.needController("pids", "--pids-limit"); err != nil {
		if l.PidsLimit == -1 {
			return nil, nil // unlimited is what a host without the controller gives anyway
		}
		return nil, err
	}
	return &specs.LinuxPids{Limit: ptr(l.PidsLimit)}, nil
}

func ptr[T any](v T) *T { return &v }
