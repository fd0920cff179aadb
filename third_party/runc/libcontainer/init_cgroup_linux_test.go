package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md).

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fromMainThread is forkFromMovedThread's result when called on the main
// thread, before any test runs (see TestMain).
var fromMainThread struct {
	ran       bool
	childCg   string // the child's pids cgroup
	mainCg    string // the main thread's pids cgroup afterwards
	err       error
	cgroupDir string
	// goLockedThread's run: the thread f ran on, the main thread's mount
	// namespace before and after f moved its own thread to a new one.
	fTid                int
	mntBefore, mntAfter string
	forkOnMain          bool // the fork was asked for on the main thread
}

// TestMain calls forkFromMovedThread from the main goroutine while it runs
// on the main thread: a new goroutine then often starts on that same
// thread, which Go cannot end.
func TestMain(m *testing.M) {
	// What a failed run could not remove (its process held it) is free now.
	stale, _ := filepath.Glob("/sys/fs/cgroup/pids/hako/forktest-*")
	for _, d := range stale {
		os.Remove(d)
	}
	if unix.Gettid() == unix.Getpid() {
		fromMainThread.ran = true
		mainNs := fmt.Sprintf("/proc/self/task/%d/ns/mnt", unix.Getpid())
		fromMainThread.mntBefore, _ = os.Readlink(mainNs)
		done := make(chan int)
		goLockedThread(func() {
			if unix.Unshare(unix.CLONE_FS|unix.CLONE_NEWNS) == nil {
				done <- unix.Gettid()
			} else {
				done <- -1
			}
		})
		fromMainThread.fTid = <-done
		fromMainThread.mntAfter, _ = os.Readlink(mainNs)

		fromMainThread.forkOnMain = unix.Gettid() == unix.Getpid()
		fromMainThread.cgroupDir, fromMainThread.childCg, fromMainThread.err = forkInTestCgroup("main")
		fromMainThread.mainCg = pidsCgroup(fmt.Sprintf("/proc/self/task/%d/cgroup", unix.Getpid()))
	}
	os.Exit(m.Run())
}

// forkInTestCgroup makes a pids cgroup under hako's parent, starts
// `sleep 1` from a thread moved into it, and returns the child's pids
// cgroup. The cgroup is removed once the child is gone.
func forkInTestCgroup(name string) (dir, childCg string, err error) {
	root := "/sys/fs/cgroup/pids"
	if os.Geteuid() != 0 {
		return "", "", fmt.Errorf("moving threads between cgroups needs root")
	}
	if _, err := os.Stat(filepath.Join(root, "tasks")); err != nil {
		// A cgroup v2 host: the thread move is for v1 only.
		return "", "", fmt.Errorf("skip: no cgroup v1 pids hierarchy")
	}
	rel := fmt.Sprintf("/hako/forktest-%d-%s", os.Getpid(), name)
	dir = root + rel
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	p := &initProcess{containerProcess: containerProcess{cmd: exec.Command("sleep", "1")}}
	if err := p.forkFromMovedThread([]string{dir}); err != nil {
		return dir, "", err
	}
	childCg = pidsCgroup(fmt.Sprintf("/proc/%d/cgroup", p.cmd.Process.Pid))
	p.cmd.Process.Kill()
	p.cmd.Wait()
	if childCg != rel {
		return dir, childCg, fmt.Errorf("child in pids cgroup %q, want %q", childCg, rel)
	}
	return dir, childCg, removeCgroup(dir) // EBUSY if a thread of ours stayed
}

// removeCgroup removes dir, retrying EBUSY for a while: the kernel unlinks
// an exiting task from its cgroup after its last switch-out (6.x), which
// can come after its parent has reaped it. A thread of ours left in the
// cgroup keeps it busy for good, so the test still sees that.
func removeCgroup(dir string) error {
	var err error
	for wait := time.Millisecond; wait < 2*time.Second; wait *= 2 {
		if err = os.Remove(dir); !errors.Is(err, unix.EBUSY) {
			return err
		}
		time.Sleep(wait)
	}
	return err
}

func pidsCgroup(file string) string {
	data, _ := os.ReadFile(file)
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.SplitN(line, ":", 3); len(f) == 3 && f[1] == "pids" {
			return f[2]
		}
	}
	return ""
}

func TestForkFromMovedThread(t *testing.T) {
	dir, _, err := forkInTestCgroup("goroutine")
	if err != nil && strings.HasPrefix(err.Error(), "skip:") {
		t.Skip(err)
	}
	if err != nil {
		os.Remove(dir)
		t.Fatal(err)
	}
	for _, d := range []string{fromMainThread.cgroupDir} {
		t.Cleanup(func() { os.Remove(d) })
	}
	if !fromMainThread.ran || !fromMainThread.forkOnMain {
		t.Log("TestMain was not on the main thread when it forked; that case was not tried")
	}
	if fromMainThread.err != nil {
		t.Errorf("from the main thread: %v", fromMainThread.err)
	}
	if strings.Contains(fromMainThread.mainCg, "forktest") {
		t.Errorf("the main thread stayed in the test cgroup %s", fromMainThread.mainCg)
	}
}

func TestGoLockedThreadSparesMainThread(t *testing.T) {
	if !fromMainThread.ran {
		t.Skip("TestMain did not start on the main thread")
	}
	if fromMainThread.fTid == unix.Getpid() || fromMainThread.fTid == -1 {
		t.Errorf("f ran on thread %d (the main thread is %d)", fromMainThread.fTid, unix.Getpid())
	}
	if fromMainThread.mntBefore == "" || fromMainThread.mntBefore != fromMainThread.mntAfter {
		t.Errorf("the main thread's mount namespace went from %q to %q", fromMainThread.mntBefore, fromMainThread.mntAfter)
	}
}
