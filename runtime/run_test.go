package runtime

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/cgroups"
)

// libcontainer re-executes the test binary as "<bin> init" inside each
// container it starts, as it does with hako.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}

// newTestContainer creates a container from a one-layer busybox rootfs.
func newTestContainer(t *testing.T, remove bool, stdout *bytes.Buffer, cmd ...string) *Container {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("running containers needs root")
	}
	layer := filepath.Join(t.TempDir(), "layer")
	busyboxRootfs(t, layer)
	cg, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	removeNewCgroupParents(t)
	root, runRoot := t.TempDir(), t.TempDir()
	c, err := Create(Config{
		Root: root, RunRoot: runRoot, Image: "test", ImageID: "sha256:test",
		ImageConfig: ocispec.ImageConfig{Env: []string{"PATH=/bin"}},
		LayerDirs:   []string{layer},
		Options: SpecOptions{
			Cmd:       cmd,
			Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptrTo(int64(50))}},
			Ulimits:   []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456}},
		},
		Cgroups: cg,
		Remove:  remove,
		Stdio:   Stdio{Stdout: stdout, Stderr: stdout},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.Remove() // a test that stopped early: tear down whatever is left
		}
		checkGone(t, c, cg, root)
	})
	return c
}

// removeNewCgroupParents removes, when the test ends, the /hako cgroup
// parents that did not exist before it (rmdir fails harmlessly on one that
// another container is using).
func removeNewCgroupParents(t *testing.T) {
	t.Helper()
	before := map[string]bool{}
	for _, d := range cgroupDirs(t, "hako") {
		before[d] = true
	}
	t.Cleanup(func() {
		for _, d := range cgroupDirs(t, "hako") {
			if !before[d] {
				os.Remove(d)
			}
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

// checkGone fails if the container left a mount, a cgroup or libcontainer state.
func checkGone(t *testing.T, c *Container, cg *cgroups.Host, root string) {
	t.Helper()
	// The mounts this thread sees: upstream libcontainer's mount source
	// goroutine could leave the main thread (/proc/self) parked in the
	// container's mount namespace; third_party/runc no longer does, and a
	// thread running goroutines is in the host's namespace either way.
	goruntime.LockOSThread()
	mi, err := os.ReadFile("/proc/thread-self/mountinfo")
	goruntime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), root+"/") {
		t.Errorf("mount under %s left behind", root)
	}
	if left := cgroupDirs(t, "hako/"+c.ID); len(left) != 0 {
		t.Errorf("cgroups left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(c.stateRoot(), c.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("libcontainer state left behind: %v", err)
	}
}

func TestRunExitCodeAndStatus(t *testing.T) {
	var out bytes.Buffer
	c := newTestContainer(t, false, &out, "sh", "-c", "echo out; ulimit -n; ulimit -Hn; echo x > /f; exit 3")
	code, err := c.Run()
	if err != nil || code != 3 {
		t.Fatalf("Run: %d, %v; want 3", code, err)
	}
	if got := out.String(); got != "out\n123\n456\n" {
		t.Errorf("output %q", got)
	}
	b, err := os.ReadFile(filepath.Join(c.Dir(), statusFile))
	if err != nil || !strings.Contains(string(b), `"exit_code": 3`) {
		t.Errorf("status file: %s %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(c.Dir(), upperDir, "f")); err != nil || string(b) != "x\n" {
		t.Errorf("upper/f: %q %v", b, err)
	}
}

func TestRunRemove(t *testing.T) {
	var out bytes.Buffer
	c := newTestContainer(t, true, &out, "/bin/nonexistent")
	code, err := c.Run()
	if code != ExitNotFound || err == nil {
		t.Errorf("Run: %d, %v; want 127 and an error", code, err)
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("container directory left: %v", err)
	}
}

func TestRunNameTaken(t *testing.T) {
	c := newTestContainer(t, true, &bytes.Buffer{}, "true")
	defer c.Remove()
	// Claim the name of a fake record, then ask for it again.
	c.Name = "taken"
	if err := writeJSON(filepath.Join(c.Dir(), recordFile), c.Record); err != nil {
		t.Fatal(err)
	}
	_, err := Create(Config{Root: filepath.Dir(filepath.Dir(c.Dir())), Name: "taken", Cgroups: c.cg, LayerDirs: []string{"/nonexistent"}})
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("Create with a taken name: %v", err)
	}
	if !ValidName("a.b-c_1") || ValidName("-a") || ValidName("a") || ValidName("a/b") {
		t.Error("ValidName disagrees with Docker's rule")
	}
}

func TestStartErrorCode(t *testing.T) {
	for msg, want := range map[string]int{
		`error during container init: exec: "x": executable file not found in $PATH`:        127,
		`error during container init: exec: "/x": stat /x: no such file or directory`:       127,
		`error during container init: exec: "/etc/passwd": permission denied`:               126,
		`error mounting "/a" to rootfs at "/b": no such file or directory`:                  125,
		`error during container init: exec: "/bin": is a directory`:                         126,
		`unable to apply cgroup configuration: mkdir /sys/fs/cgroup/x: no space left on de`: 125,
	} {
		if got := startErrorCode(errors.New(msg)); got != want {
			t.Errorf("startErrorCode(%q) = %d, want %d", msg, got, want)
		}
	}
}

func TestConvertRlimit(t *testing.T) {
	r, err := convertRlimit(specs.POSIXRlimit{Type: "RLIMIT_NPROC", Soft: 1, Hard: 2})
	if err != nil || r.Type != unix.RLIMIT_NPROC || r.Soft != 1 || r.Hard != 2 {
		t.Errorf("convertRlimit: %+v %v", r, err)
	}
	if _, err := convertRlimit(specs.POSIXRlimit{Type: "RLIMIT_BOGUS"}); err == nil {
		t.Error("unknown rlimit accepted")
	}
}
