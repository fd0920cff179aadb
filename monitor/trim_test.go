package monitor

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exeROStats sums the resident KiB and counts the mappings of this test
// binary's read-only, non-writable mappings.
func exeROStats(t *testing.T) (rssKiB, mappings int) {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			in = len(f) >= 6 && f[5] == exe && !strings.Contains(f[1], "w")
			if in {
				mappings++
			}
			continue
		}
		if in && f[0] == "Rss:" {
			n, _ := strconv.Atoi(f[1])
			rssKiB += n
		}
	}
	return rssKiB, mappings
}

func TestTrimTextUnmapsAndSplits(t *testing.T) {
	maps, err := cleanExeMappings()
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) == 0 {
		t.Fatal("no clean read-only mapping of the executable found")
	}
	var size uintptr
	for _, m := range maps {
		size += m.end - m.start
	}
	rssBefore, nBefore := exeROStats(t)
	if err := trimText(); err != nil {
		t.Fatal(err)
	}
	rssAfter, nAfter := exeROStats(t)
	t.Logf("read-only executable mappings: %d KiB resident in %d mappings before, %d KiB in %d after (%d KiB mapped)",
		rssBefore, nBefore, rssAfter, nAfter, size>>10)
	// Cut into 16 KiB pieces: about one mapping per chunk.
	if want := nBefore + int(size/trimChunk)/2; nAfter < want {
		t.Errorf("%d mappings after the trim, want at least %d", nAfter, want)
	}
	if rssAfter >= rssBefore {
		t.Errorf("resident read-only pages of the executable: %d KiB before the trim, %d KiB after", rssBefore, rssAfter)
	}
	// The process still runs its code and reads its data: the pages come back.
	if _, err := cleanExeMappings(); err != nil {
		t.Fatal(err)
	}
	// A second trim (a restarted container) adds no mapping.
	if err := trimText(); err != nil {
		t.Fatal(err)
	}
	if _, n := exeROStats(t); n > nAfter+2 {
		t.Errorf("a second trim made %d mappings from %d", n, nAfter)
	}
}

func TestCleanExeMappingsSkipsWrittenOnes(t *testing.T) {
	maps, err := cleanExeMappings()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			lo, hi, _ := strings.Cut(f[0], "-")
			s, _ := strconv.ParseUint(lo, 16, 64)
			e, _ := strconv.ParseUint(hi, 16, 64)
			if uintptr(s) < m.end && m.start < uintptr(e) && strings.ContainsAny(f[1], "ws") {
				t.Errorf("trimmed range %x-%x overlaps a writable or shared mapping: %s", m.start, m.end, line)
			}
		}
	}
}

// RELRO (relocated at start-up, then made read-only) holds private pages:
// dropping them would bring back the file's unrelocated bytes.
func TestCleanExeMappingsSkipsRELRO(t *testing.T) {
	maps, err := cleanExeMappings()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var start uint64
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			start = 0
			if len(f) >= 6 && f[5] == exe && !strings.Contains(f[1], "w") {
				lo, _, _ := strings.Cut(f[0], "-")
				start, _ = strconv.ParseUint(lo, 16, 64)
			}
			continue
		}
		if start != 0 && f[0] == "Anonymous:" && f[1] != "0" {
			found++
			for _, m := range maps {
				if uint64(m.start) == start {
					t.Errorf("mapping at %x holds private pages and would be trimmed", start)
				}
			}
		}
	}
	t.Logf("%d read-only mappings of the executable with private pages (RELRO), none trimmed", found)
}

// After a garbage collection the executable is unmapped again, once a
// minute at most.
func TestTrimAfterGC(t *testing.T) {
	Trim()
	trimmed.Lock()
	trimmed.last = time.Now().Add(-2 * time.Minute)
	trimmed.Unlock()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		trimmed.Lock()
		again := time.Since(trimmed.last) < time.Minute
		trimmed.Unlock()
		if again {
			return
		}
	}
	t.Fatal("no trim after a garbage collection")
}

// A read-only mapping whose private pages are swapped out shows
// Anonymous: 0 but Swap > 0: it holds private data all the same.
func TestParseExeMappingsSkipsSwappedPrivatePages(t *testing.T) {
	const smaps = `00400000-00800000 r-xp 00000000 08:01 12 /usr/bin/hako
Rss:                 100 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd ex mr mw me
00800000-00810000 r--p 00400000 08:01 12 /usr/bin/hako
Rss:                   0 kB
Anonymous:             0 kB
Swap:                 64 kB
VmFlags: rd mr mw me
00810000-00820000 r--p 00410000 08:01 12 /usr/bin/hako
Anonymous:             8 kB
Swap:                  0 kB
VmFlags: rd mr mw me
00820000-00830000 rw-p 00420000 08:01 12 /usr/bin/hako
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd wr mr mw me
`
	maps, err := parseExeMappings(strings.NewReader(smaps), "/usr/bin/hako")
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 1 || maps[0] != (exeMapping{0x400000, 0x800000}) {
		t.Fatalf("clean mappings %x, want only the text at 400000-800000", maps)
	}
}
