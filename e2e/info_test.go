package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

type infoJSON struct {
	KernelVersion, Architecture, DefaultPlatform string
	CgroupVersion, CgroupLayout                  string
	CgroupControllers                            []string
	RootDir, RootFilesystem                      string
	RootFreeBytes                                uint64
	OverlaySupported, Seccomp                    bool
	PageSize                                     int
	Warnings                                     []string
}

func (s *store) info(t *testing.T) infoJSON {
	t.Helper()
	out, errOut, code := s.hako(t, "info", "--format", "json")
	if code != 0 {
		t.Fatalf("hako info --format json: exit %d: %s", code, errOut)
	}
	var in infoJSON
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("hako info --format json printed %q: %v", out, err)
	}
	return in
}

// hako info reports this host as the kernel and the filesystem see it.
func TestInfo(t *testing.T) {
	s := newStore(t)
	in := s.info(t)
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	if want := unix.ByteSliceToString(uts.Release[:]); in.KernelVersion != want {
		t.Errorf("KernelVersion = %q, uname says %q", in.KernelVersion, want)
	}
	if in.PageSize != os.Getpagesize() {
		t.Errorf("PageSize = %d, want %d", in.PageSize, os.Getpagesize())
	}
	if !in.OverlaySupported || in.RootDir != s.root {
		t.Errorf("a temp dir root %s: OverlaySupported=%v RootDir=%q", s.root, in.OverlaySupported, in.RootDir)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(s.root, &st); err != nil {
		t.Fatal(err)
	}
	// Free space moves while other tests write; within 1 GiB is the same disk.
	free := st.Bavail * uint64(st.Bsize)
	if d := int64(free) - int64(in.RootFreeBytes); d > 1<<30 || d < -(1<<30) {
		t.Errorf("RootFreeBytes = %d, statfs says %d", in.RootFreeBytes, free)
	}
	_, v2err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	if wantV2 := v2err == nil; (in.CgroupVersion == "2") != wantV2 {
		t.Errorf("CgroupVersion = %q but /sys/fs/cgroup/cgroup.controllers exists=%v", in.CgroupVersion, wantV2)
	}
	if !in.Seccomp {
		t.Error("Seccomp = false on a kernel that runs hako's seccomp tests")
	}
	if ents, _ := os.ReadDir(s.root); len(ents) != 0 {
		t.Errorf("info left %d entries in the storage root", len(ents))
	}
	// The human form carries the same facts.
	out, _, code := s.hako(t, "info")
	if code != 0 || !strings.Contains(out, "Kernel Version: "+in.KernelVersion) || !strings.Contains(out, "Overlay Upper Dirs: supported") {
		t.Errorf("hako info: exit %d\n%s", code, out)
	}
}

// A storage root on an overlay mount (a Pi's read-only overlay root) cannot
// hold upper dirs: info says so with a warning that names the fix.
func TestInfoOverlayRoot(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m := filepath.Join(base, "m")
	opts := "lowerdir=" + filepath.Join(base, "l") + ",upperdir=" + filepath.Join(base, "u") + ",workdir=" + filepath.Join(base, "w")
	if err := unix.Mount("overlay", m, "overlay", 0, opts); err != nil {
		t.Fatalf("mounting a test overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(m, unix.MNT_DETACH) })
	s := &store{root: filepath.Join(m, "hako"), runroot: t.TempDir()}
	in := s.info(t)
	if in.OverlaySupported || in.RootFilesystem != "overlay" {
		t.Errorf("root on overlay: OverlaySupported=%v RootFilesystem=%q", in.OverlaySupported, in.RootFilesystem)
	}
	if len(in.Warnings) == 0 || !strings.Contains(strings.Join(in.Warnings, "\n"), "--root") {
		t.Errorf("no warning naming --root: %q", in.Warnings)
	}
	_, errOut, code := s.hako(t, "info")
	if code != 0 || !strings.Contains(errOut, "WARNING: overlayfs refuses") || !strings.Contains(errOut, "vfs storage driver") {
		t.Errorf("hako info: exit %d, stderr %q", code, errOut)
	}
}
