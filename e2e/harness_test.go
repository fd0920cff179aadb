package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// store is one test's hako state: its own --root and --runroot.
type store struct {
	root, runroot string
}

func newStore(t *testing.T) *store {
	t.Helper()
	return &store{root: t.TempDir(), runroot: t.TempDir()}
}

// hakoTimeout bounds every hako invocation so a hang fails the test.
const hakoTimeout = 3 * time.Minute

// hako runs the binary with this store's --root and --runroot.
func (s *store) hako(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return s.hakoIn(t, nil, args...)
}

// hakoIn is hako with stdin.
func (s *store) hakoIn(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return hakoRun(t, stdin, append([]string{"--root", s.root, "--runroot", s.runroot}, args...)...)
}

// cmd returns a not yet started hako command on this store.
func (s *store) cmd(args ...string) *exec.Cmd {
	return exec.Command(hakoBin, append([]string{"--root", s.root, "--runroot", s.runroot}, args...)...)
}

// hakoRun runs hako with exactly args. A run that outlives hakoTimeout is
// killed and fails the test.
func hakoRun(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(hakoBin, args...)
	cmd.Stdin = stdin
	return runTool(t, cmd)
}

// runTool runs cmd (hako, or hako under another command) to its end and
// returns its output and exit code. A run that outlives hakoTimeout is
// killed and fails the test, as does one that cannot start.
func runTool(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("running %q: %v", cmd.Args, err)
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(hakoTimeout, func() { timedOut.Store(true); cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	if timedOut.Load() {
		t.Fatalf("%q timed out after %v; stderr: %s", cmd.Args, hakoTimeout, errb.String())
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running %q: %v", cmd.Args, err)
	}
	t.Logf("%s -> %d\nstdout: %s\nstderr: %s", strings.Join(cmd.Args, " "), cmd.ProcessState.ExitCode(), out.String(), errb.String())
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// mustHako runs hako and fails the test unless it exits 0.
func (s *store) mustHako(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.hako(t, args...)
	if code != 0 {
		t.Fatalf("hako %s: exit %d, stderr: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// wantOneError checks Docker's failure shape: exit 1 and exactly one line on
// stderr, beginning "Error: ".
func wantOneError(t *testing.T, what string, stderr string, code int) {
	t.Helper()
	if code != 1 {
		t.Errorf("%s: exit %d, want 1", what, code)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "Error: ") || len(lines[0]) <= len("Error: ") {
		t.Errorf("%s: stderr %q, want exactly one line starting with \"Error: \"", what, stderr)
	}
}

// imageRow is one line of `hako images`.
type imageRow struct {
	Repository, Tag, ID, Created, Size string
}

var columns = regexp.MustCompile(`\s{2,}`)

// images runs `hako images ARGS...` and parses its table.
func (s *store) images(t *testing.T, args ...string) []imageRow {
	t.Helper()
	out := s.mustHako(t, append([]string{"images"}, args...)...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	head := columns.Split(strings.TrimSpace(lines[0]), -1)
	want := []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}
	if strings.Join(head, "|") != strings.Join(want, "|") {
		t.Fatalf("images header %q, want columns %q", lines[0], want)
	}
	var rows []imageRow
	for _, l := range lines[1:] {
		f := columns.Split(strings.TrimSpace(l), -1)
		if len(f) != 5 {
			t.Fatalf("images row %q: %d columns, want 5", l, len(f))
		}
		rows = append(rows, imageRow{f[0], f[1], f[2], f[3], f[4]})
	}
	return rows
}

// findRow returns the rows for repo:tag.
func findRows(rows []imageRow, repo, tag string) []imageRow {
	var found []imageRow
	for _, r := range rows {
		if r.Repository == repo && r.Tag == tag {
			found = append(found, r)
		}
	}
	return found
}

var sizeRe = regexp.MustCompile(`^([0-9.]+)\s*(B|kB|KB|MB|GB|KiB|MiB|GiB)$`)

// parseSize reads Docker's human size ("2.03MB"; binary units accepted too).
func parseSize(s string) (float64, bool) {
	m := sizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	mult := map[string]float64{"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	return v * mult[m[2]], true
}

// inspectImage is the part of `docker image inspect` the tests compare.
type inspectImage struct {
	Id           string
	RepoTags     []string
	RepoDigests  []string
	Created      string
	Architecture string
	Os           string
	Variant      string
	Size         int64
	Config       struct {
		Env          []string
		Cmd          []string
		Entrypoint   []string
		WorkingDir   string
		User         string
		ExposedPorts map[string]struct{}
		Labels       map[string]string
	}
	RootFS struct {
		Type   string
		Layers []string
	}
}

// inspect runs `hako inspect REF` and decodes its one-element array.
func (s *store) inspect(t *testing.T, ref string) inspectImage {
	t.Helper()
	out := s.mustHako(t, "inspect", ref)
	var arr []inspectImage
	if err := json.Unmarshal([]byte(out), &arr); err != nil {
		t.Fatalf("inspect %s: output is not a JSON array: %v\n%s", ref, err, out)
	}
	if len(arr) != 1 {
		t.Fatalf("inspect %s: %d elements, want 1", ref, len(arr))
	}
	return arr[0]
}

// ociIndex is ROOT/images/index.json.
type ociIndex struct {
	Manifests []struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Annotations map[string]string `json:"annotations"`
	} `json:"manifests"`
}

func (s *store) index(t *testing.T) ociIndex {
	t.Helper()
	var idx ociIndex
	b, err := os.ReadFile(filepath.Join(s.root, "images", "index.json"))
	if os.IsNotExist(err) {
		return idx // a store nothing was ever committed to
	}
	if err != nil {
		t.Fatalf("reading the store's index.json: %v", err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("parsing the store's index.json: %v\n%s", err, b)
	}
	return idx
}

// refEntries counts index.json entries named ref.
func (s *store) refEntries(t *testing.T, ref string) int {
	t.Helper()
	n := 0
	for _, m := range s.index(t).Manifests {
		if m.Annotations["org.opencontainers.image.ref.name"] == ref {
			n++
		}
	}
	return n
}

// layerFiles lists ROOT/layers/*/rel that exist.
func (s *store) layerFiles(t *testing.T, rel string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(s.root, "layers", "*", rel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// layerDirs lists the entries of ROOT/layers (none if it does not exist).
func (s *store) layerDirs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.root, "layers"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// diskUsage is the space allocated under dir (like du -s), hardlinks once.
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		total += st.Blocks * 512
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return total
}

// snapshot describes every file under dir (type, mode, size, content hash of
// regular files) so tests can check a failed command left the store alone.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String() + " " + strconv.FormatInt(fi.Size(), 10)
		if fi.Mode().IsRegular() {
			desc += " " + fileHash(t, p)
		}
		rel, _ := filepath.Rel(dir, p)
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func fileHash(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// diffSnapshots reports paths added, removed or changed between a and b.
func diffSnapshots(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "removed "+k)
		} else if v != w {
			d = append(d, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	return d
}

// throttle is a TCP proxy to the registry that can slow responses down, so a
// pull can be caught in the middle.
type throttle struct {
	addr string       // "127.0.0.1:PORT" to use in references
	rate atomic.Int64 // bytes per second from registry to client; 0 = unlimited
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open []net.Conn
}

func newThrottle(t *testing.T, bytesPerSec int64) *throttle {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &throttle{addr: ln.Addr().String(), ln: ln}
	p.rate.Store(bytesPerSec)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *throttle) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", registry)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.open = append(p.open, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
		go func() { defer p.wg.Done(); p.slowCopy(c, up); c.Close() }()
	}
}

// slowCopy copies src to dst in 16 KiB chunks, pacing to the current rate.
func (p *throttle) slowCopy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 16<<10)
	start, sent := time.Now(), int64(0)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			if r := p.rate.Load(); r > 0 {
				due := start.Add(time.Duration(float64(sent) / float64(r) * float64(time.Second)))
				time.Sleep(time.Until(due))
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *throttle) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// shortID is Docker's 12-hex image ID.
func shortID(config string) string {
	return strings.TrimPrefix(config, "sha256:")[:12]
}
