package e2e

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/internal/testimage"
)

// TestPullMultiArch: an index resolves to the host's image by default and to
// the requested one with --platform, normalised as Docker does.
func TestPullMultiArch(t *testing.T) {
	idx, err := testimage.MultiArch(busybox.img)
	if err != nil {
		t.Fatal(err)
	}
	ref := registry + "/multi:latest"
	pushIndex(t, ref, idx)
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	platformImage := func(t *testing.T, p v1.Platform) pushed {
		img, err := testimage.PlatformImage(p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := describe(ref, img)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	t.Run("default is the host", func(t *testing.T) {
		s := newStore(t)
		s.mustHako(t, "pull", ref)
		ins := s.inspect(t, ref)
		if ins.Architecture != runtime.GOARCH || ins.Os != "linux" {
			t.Errorf("default pull gave %s/%s, want linux/%s", ins.Os, ins.Architecture, runtime.GOARCH)
		}
		checkInspect(t, ins, busybox)
		if rd := registry + "/multi@" + idxDigest.String(); !slices.Contains(ins.RepoDigests, rd) {
			t.Errorf("RepoDigests %q lack the index digest %s", ins.RepoDigests, rd)
		}
		checkBusyboxExtracted(t, s)
		if rows := s.images(t); len(rows) != 1 {
			t.Errorf("images after a multi-arch pull: %+v, want one row", rows)
		}
	})

	for _, c := range []struct {
		flag string
		want v1.Platform
	}{
		{"linux/arm/v7", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{"linux/arm/v6", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
		{"linux/arm64", v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{"linux/arm", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	} {
		t.Run(c.flag, func(t *testing.T) {
			if c.want.Equals(testimage.HostPlatform()) {
				return // the host's own platform is the default case above
			}
			want := platformImage(t, c.want)
			s := newStore(t)
			s.mustHako(t, "pull", "--platform", c.flag, ref)
			ins := s.inspect(t, ref)
			if ins.Architecture != c.want.Architecture || ins.Variant != c.want.Variant {
				t.Errorf("--platform %s gave %s/%s/%s, want %s", c.flag, ins.Os, ins.Architecture, ins.Variant, c.want)
			}
			checkInspect(t, ins, want)
			files := s.layerFiles(t, "platform")
			if len(files) != 1 {
				t.Fatalf("layers/*/platform: %q, want one", files)
			}
			if b, _ := os.ReadFile(files[0]); string(b) != c.want.String()+"\n" {
				t.Errorf("extracted /platform says %q, want %s", b, c.want)
			}
		})
	}

	t.Run("unavailable platform", func(t *testing.T) {
		s := newStore(t)
		_, errOut, code := s.hako(t, "pull", "--platform", "linux/riscv64", ref)
		wantOneError(t, "pull --platform linux/riscv64", errOut, code)
		for _, p := range []string{testimage.HostPlatform().String(), "linux/arm/v7", "linux/arm/v6"} {
			if !strings.Contains(errOut, p) {
				t.Errorf("error %q does not name the available platform %s", errOut, p)
			}
		}
		if !strings.Contains(errOut, "linux/riscv64") {
			t.Errorf("error %q does not name the requested platform", errOut)
		}
		if q := strings.TrimSpace(s.mustHako(t, "images", "-q")); q != "" {
			t.Errorf("images after a failed pull: %q", q)
		}
		if d := s.layerDirs(t); len(d) != 0 {
			t.Errorf("layers after a failed pull: %q", d)
		}
	})
}

// TestKilledPull: a pull killed mid-download leaves nothing that breaks or
// lingers: the next pull succeeds, and only finished blobs and layers remain.
func TestKilledPull(t *testing.T) {
	const bigSize = 60 << 20
	img, err := testimage.WithRandomFile(busybox.img, "big.bin", bigSize, 42)
	if err != nil {
		t.Fatal(err)
	}
	push(t, registry+"/big:latest", img)
	th := newThrottle(t, 8<<20) // 60 MiB at 8 MiB/s: about 7 s
	ref := th.addr + "/big:latest"
	s := newStore(t)

	cmd := s.cmd("pull", ref)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Kill once the big blob is clearly on its way, or after 3 s at most.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && diskUsage(t, s.root) < 12<<20 {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("killing pull (pid %d) with %d bytes under ROOT", cmd.Process.Pid, diskUsage(t, s.root))
	cmd.Process.Kill()
	<-exited
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the throttled pull ended by itself before the kill: %v, stderr %q", cmd.ProcessState, stderr.String())
	}

	// The interrupted image is not listed, and the store still works.
	if q := strings.TrimSpace(s.mustHako(t, "images", "-q")); q != "" {
		t.Errorf("images after a killed pull: %q, want nothing", q)
	}
	if n := s.refEntries(t, ref); n != 0 {
		t.Errorf("index.json names the killed pull's image %d times", n)
	}

	th.rate.Store(0)
	s.mustHako(t, "pull", ref)
	rows := s.images(t)
	if r := findRows(rows, th.addr+"/big", "latest"); len(r) != 1 || len(rows) != 1 {
		t.Errorf("images after kill and re-pull: %+v, want %s/big latest once", rows, th.addr)
	}
	if n := s.refEntries(t, ref); n != 1 {
		t.Errorf("index.json has %d entries for %s, want 1", n, ref)
	}
	big := s.layerFiles(t, "big.bin")
	if len(big) != 1 {
		t.Fatalf("layers/*/big.bin: %q, want one", big)
	}
	if fi, err := os.Stat(big[0]); err != nil || fi.Size() != bigSize {
		t.Errorf("extracted big.bin: %v %v, want %d bytes", fi, err, bigSize)
	}
	checkBusyboxExtracted(t, s)
	if d := s.layerDirs(t); len(d) != 2 {
		t.Errorf("layers/ holds %q, want the 2 layers of the image", d)
	}
	checkNoTemp(t, s)
}

// TestConcurrentPull: two pulls of one image into one store at the same time
// both succeed and store it once.
func TestConcurrentPull(t *testing.T) {
	img, err := testimage.WithRandomFile(busybox.img, "medium.bin", 8<<20, 7)
	if err != nil {
		t.Fatal(err)
	}
	push(t, registry+"/medium:latest", img)
	th := newThrottle(t, 16<<20) // about 0.5 s each, so the two overlap
	ref := th.addr + "/medium:latest"
	s := newStore(t)

	// Started directly (not through s.hako) so no goroutine calls t.Fatal.
	cmds := []*exec.Cmd{s.cmd("pull", ref), s.cmd("pull", ref)}
	stderrs := make([]strings.Builder, len(cmds))
	var wg sync.WaitGroup
	hang := time.AfterFunc(hakoTimeout, func() {
		for _, c := range cmds {
			c.Process.Kill() // by PID: a deadlocked pull must not hang the suite
		}
	})
	defer hang.Stop()
	for i, c := range cmds {
		c.Stderr = &stderrs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); c.Wait() }()
	}
	wg.Wait()
	for i, c := range cmds {
		if code := c.ProcessState.ExitCode(); code != 0 {
			t.Errorf("concurrent pull %d: exit %d, stderr %q", i, code, stderrs[i].String())
		}
	}
	if n := s.refEntries(t, ref); n != 1 {
		t.Errorf("index.json has %d entries for %s, want 1", n, ref)
	}
	if rows := s.images(t); len(rows) != 1 {
		t.Errorf("images after concurrent pulls: %+v, want one row", rows)
	}
	if d := s.layerDirs(t); len(d) != 2 {
		t.Errorf("layers/ holds %q, want the 2 layers of the image", d)
	}
	checkBusyboxExtracted(t, s)
	checkNoTemp(t, s)
}

var (
	hexName  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	tempName = regexp.MustCompile(`(?i)tmp|temp|partial|incomplete|staging|download|\.part$`)
)

// checkNoTemp: every blob is complete (hashes to its name), every layers/
// entry is a chain ID, and no temporary file or non-empty temporary directory
// is left anywhere else in the store.
func checkNoTemp(t *testing.T, s *store) {
	t.Helper()
	blobs := filepath.Join(s.root, "images", "blobs", "sha256")
	ents, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatalf("reading blobs: %v", err)
	}
	for _, e := range ents {
		if !hexName.MatchString(e.Name()) || !e.Type().IsRegular() {
			t.Errorf("images/blobs/sha256/%s is not a blob", e.Name())
		} else if h := fileHash(t, filepath.Join(blobs, e.Name())); h != e.Name() {
			t.Errorf("blob %s holds content hashing to %s (incomplete?)", e.Name(), h)
		}
	}
	for _, d := range s.layerDirs(t) {
		if !hexName.MatchString(d) {
			t.Errorf("layers/%s is not a chain ID directory", d)
		}
	}
	layers := filepath.Join(s.root, "layers")
	err = filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if filepath.Dir(p) == layers && d.IsDir() {
			return fs.SkipDir // a layer's own content may well have a tmp/
		}
		if p == s.root || !tempName.MatchString(d.Name()) {
			return nil
		}
		if d.IsDir() {
			if ents, _ := os.ReadDir(p); len(ents) == 0 {
				return nil
			}
		}
		rel, _ := filepath.Rel(s.root, p)
		t.Errorf("temporary leftover in the store: %s", rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedPull: Ctrl-C (SIGINT) during a pull ends it with exit 1
// and one error line, and it removes its own temporary files on the way out.
func TestInterruptedPull(t *testing.T) {
	img, err := testimage.WithRandomFile(busybox.img, "big.bin", 30<<20, 43)
	if err != nil {
		t.Fatal(err)
	}
	push(t, registry+"/interrupted:latest", img)
	th := newThrottle(t, 4<<20)
	ref := th.addr + "/interrupted:latest"
	s := newStore(t)
	cmd := s.cmd("pull", ref)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && diskUsage(t, s.root) < 4<<20 {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("interrupted pull: %v (stderr %q), want exit 1", err, stderr.String())
	}
	wantOneError(t, "interrupted pull", stderr.String(), 1)
	checkNoTemp(t, s) // no later command has run: the pull cleaned up itself
	if n := s.refEntries(t, ref); n != 0 {
		t.Errorf("index.json names the interrupted pull's image %d times", n)
	}
}

// TestRunPlatform: run --platform does not run a stored image of another
// platform: with --pull never it says so (Docker's message), otherwise it
// pulls the requested one. Without --platform a foreign image runs, with
// Docker's warning.
func TestRunPlatform(t *testing.T) {
	idx, err := testimage.MultiArch(busybox.img)
	if err != nil {
		t.Fatal(err)
	}
	ref := registry + "/multi-run:latest"
	pushIndex(t, ref, idx)
	host := testimage.HostPlatform()
	var other v1.Platform
	for _, p := range testimage.OtherPlatforms {
		if !image.RunsOn(p, host) {
			other = p
			break
		}
	}
	if other.OS == "" {
		t.Fatalf("every test platform runs on %s: add a foreign one to testimage.OtherPlatforms", image.PlatformString(host))
	}
	hostFlag, otherFlag := host.OS+"/"+host.Architecture, other.OS+"/"+other.Architecture
	otherFull := otherFlag
	if other.Variant != "" {
		otherFull += "/" + other.Variant
	}

	s := runStore(t)
	s.mustHako(t, "pull", "-q", "--platform", otherFlag, ref)

	_, errOut, code := s.run(t, "--rm", "--platform", hostFlag, "--pull", "never", ref, "true")
	want := "Error: image with reference " + ref + " was found but does not match the specified platform: wanted " + hostFlag + ", actual: " + otherFull + "\n"
	if code != 125 || !strings.HasSuffix(errOut, want) {
		t.Errorf("--pull never, other platform stored: exit %d, stderr %q; want 125 and %q", code, errOut, want)
	}

	// The foreign image runs when no platform is asked for (its /platform
	// file is all it has: no command, 127), with a warning.
	_, errOut, code = s.run(t, "--rm", ref, "/nosuch")
	if code != 127 || !strings.HasPrefix(errOut, "WARNING: The requested image's platform ("+otherFull+")") {
		t.Errorf("foreign image without --platform: exit %d, stderr %q; want 127 after the platform warning", code, errOut)
	}

	out, errOut, code := s.run(t, "--rm", "--platform", hostFlag, ref, "sh", "-c", "echo on-host")
	if code != 0 || out != "on-host\n" {
		t.Fatalf("--platform %s with another stored: exit %d, stdout %q, stderr %s", hostFlag, code, out, errOut)
	}
	if ins := s.inspect(t, ref); ins.Architecture != host.Architecture {
		t.Errorf("after the run, %s is %s, want the pulled %s image", ref, ins.Architecture, host.Architecture)
	}

	// A single-platform image of another platform: pulled (the registry
	// cannot offer another), then refused, with --pull always too.
	foreign, err := testimage.PlatformImage(other)
	if err != nil {
		t.Fatal(err)
	}
	single := registry + "/single-foreign:latest"
	push(t, single, foreign)
	for _, pull := range []string{"missing", "always"} {
		_, errOut, code = s.run(t, "--rm", "--pull", pull, "--platform", hostFlag, single, "true")
		want := "Error: image with reference " + single + " was found but does not match the specified platform: wanted " + hostFlag + ", actual: " + otherFull + "\n"
		if code != 125 || !strings.HasSuffix(errOut, want) {
			t.Errorf("--pull %s --platform %s of a single %s image: exit %d, stderr %q; want 125 and %q", pull, hostFlag, otherFull, code, errOut, want)
		}
	}
}
