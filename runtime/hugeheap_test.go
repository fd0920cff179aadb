package runtime

import (
	"bufio"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestHugeHeap: the heap grows into memory advised for huge pages, and
// the collector's goal grew by what was taken to get there. It runs in a
// fresh copy of the test binary, whose heap, as a hako run's, has never
// been collected (the tests before it leave free holes a collection made).
func TestHugeHeap(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("no transparent huge pages here")
	}
	if os.Getpagesize() != 4096 || unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("not a 64-bit system with 4 KiB pages")
	}
	if os.Getenv("HAKO_TEST_HUGEHEAP") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHugeHeap$", "-test.count=1", "-test.v")
		// One processor, as in a container's init: another's page
		// cache can take, and touch, the start of the chunk the heap
		// maps next while HugeHeap fills the current one.
		cmd.Env = append(os.Environ(), "HAKO_TEST_HUGEHEAP=1", "GOMAXPROCS=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestHugeHeap") {
			t.Fatalf("in a fresh process: %v\n%s", err, out)
		}
		return
	}
	gogc := debug.SetGCPercent(100)
	debug.SetGCPercent(gogc)
	t.Cleanup(func() { debug.SetGCPercent(gogc) })
	hugeHeap()
	// What the heap allocates next lies in an advised mapping.
	next := make([]byte, 1<<20)
	addr := uintptr(unsafe.Pointer(&next[0]))
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var in, advised bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			lo, hi, _ := strings.Cut(fields[0], "-")
			l, _ := strconv.ParseUint(lo, 16, 64)
			h, _ := strconv.ParseUint(hi, 16, 64)
			in = uint64(addr) >= l && uint64(addr) < h
		} else if in && strings.HasPrefix(line, "VmFlags:") {
			advised = strings.Contains(line, " hg")
		}
	}
	if !advised {
		var held []string
		for _, b := range hugeHeapHold {
			held = append(held, strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&b[0]))), 16))
		}
		smaps, _ := os.ReadFile("/proc/self/maps")
		t.Errorf("the heap's next allocation (%#x) is not in a mapping advised for huge pages; held %v\n%s", addr, held, smaps)
	}
	if now := debug.SetGCPercent(gogc); now != gogc && now != 2*gogc {
		t.Errorf("GOGC %d after HugeHeap, want %d or %d", now, gogc, 2*gogc)
	}
	next[0] = 1
}
