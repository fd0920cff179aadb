package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats is a snapshot of a container's cgroup. A value whose controller is
// missing on this host is zero.
type Stats struct {
	// MemoryUsage is what Docker's stats shows: usage minus the inactive file
	// cache (v1 memory.usage_in_bytes − total_inactive_file, v2 memory.current − inactive_file).
	MemoryUsage uint64
	MemoryLimit uint64 // bytes; 0 = no limit
	CPUUsage    uint64 // CPU time used, nanoseconds
	Pids        uint64 // number of tasks
	PidsLimit   uint64 // 0 = no limit
}

// unlimitedV1 is the smallest value v1 reports for "no limit" (PAGE_COUNTER_MAX
// scaled to bytes is about 2^63 rounded down to a page).
const unlimitedV1 = 1 << 62

// Stats reads a container's memory, CPU and pids usage from its cgroup.
func (h *Host) Stats(id string) (Stats, error) {
	if err := checkID(id); err != nil {
		return Stats{}, err
	}
	var s Stats
	var err error
	if h.Mode == V2 {
		err = h.statsV2(id, &s)
	} else {
		err = h.statsV1(id, &s)
	}
	if err != nil {
		return Stats{}, fmt.Errorf("reading cgroup stats of container %s: %w", id, err)
	}
	return s, nil
}

func (h *Host) statsV2(id string, s *Stats) error {
	dir := h.dir("", id)
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	var err error
	if h.Controllers["memory"] {
		usage, e1 := readUint(dir, "memory.current")
		limit, e2 := readUint(dir, "memory.max")
		inactive, e3 := statField(dir, "memory.stat", "inactive_file")
		s.MemoryUsage, s.MemoryLimit = workingSet(usage, inactive), limit
		err = errors.Join(err, e1, e2, e3)
	}
	// cpu.stat is always there on v2, even without the cpu controller.
	usec, e := statField(dir, "cpu.stat", "usage_usec")
	s.CPUUsage = usec * 1000
	err = errors.Join(err, e)
	if h.Controllers["pids"] {
		var e1, e2 error
		s.Pids, e1 = readUint(dir, "pids.current")
		s.PidsLimit, e2 = readUint(dir, "pids.max")
		err = errors.Join(err, e1, e2)
	}
	return err
}

func (h *Host) statsV1(id string, s *Stats) error {
	found := false
	var err error
	if dir := h.dir("memory", id); dir != "" && h.Controllers["memory"] && exists(dir) {
		found = true
		usage, e1 := readUint(dir, "memory.usage_in_bytes")
		limit, e2 := readUint(dir, "memory.limit_in_bytes")
		inactive, e3 := statField(dir, "memory.stat", "total_inactive_file")
		if limit >= unlimitedV1 {
			limit = 0
		}
		s.MemoryUsage, s.MemoryLimit = workingSet(usage, inactive), limit
		err = errors.Join(err, e1, e2, e3)
	}
	if dir := h.dir("cpuacct", id); dir != "" && h.Controllers["cpuacct"] && exists(dir) {
		found = true
		var e error
		s.CPUUsage, e = readUint(dir, "cpuacct.usage")
		err = errors.Join(err, e)
	}
	if dir := h.dir("pids", id); dir != "" && h.Controllers["pids"] && exists(dir) {
		found = true
		var e1, e2 error
		s.Pids, e1 = readUint(dir, "pids.current")
		s.PidsLimit, e2 = readUint(dir, "pids.max")
		err = errors.Join(err, e1, e2)
	}
	if !found {
		return fmt.Errorf("no cgroup %s in any hierarchy: %w", h.rel(id), fs.ErrNotExist)
	}
	return err
}

func workingSet(usage, inactive uint64) uint64 {
	if inactive < usage {
		return usage - inactive
	}
	return usage
}

// readUint reads a one-number cgroup file; "max" reads as 0 (no limit).
func readUint(dir, file string) (uint64, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	v := strings.TrimSpace(string(data))
	if v == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", file, err)
	}
	return n, nil
}

// statField reads one "key value" line of a flat-keyed file such as memory.stat.
func statField(dir, file, key string) (uint64, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing %s %s: %w", file, key, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no %s", file, key)
}
