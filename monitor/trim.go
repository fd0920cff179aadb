package monitor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A monitor is a re-exec of the whole hako binary (16 MiB of code and
// read-only data) that starts its container through libcontainer and then
// idles for the container's life in a few runtime functions. The kernel
// maps a file's page-cache folio whole on a fault when the folio lies
// within one mapping (Linux 6.18; ext4 caches files in folios of up to
// 2 MiB since 6.16), and otherwise maps the 64 KiB around the fault: left
// alone, an idle monitor had its whole 16 MiB resident (19 MB RSS, of which
// 2.9 MB its own). Once the container runs, trimText cuts the executable's
// read-only mappings into chunk-sized mappings, so that a fault maps at
// most one chunk, and drops what start-up mapped; the pages stay in the
// page cache, shared with every other hako process, and fault back in as
// they are touched. The idle monitor then maps 0.6–1.1 MB of them
// (BENCHMARKS.md, "Idle monitor memory"). Smaller chunks map less but cost
// the kernel ~220 bytes per mapping: 16 KiB makes ~1,100 of them.
const trimChunk = 16 << 10

// Trim is called once a container runs, in the process that waits for it
// (the monitor; the foreground hako run): what start-up allocated (the
// spec, libcontainer's config, JSON) is garbage now and goes back to the
// kernel, as does libseccomp's freed C heap (malloc.go), and the code that
// start-up ran is unmapped (trimText). It only saves memory.
func Trim() {
	debug.FreeOSMemory()
	trimCHeap()
	trimText()
	trimAfterGC.Do(func() { rearmAfterGC() })
}

// trimmed holds the executable's read-only ranges once they are split.
var trimmed struct {
	sync.Mutex
	maps []exeMapping
	last time.Time
}

// trimText splits and unmaps, best effort: it changes only what this process maps,
// never what a page holds. The first call splits the mappings; later ones
// (a restarted container, a garbage collection) only unmap.
func trimText() error {
	trimmed.Lock()
	defer trimmed.Unlock()
	trimmed.last = time.Now()
	if trimmed.maps != nil {
		for _, m := range trimmed.maps {
			madvise(m.start, m.end-m.start, unix.MADV_DONTNEED)
		}
		return nil
	}
	maps, err := cleanExeMappings()
	if err != nil {
		return err
	}
	// A kernel with pages larger than a chunk (arm64 with 64 KiB pages)
	// refuses madvise at an address that is not page-aligned.
	chunk := max(uintptr(trimChunk), uintptr(os.Getpagesize()))
	for _, m := range maps {
		// Every other chunk gets MADV_RANDOM, whose only effect is no
		// read-ahead when a page is not cached: neighbours with different
		// flags cannot merge, so each chunk is a mapping of its own.
		for a := (m.start + chunk - 1) &^ (chunk - 1); a+chunk <= m.end; a += 2 * chunk {
			if err := madvise(a, chunk, unix.MADV_RANDOM); err != nil {
				return fmt.Errorf("splitting the executable's mapping: %w", err)
			}
		}
		// The mapping holds only page-cache pages (cleanExeMappings), so
		// this unmaps them and loses nothing.
		if err := madvise(m.start, m.end-m.start, unix.MADV_DONTNEED); err != nil {
			return fmt.Errorf("unmapping start-up pages: %w", err)
		}
	}
	trimmed.maps = maps
	return nil
}

// A garbage collection (the runtime forces one every 2 minutes, even in an
// idle process) runs code that nothing else runs: 1.6 MB more of the
// executable stayed mapped after the first one. A finalizer, set again at
// each collection, unmaps it once the collection is over, at most once a
// minute (a chatty container's monitor collects more often).
var trimAfterGC sync.Once

// gcSentinel holds a pointer, so it is never a tiny allocation (whose
// finalizer may not run).
type gcSentinel struct{ _ *byte }

func rearmAfterGC() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		trimmed.Lock()
		due := time.Since(trimmed.last) >= time.Minute
		if due {
			trimmed.last = time.Now() // the collection below is not due
		}
		trimmed.Unlock()
		rearmAfterGC()
		if due {
			// What the collection left free goes back too.
			debug.FreeOSMemory()
			trimText()
		}
	})
}

// exeMapping is an address range of a mapping.
type exeMapping struct{ start, end uintptr }

// cleanExeMappings lists this process's read-only mappings of its own
// executable that hold no private page: text and read-only data. Writable
// ones (data, bss) and RELRO, written at start-up before it became
// read-only, are never returned: MADV_DONTNEED would lose their contents.
func cleanExeMappings() ([]exeMapping, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("finding the executable: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseExeMappings(f, exe)
}

// parseExeMappings reads smaps text for cleanExeMappings. A private page
// is either resident (Anonymous) or swapped out (Swap): a RELRO page of an
// idle process can be swapped out, and MADV_DONTNEED would drop it too.
func parseExeMappings(r io.Reader, exe string) ([]exeMapping, error) {
	var out []exeMapping
	var cur *exeMapping // the candidate whose fields are being read
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if rng, ok := strings.CutSuffix(fields[0], ":"); ok { // a field of the current mapping
			if (rng == "Anonymous" || rng == "Swap") && cur != nil && (len(fields) < 2 || fields[1] != "0") {
				cur = nil
			}
			if rng == "VmFlags" && cur != nil {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		cur = nil
		if len(fields) < 6 || strings.Join(fields[5:], " ") != exe || strings.ContainsAny(fields[1], "ws") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("reading /proc/self/smaps: unexpected line %q", sc.Text())
		}
		cur = &exeMapping{uintptr(start), uintptr(end)}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading /proc/self/smaps: %w", err)
	}
	return out, nil
}

func madvise(start, length uintptr, advice int) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, start, length, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}
