package runtime

import (
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"unsafe"
)

const (
	hugePageSize  = 2 << 20 // a PMD with 4 KiB pages (x86-64, arm64, riscv64)
	heapChunkSize = 4 << 20 // the Go heap maps itself in chunks of this (64-bit Linux)
	// hugeProbeSize is the least allocation the heap serves from its page
	// allocator, lowest free address first (smaller ones come from a
	// processor's page cache: 512 KiB taken at once).
	hugeProbeSize = 128 << 10
)

// hugeHeapHold keeps what HugeHeap allocated to steer the heap (never
// touched: address space only, no memory).
var hugeHeapHold [][]byte

// HugeHeap asks the kernel for transparent huge pages (MADV_HUGEPAGE) where
// the Go heap grows next. A process that never collects garbage (a `hako
// run` parent allocates 2-3 MB and exits, or execs, before a collection)
// takes every page it allocates fresh from the kernel: one page fault per
// 4 KiB, 10-40 µs each on a paravirtualized guest, ~500 per run. One huge
// page takes the place of 512 of them for the price of zeroing 2 MiB once
// (~0.15 ms here), and of up to 4 MiB more resident memory for the
// process's short life. The kernel falls back to small pages when it has
// no huge page at hand; where THP is "never" nothing changes.
//
// The heap is mapped in 4 MiB chunks, and the kernel makes a huge page
// only where no page of an aligned 2 MiB is mapped yet, so HugeHeap lets
// the heap's current chunk be: it takes the chunk's untouched rest (a
// large allocation, never written: address space, no memory), so that the
// heap maps its next chunk at once, and advises that one while nothing in
// it has been touched (mincore(2) tells). Steering by allocation relies on
// how the runtime places large objects (lowest free address first); where
// that does not hold, it advises less, or nothing. Only the first call
// does anything.
//
// It is a policy for the whole process, for short-lived ones: it doubles
// GOGC for the rest of the process's life (see below) and keeps up to
// 4 MiB of address space. hako's CLI calls it for run, create and bundle;
// a long-running program that embeds hako should not.
var HugeHeap = sync.OnceFunc(hugeHeap)

func hugeHeap() {
	if unsafe.Sizeof(uintptr(0)) != 8 || os.Getpagesize() != 4096 {
		return
	}
	probe := make([]byte, hugeProbeSize) // a span of its own, untouched
	hugeHeapHold = append(hugeHeapHold, probe)
	a := uintptr(unsafe.Pointer(&probe[0]))
	chunk := a &^ (heapChunkSize - 1)
	var vec [heapChunkSize / 4096]byte
	if !mincore(chunk, vec[:]) {
		return
	}
	// The chunk's untouched end is where the heap grows: take it.
	end := chunk + heapChunkSize
	from := end
	for i := len(vec) - 1; i >= 0 && vec[i]&1 == 0; i-- {
		from -= 4096
	}
	if a >= from {
		from = a + hugeProbeSize // the probe may end in the next chunk
	}
	if from < end && end-from >= hugeProbeSize {
		// Up to 4 MiB the collector counts as heap, though it is never
		// touched: the heap's goal grows by as much (it starts at 4 MiB,
		// GOGC=100), so no collection comes of it (one costs 3-18 ms here,
		// and a run's parent collects nothing otherwise).
		if old := debug.SetGCPercent(100); old >= 0 {
			debug.SetGCPercent(2 * old)
		} else {
			debug.SetGCPercent(old)
		}
		hugeHeapHold = append(hugeHeapHold, make([]byte, end-from))
	}
	next := make([]byte, hugeProbeSize)
	hugeHeapHold = append(hugeHeapHold, next)
	n := uintptr(unsafe.Pointer(&next[0]))
	chunk = n &^ (heapChunkSize - 1)
	if !mincore(chunk, vec[:]) {
		return
	}
	for half := range uintptr(2) {
		start := chunk + half*hugePageSize
		if start+hugePageSize > n && untouched(vec[half*hugePageSize/4096:(half+1)*hugePageSize/4096]) {
			madviseHuge(start, hugePageSize)
		}
	}
}

func mincore(addr uintptr, vec []byte) bool {
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, addr, uintptr(len(vec))*4096, uintptr(unsafe.Pointer(&vec[0])))
	return errno == 0
}

func untouched(vec []byte) bool {
	for _, v := range vec {
		if v&1 != 0 {
			return false
		}
	}
	return true
}

func madviseHuge(addr, n uintptr) bool {
	_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, n, syscall.MADV_HUGEPAGE)
	return errno == 0
}
