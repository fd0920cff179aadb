package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// v1ProcsOrder is the v1 hierarchies tried, in order, for a container's
// processes: any hierarchy lists them all; these are the ones hako's
// containers always join when the controller exists.
var v1ProcsOrder = []string{"pids", "memory", "cpu", "cpuacct", "devices", "freezer", "blkio", "name=systemd"}

// Pids lists the processes in a container's cgroup and its sub-cgroups
// (hako top), sorted. A missing cgroup is fs.ErrNotExist.
func (h *Host) Pids(id string) ([]int, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	dir := ""
	if h.Mode == V2 {
		dir = h.dir("", id)
	} else {
		for _, ctrl := range v1ProcsOrder {
			if d := h.dir(ctrl, id); d != "" && exists(d) {
				dir = d
				break
			}
		}
	}
	if dir == "" || !exists(dir) {
		return nil, fmt.Errorf("no cgroup %s: %w", h.rel(id), fs.ErrNotExist)
	}
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the processes of container %s: %w", id, err)
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

// BlockIO is the bytes a container's cgroup read from and wrote to block
// devices (Docker's BLOCK I/O): v2 io.stat rbytes and wbytes; v1 blkio's
// io_service_bytes_recursive, or the throttle policy's when the scheduler
// keeps none (as runc reads them). A missing controller reads as zero.
func (h *Host) BlockIO(id string) (read, write uint64, err error) {
	if err := checkID(id); err != nil {
		return 0, 0, err
	}
	if h.Mode == V2 {
		if !h.Controllers["io"] {
			return 0, 0, nil
		}
		return sumIOStat(filepath.Join(h.dir("", id), "io.stat"))
	}
	dir := h.dir("blkio", id)
	if dir == "" || !h.Controllers["blkio"] || !exists(dir) {
		return 0, 0, nil
	}
	read, write, found, err := sumBlkio(filepath.Join(dir, "blkio.io_service_bytes_recursive"))
	if err == nil && !found {
		read, write, _, err = sumBlkio(filepath.Join(dir, "blkio.throttle.io_service_bytes_recursive"))
	}
	return read, write, err
}

// sumIOStat adds the rbytes and wbytes of every device in a v2 io.stat.
func sumIOStat(path string) (read, write uint64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseUint(v, 10, 64)
			switch k {
			case "rbytes":
				read += n
			case "wbytes":
				write += n
			}
		}
	}
	return read, write, sc.Err()
}

// sumBlkio adds the Read and Write lines ("MAJ:MIN Read N") of a v1 blkio
// file; found says whether it had any device line.
func sumBlkio(path string) (read, write uint64, found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue // "Total N"
		}
		found = true
		n, _ := strconv.ParseUint(fields[2], 10, 64)
		switch fields[1] {
		case "Read":
			read += n
		case "Write":
			write += n
		}
	}
	return read, write, found, sc.Err()
}
