package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testLog(t *testing.T, opts ...string) (*Info, *LogWriter) {
	t.Helper()
	lc, err := ParseLogOpts(opts)
	if err != nil {
		t.Fatal(err)
	}
	info := &Info{Dir: t.TempDir(), Record: Record{ID: "c1", Name: "c", Log: lc}}
	w, err := OpenLog(info.Dir, info.ID, lc)
	if err != nil {
		t.Fatal(err)
	}
	return info, w
}

func readAll(t *testing.T, info *Info, o LogOptions) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := ReadLogs(info, o, &out, &errOut, func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String()
}

// Lines are cut at newlines whatever the writes; streams stay apart; an
// unfinished last line is written at Close; each entry is Docker's JSON.
func TestLogWriterLines(t *testing.T) {
	info, w := testLog(t)
	out, errs := w.Stream("stdout"), w.Stream("stderr")
	out.Write([]byte("hel"))
	errs.Write([]byte("oops\n"))
	out.Write([]byte("lo\nwor"))
	out.Write([]byte("ld\nno newline"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logPath(info.Dir, info.ID))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []logEntry{{Log: "oops\n", Stream: "stderr"}, {Log: "hello\n", Stream: "stdout"}, {Log: "world\n", Stream: "stdout"}, {Log: "no newline", Stream: "stdout"}}
	if len(lines) != len(want) {
		t.Fatalf("log lines: %q", lines)
	}
	for i, l := range lines {
		var e logEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Log != want[i].Log || e.Stream != want[i].Stream || e.Time.IsZero() {
			t.Errorf("line %d: %s (%v), want %+v", i, l, err, want[i])
		}
		if !strings.HasPrefix(l, `{"log":`) {
			t.Errorf("line %d does not start as Docker's: %s", i, l)
		}
	}
	o, e := readAll(t, info, LogOptions{Tail: -1})
	if o != "hello\nworld\nno newline" || e != "oops\n" {
		t.Errorf("read back: stdout %q, stderr %q", o, e)
	}
}

// A line longer than 16 KiB is split into entries, as Docker does.
func TestLogWriterLongLine(t *testing.T) {
	info, w := testLog(t)
	long := strings.Repeat("x", 40<<10) + "\n"
	w.Stream("stdout").Write([]byte(long))
	w.Close()
	b, _ := os.ReadFile(logPath(info.Dir, info.ID))
	if n := strings.Count(string(b), "\n"); n != 3 {
		t.Errorf("%d entries for a 40 KiB line, want 3", n)
	}
	if o, _ := readAll(t, info, LogOptions{Tail: -1}); o != long {
		t.Errorf("read back %d bytes, want the %d written", len(o), len(long))
	}
}

// Rotation keeps max-file files under max-size, drops the oldest, and the
// reader returns what is kept, in order.
func TestLogRotationKeepsNewest(t *testing.T) {
	info, w := testLog(t, "max-size=1k", "max-file=3")
	s := w.Stream("stdout")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(s, "line %d\n", i)
	}
	w.Close()
	p := logPath(info.Dir, info.ID)
	for _, f := range []string{p, p + ".1", p + ".2"} {
		if fi, err := os.Stat(f); err != nil || fi.Size() > 1024 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(p + ".3"); !os.IsNotExist(err) {
		t.Errorf("fourth file: %v", err)
	}
	o, _ := readAll(t, info, LogOptions{Tail: -1})
	lines := strings.Split(strings.TrimSuffix(o, "\n"), "\n")
	if lines[len(lines)-1] != "line 199" || len(lines) >= 200 || len(lines) < 30 {
		t.Fatalf("%d lines kept, last %q", len(lines), lines[len(lines)-1])
	}
	var first int
	fmt.Sscanf(lines[0], "line %d", &first)
	for i, l := range lines {
		if l != fmt.Sprintf("line %d", first+i) {
			t.Fatalf("line %d = %q: not in order", i, l)
		}
	}
	if o, _ := readAll(t, info, LogOptions{Tail: 2}); o != "line 198\nline 199\n" {
		t.Errorf("tail 2: %q", o)
	}
	// max-file=1 just empties the one file.
	info1, w1 := testLog(t, "max-size=100", "max-file=1")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(w1.Stream("stdout"), "line %d\n", i)
	}
	w1.Close()
	if _, err := os.Stat(logPath(info1.Dir, info1.ID) + ".1"); !os.IsNotExist(err) {
		t.Errorf("max-file=1 made a second file: %v", err)
	}
	if o, _ := readAll(t, info1, LogOptions{Tail: -1}); !strings.HasSuffix(o, "line 49\n") || strings.Contains(o, "line 0\n") {
		t.Errorf("max-file=1 kept %q", o)
	}
}

func TestLogSinceUntil(t *testing.T) {
	info, w := testLog(t)
	s := w.Stream("stdout")
	s.Write([]byte("early\n"))
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	s.Write([]byte("late\n"))
	w.Close()
	if o, _ := readAll(t, info, LogOptions{Tail: -1, Since: mid}); o != "late\n" {
		t.Errorf("since: %q", o)
	}
	if o, _ := readAll(t, info, LogOptions{Tail: -1, Until: mid}); o != "early\n" {
		t.Errorf("until: %q", o)
	}
}

func TestParseLogOpts(t *testing.T) {
	c, err := ParseLogOpts(nil)
	if err != nil || c.Type != "json-file" || c.Config["max-size"] != "10m" || c.Config["max-file"] != "3" {
		t.Errorf("defaults: %+v %v", c, err)
	}
	for _, bad := range [][]string{{"max-size=0"}, {"max-size=lots"}, {"max-file=0"}, {"compress=true"}, {"max-size"}} {
		if _, err := ParseLogOpts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                  now.Add(-10 * time.Minute),
		"1700000000":           time.Unix(1700000000, 0),
		"2026-01-02T03:00:00Z": time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC),
		"2026-01-02":           time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseLogTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseLogTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLogTime("yesterday", now); err == nil {
		t.Error("yesterday accepted")
	}
}

// A follower keeps every entry in order while the log rotates under it,
// even several times between two of its polls, and ends when told.
func TestLogFollowAcrossRotations(t *testing.T) {
	info, w := testLog(t, "max-size=2k", "max-file=5")
	var ended atomic.Bool
	out := &countingBuffer{}
	go func() {
		s := w.Stream("stdout")
		for i := 0; i < 400; i++ {
			// A batch of 40 entries (~2.4 KB, a rotation or two) at once;
			// before the next, the follower has read up to this one: it may
			// lag a batch, never more than the 5 files keep (slow hosts,
			// qemu, poll whenever they get to it).
			if i%40 == 0 {
				for deadline := time.Now().Add(30 * time.Second); out.lines.Load() < int64(i) && time.Now().Before(deadline); {
					time.Sleep(5 * time.Millisecond)
				}
			}
			fmt.Fprintf(s, "line %d\n", i)
		}
		w.Close()
		ended.Store(true)
	}()
	if err := ReadLogs(info, LogOptions{Follow: true, Tail: -1}, out, out, ended.Load); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("followed %d lines, want 400", len(lines))
	}
	for i, l := range lines {
		if l != fmt.Sprintf("line %d", i) {
			t.Fatalf("line %d = %q", i, l)
		}
	}
}

// countingBuffer collects what a follower writes and counts its lines, for
// a writer to read while the follower writes.
type countingBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines atomic.Int64
}

func (b *countingBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines.Add(int64(bytes.Count(p, []byte("\n"))))
	return b.buf.Write(p)
}

func (b *countingBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
