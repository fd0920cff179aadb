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
	// hugeFillSize is the least allocation the heap serves with pages of
	// its own (a large object: 5 of its 8 KiB pages), not from a span
	// shared with other objects. Such allocations come from the
	// processor's page cache (64 pages taken at once, the lowest free ones
	// first) or, where no run of 5 is free there, from the lowest free
	// run of the page allocator, as do the spans of small objects.
	hugeFillSize = 40 << 10
)

// hugeHeapHold keeps what HugeHeap allocated to steer the heap (never
// touched: address space only, no memory).
var hugeHeapHold [][]byte

// HugeHeap asks the kernel for transparent huge pages (MADV_HUGEPAGE) where
// the Go heap grows next. A process that never collects garbage (a `hako
// run` parent allocates 2-3 MB and exits, or execs, before a collection;
// a container's init allocates ~1.5 MB and execs the container's command)
// takes every page it allocates fresh from the kernel: one page fault per
// 4 KiB, 10-40 µs each on a paravirtualized guest, ~500 per run. One huge
// page takes the place of 512 of them for the price of zeroing 2 MiB once
// (~0.15 ms here), and of up to 4 MiB more resident memory for the
// process's short life. The kernel falls back to small pages when it has
// no huge page at hand, or when the memory cgroup cannot take one; where
// THP is "never" nothing changes.
//
// The heap is mapped in 4 MiB chunks, and the kernel makes a huge page
// only where no page of an aligned 2 MiB is mapped yet, so HugeHeap lets
// the heap's current chunk be: it takes every free run of pages left in
// it (allocations of the least large size, never written: address space,
// no memory; the heap's randomized base and its page caches leave such
// runs below the highest page in use, where small objects' spans would
// otherwise go), until one comes from the next chunk, which the heap maps
// then, and advises that chunk while nothing in it has been touched
// (mincore(2) tells). Steering by allocation relies on how the runtime
// places pages (lowest free address first); where that does not hold, it
// advises less, or nothing. Only the first call does anything.
//
// It is a policy for the whole process, for short-lived ones: it doubles
// GOGC for the rest of the process's life (see below) and keeps up to
// 4 MiB of address space. hako's CLI calls it for run, create and bundle,
// and the container's init (Init) before libcontainer's; a long-running
// program that embeds hako should not.
var HugeHeap = sync.OnceFunc(hugeHeap)

func hugeHeap() {
	if unsafe.Sizeof(uintptr(0)) != 8 || os.Getpagesize() != 4096 {
		return
	}
	// Up to 4 MiB the collector counts as heap, though it is never
	// touched: the heap's goal grows by as much (it starts at 4 MiB,
	// GOGC=100), so no collection comes of it (one costs 3-18 ms here,
	// and a run's parent or a container's init collects nothing
	// otherwise).
	if old := debug.SetGCPercent(100); old >= 0 {
		debug.SetGCPercent(2 * old)
	} else {
		debug.SetGCPercent(old)
	}
	var vec [heapChunkSize / 4096]byte
	var chunk, n uintptr
	for range heapChunkSize/hugeFillSize + 2 {
		b := make([]byte, hugeFillSize)
		hugeHeapHold = append(hugeHeapHold, b)
		a := uintptr(unsafe.Pointer(&b[0]))
		if chunk == 0 {
			chunk = a &^ (heapChunkSize - 1)
			if !mincore(chunk, vec[:]) {
				return
			}
			if untouched(vec[:]) { // a chunk the heap just mapped
				n = a
				break
			}
		} else if a&^(heapChunkSize-1) != chunk {
			n = a // the heap's next chunk
			chunk = n &^ (heapChunkSize - 1)
			if !mincore(chunk, vec[:]) {
				return
			}
			break
		}
	}
	if n == 0 {
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
