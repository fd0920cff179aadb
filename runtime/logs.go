package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/go-units"
)

// LogConfig is how a detached container's output is kept, as Docker's
// HostConfig.LogConfig: only the json-file driver, with max-size and
// max-file.
type LogConfig struct {
	Type   string            `json:"type"`
	Config map[string]string `json:"config,omitempty"`
}

// Unlike Docker's json-file default (keep everything), a log is capped:
// a chatty container must not fill a Pi's SD card.
const (
	defaultLogMaxSize = "10m"
	defaultLogMaxFile = "3"
)

// ParseLogOpts turns --log-opt KEY=VALUE flags into a json-file LogConfig
// with the defaults filled in.
func ParseLogOpts(opts []string) (*LogConfig, error) {
	c := &LogConfig{Type: "json-file", Config: map[string]string{"max-size": defaultLogMaxSize, "max-file": defaultLogMaxFile}}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, fmt.Errorf("invalid --log-opt %q: want KEY=VALUE", o)
		}
		switch k {
		case "max-size", "max-file":
			c.Config[k] = v
		default:
			return nil, fmt.Errorf("unknown log opt %q for json-file log driver: hako supports max-size and max-file", k)
		}
	}
	if _, _, err := c.limits(); err != nil {
		return nil, err
	}
	return c, nil
}

// limits are the size at which the log rotates and how many files are kept.
func (c *LogConfig) limits() (maxSize int64, maxFile int, err error) {
	maxSize, err = units.RAMInBytes(c.Config["max-size"])
	if err != nil || maxSize <= 0 {
		return 0, 0, fmt.Errorf("invalid log opt max-size %q: want a positive size such as 10m", c.Config["max-size"])
	}
	maxFile, err = strconv.Atoi(c.Config["max-file"])
	if err != nil || maxFile < 1 {
		return 0, 0, fmt.Errorf("invalid log opt max-file %q: want a number of files, at least 1", c.Config["max-file"])
	}
	return maxSize, maxFile, nil
}

// logPath is the json-file log of container id in dir, as Docker names it.
func logPath(dir, id string) string { return filepath.Join(dir, id+"-json.log") }

// logEntry is one line of a json-file log.
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// LogWriter writes a container's output to its json-file log, one entry
// per line, rotating the file at max-size and keeping max-file files
// (<id>-json.log, .1 … .N-1, oldest last).
type LogWriter struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	maxSize int64
	maxFile int
	streams []*logStream
}

// OpenLog opens the log of the container in dir for appending.
func OpenLog(dir, id string, c *LogConfig) (*LogWriter, error) {
	maxSize, maxFile, err := c.limits()
	if err != nil {
		return nil, err
	}
	w := &LogWriter{path: logPath(dir, id), maxSize: maxSize, maxFile: maxFile}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *LogWriter) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening container log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening container log: %w", err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Stream returns a writer for one stream ("stdout" or "stderr"). Output is
// cut into entries at newlines; a line longer than 16 KiB is split, as
// Docker does.
func (w *LogWriter) Stream(name string) io.Writer {
	s := &logStream{w: w, name: name}
	w.mu.Lock()
	w.streams = append(w.streams, s)
	w.mu.Unlock()
	return s
}

// Close writes what is left of unfinished lines and closes the file.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.streams {
		if len(s.buf) > 0 {
			w.write(s.name, s.buf)
			s.buf = nil
		}
	}
	return w.f.Close()
}

// write appends one entry, rotating first if it would pass max-size.
// Called with mu held. A failed write is dropped: the container must not
// block on its log.
func (w *LogWriter) write(stream string, line []byte) {
	b, err := json.Marshal(logEntry{Log: string(line), Stream: stream, Time: time.Now().UTC()})
	if err != nil {
		return
	}
	b = append(b, '\n')
	if w.size > 0 && w.size+int64(len(b)) > w.maxSize {
		w.rotate()
	}
	n, _ := w.f.Write(b) // one write: readers see whole lines
	w.size += int64(n)
}

// rotate shifts <log>.i to <log>.i+1, dropping the oldest, and starts an
// empty log. With max-file 1 the log is just emptied.
func (w *LogWriter) rotate() {
	w.f.Close()
	if w.maxFile > 1 {
		for i := w.maxFile - 1; i > 1; i-- {
			os.Rename(fmt.Sprintf("%s.%d", w.path, i-1), fmt.Sprintf("%s.%d", w.path, i))
		}
		os.Rename(w.path, w.path+".1")
	} else {
		os.Truncate(w.path, 0)
	}
	if err := w.open(); err != nil {
		// Keep writing somewhere harmless rather than crash the monitor.
		w.f, _ = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
}

const maxLogLine = 16 << 10

type logStream struct {
	w    *LogWriter
	name string
	buf  []byte
}

func (s *logStream) Write(p []byte) (int, error) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 && len(s.buf) < maxLogLine {
			break
		}
		n := i + 1
		if i < 0 || n > maxLogLine {
			n = maxLogLine
		}
		s.w.write(s.name, s.buf[:n])
		s.buf = s.buf[n:]
	}
	if len(s.buf) == 0 {
		s.buf = nil // let the backing array go
	}
	return len(p), nil
}

// LogOptions select what ReadLogs prints, as docker logs' flags.
type LogOptions struct {
	Follow       bool
	Tail         int // the last Tail entries; < 0 for all
	Timestamps   bool
	Since, Until time.Time // zero: no bound
}

// ParseLogTime parses --since/--until as Docker does: an RFC 3339 time or
// date, a Unix timestamp, or a duration before now ("10m").
func ParseLogTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: use a time (2006-01-02T15:04:05Z), a Unix timestamp or a duration (10m)", s)
}

// ReadLogs prints the container's log: stdout entries to stdout, stderr
// entries to stderr. With Follow it keeps printing new entries, across
// rotations, until done reports that the container ended.
func ReadLogs(info *Info, o LogOptions, stdout, stderr io.Writer, done func() bool) error {
	if info.Log == nil {
		return fmt.Errorf("container %s has no log: only containers run with -d keep one", info.Name)
	}
	path := logPath(info.Dir, info.ID)
	_, maxFile, err := info.Log.limits()
	if err != nil {
		return err
	}
	print := func(e logEntry) bool {
		if !o.Since.IsZero() && e.Time.Before(o.Since) {
			return true
		}
		if !o.Until.IsZero() && e.Time.After(o.Until) {
			return false
		}
		out := stdout
		if e.Stream == "stderr" {
			out = stderr
		}
		if o.Timestamps {
			fmt.Fprintf(out, "%s %s", e.Time.Format(time.RFC3339Nano), e.Log)
		} else {
			io.WriteString(out, e.Log)
		}
		return true
	}
	// Rotated files first, oldest first, then the current one, which is
	// kept open for --follow.
	var entries []logEntry
	for i := maxFile - 1; i >= 1; i-- {
		f, err := os.Open(fmt.Sprintf("%s.%d", path, i))
		if err != nil {
			continue
		}
		entries = readEntries(bufio.NewReader(f), entries)
		f.Close()
	}
	cur, err := os.Open(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading container log: %w", err)
	}
	var r *bufio.Reader
	var partial []byte // a line being written as we read
	if cur != nil {
		defer func() {
			if cur != nil {
				cur.Close()
			}
		}()
		r = bufio.NewReader(cur)
		var more []logEntry
		more, partial = readNew(r, nil)
		entries = append(entries, more...)
	}
	if o.Tail >= 0 && len(entries) > o.Tail {
		entries = entries[len(entries)-o.Tail:]
	}
	for _, e := range entries {
		if !print(e) {
			return nil
		}
	}
	if !o.Follow {
		return nil
	}
	for {
		ended := done() // before reading: what it wrote before ending is read below
		if cur != nil {
			var more []logEntry
			more, partial = readNew(r, partial)
			for _, e := range more {
				if !print(e) {
					return nil
				}
			}
			// Rotated: the old file is read to its end; read the files
			// rotated after it, then go on with the new one.
			if st, err := os.Stat(path); err == nil && !sameFile(cur, st) {
				for _, e := range rotatedAfter(cur, path, maxFile) {
					if !print(e) {
						return nil
					}
				}
				cur.Close()
				cur, partial = nil, nil
			}
		}
		if cur == nil {
			if f, err := os.Open(path); err == nil {
				cur, r = f, bufio.NewReader(f)
				continue
			}
		}
		if ended {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rotatedAfter returns the entries of the rotated files newer than f
// (<path>.i-1 … .1 when f is now <path>.i): several rotations may pass
// between two polls of a follower.
func rotatedAfter(f *os.File, path string, maxFile int) []logEntry {
	at := maxFile // f was dropped: every rotated file is newer
	for i := 1; i < maxFile; i++ {
		if st, err := os.Stat(fmt.Sprintf("%s.%d", path, i)); err == nil && sameFile(f, st) {
			at = i
			break
		}
	}
	var entries []logEntry
	for i := at - 1; i >= 1; i-- {
		if g, err := os.Open(fmt.Sprintf("%s.%d", path, i)); err == nil {
			entries = readEntries(bufio.NewReader(g), entries)
			g.Close()
		}
	}
	return entries
}

func sameFile(f *os.File, st os.FileInfo) bool {
	fst, err := f.Stat()
	if err != nil {
		return false
	}
	a, ok1 := fst.Sys().(*syscall.Stat_t)
	b, ok2 := st.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && a.Ino == b.Ino && a.Dev == b.Dev
}

// readEntries appends the whole entries of r to entries; a torn last line
// (a write cut by a crash) is skipped.
func readEntries(r *bufio.Reader, entries []logEntry) []logEntry {
	more, _ := readNew(r, nil)
	return append(entries, more...)
}

// readNew reads the complete lines r has now; an unfinished line is
// returned to be completed by the next call.
func readNew(r *bufio.Reader, partial []byte) ([]logEntry, []byte) {
	var out []logEntry
	for {
		line, err := r.ReadBytes('\n')
		partial = append(partial, line...)
		if err != nil {
			return out, partial
		}
		var e logEntry
		if json.Unmarshal(partial, &e) == nil {
			out = append(out, e)
		}
		partial = partial[:0]
	}
}
