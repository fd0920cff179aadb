package cgroups

import (
	"errors"
	"io/fs"
	"slices"
	"testing"
)

func TestPidsAndBlockIOV1(t *testing.T) {
	f := fakeHybrid(t)
	f.at("pids/hako/c1/cgroup.procs", "12\n7\n")
	f.at("pids/hako/c1/sub/cgroup.procs", "30\n12\n")
	f.at("blkio/hako/c1/blkio.io_service_bytes_recursive", "Total 0\n")
	f.at("blkio/hako/c1/blkio.throttle.io_service_bytes_recursive",
		"8:0 Read 4096\n8:0 Write 100\n8:0 Sync 0\n8:16 Read 1\n8:16 Write 2\nTotal 4199\n")
	h := f.detect()
	pids, err := h.Pids("c1")
	if err != nil || !slices.Equal(pids, []int{7, 12, 30}) {
		t.Errorf("Pids: %v %v, want [7 12 30]", pids, err)
	}
	r, w, err := h.BlockIO("c1")
	if err != nil || r != 4097 || w != 102 {
		t.Errorf("BlockIO: %d %d %v, want 4097 102", r, w, err)
	}
	if _, err := h.Pids("gone"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Pids of no cgroup: %v, want ErrNotExist", err)
	}
}

func TestPidsAndBlockIOV2(t *testing.T) {
	f := newFake(t)
	f.v2("cpu io memory pids", true)
	f.at("hako/c1/cgroup.procs", "5\n")
	f.at("hako/c1/io.stat", "8:0 rbytes=1000 wbytes=20 rios=3 wios=1 dbytes=0 dios=0\n\n253:0 rbytes=5 wbytes=6\n")
	h := f.detect()
	if pids, err := h.Pids("c1"); err != nil || !slices.Equal(pids, []int{5}) {
		t.Errorf("Pids: %v %v", pids, err)
	}
	if r, w, err := h.BlockIO("c1"); err != nil || r != 1005 || w != 26 {
		t.Errorf("BlockIO: %d %d %v, want 1005 26", r, w, err)
	}
}
