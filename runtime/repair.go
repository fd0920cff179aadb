package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/network"
	"github.com/hako-run/hako/rootfs"
)

// Files that tie a container to its monitor, the hako process that runs it.
const (
	lockFile    = "lock"         // flock held by the monitor for the container's life
	monitorFile = "monitor.json" // Monitor
)

// ExitKilled is the exit code recorded for a container whose monitor died:
// Repair kills what is left of it with SIGKILL.
const ExitKilled = 128 + int(unix.SIGKILL)

// Monitor identifies the process watching over a container,
// ROOT/containers/<id>/monitor.json. The start time tells a live monitor
// from an unrelated process that got the same pid later.
type Monitor struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"` // /proc/<pid>/stat field 22, clock ticks since boot
}

// CurrentMonitor is this process as a Monitor.
func CurrentMonitor() (Monitor, error) {
	pid := os.Getpid()
	st, err := procStartTime(pid)
	if err != nil {
		return Monitor{}, err
	}
	return Monitor{PID: pid, StartTime: st}, nil
}

// Alive reports whether the monitor process still runs.
func (m Monitor) Alive() bool {
	if m.PID <= 0 {
		return false
	}
	st, err := procStartTime(m.PID)
	return err == nil && st == m.StartTime
}

// ReadMonitor reads the monitor record of the container in dir.
func ReadMonitor(dir string) (Monitor, error) {
	var m Monitor
	b, err := os.ReadFile(filepath.Join(dir, monitorFile))
	if err != nil {
		return m, fmt.Errorf("reading container monitor: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("reading container monitor: %w", err)
	}
	return m, nil
}

// procStartTime reads field 22 of /proc/<pid>/stat. A zombie counts as
// gone: it no longer watches anything.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after its last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 20 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	if (f[0] == "Z" || f[0] == "X") && !execing(pid) {
		return 0, fmt.Errorf("process %d has exited", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// execing reports whether pid, whose main thread is a zombie, still has
// other threads: one of them is in execve(2) (a monitor handing its wait
// on, monitor/wait.go), and the kernel retires the main thread before that
// thread takes over its pid. A process whose threads have all exited has
// none left.
func execing(pid int) bool {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return err == nil && len(ents) > 1
}

// lockContainer takes the container's lock and records this process as its
// monitor. It is called with Root/containers locked, right after the
// directory is made, so Repair never sees a live container unlocked.
func (c *Container) lockContainer() error {
	f, err := os.OpenFile(filepath.Join(c.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening container lock: %w", err)
	}
	if err := flock(f, unix.LOCK_EX); err != nil {
		f.Close()
		return err
	}
	// The file is kept: run -d hands this very lock to its monitor.
	c.lockf = f
	unlock := func() { f.Close() }
	// Not fsynced: after a power cut no monitor is alive, and a torn or
	// missing file reads as a dead monitor; the lock is what counts.
	m, err := CurrentMonitor()
	if err == nil {
		err = writeJSONUnsynced(filepath.Join(c.dir, monitorFile), m)
	}
	if err != nil {
		unlock()
		return fmt.Errorf("recording container monitor: %w", err)
	}
	c.unlock = unlock
	return nil
}

// flock locks f, retrying on EINTR.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		return nil
	}
}

// release lets go of the container's lock: its monitor is done with it.
func (c *Container) release() {
	if c.unlock != nil {
		c.unlock()
		c.unlock = nil
		c.lockf = nil
	}
}

// removeDir deletes a container's directory. It is renamed to a temporary
// name first, so no one sees a half-deleted container under its ID, and a
// removal cut short is finished by the next Repair.
func removeDir(dir string) error {
	tmp := atomicfile.TmpName(filepath.Dir(dir), filepath.Base(dir))
	if err := os.Rename(dir, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("removing container: %w", err)
	}
	if err := rootfs.RemoveTree(tmp); err != nil {
		return fmt.Errorf("removing container: %w", err)
	}
	return nil
}

// orphan is a container whose monitor is gone, locked by Repair.
type orphan struct {
	id, dir string
	code    int     // the exit code to record; 0 means ExitKilled
	rec     *Record // nil when the record was never written
	unlock  func()
}

// Repair cleans up after containers whose monitor died (a killed hako run,
// a power cut): it kills what is left of the container, removes its
// libcontainer state and cgroups, unmounts its rootfs, then records it as
// exited with code 137, or deletes it if it was run with --rm. Containers
// whose monitor is alive are never touched; each orphan is repaired once,
// by whichever Repair locks it first.
func Repair(root, runRoot string, cg *cgroups.Host) error {
	if cg == nil {
		return errors.New("repairing containers: no cgroup host")
	}
	dir := containersDir(root)
	orphans, err := findOrphans(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range orphans {
		if err := o.repair(runRoot, cg); err != nil {
			errs = append(errs, fmt.Errorf("repairing container %s: %w", o.id, err))
		}
		o.unlock()
	}
	atomicfile.RemoveAbandoned(dir) // removals cut short
	return errors.Join(errs...)
}

// findOrphans locks and returns the containers that are not finished and
// whose lock is free. Root/containers stays locked meanwhile, so a
// container being created (directory made, lock not yet taken) is not
// mistaken for one.
func findOrphans(dir string) ([]*orphan, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, err := lockExclusive(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	ids, err := containerIDs(dir)
	if err != nil {
		return nil, err
	}
	var orphans []*orphan
	for _, id := range ids {
		o, err := checkOrphan(filepath.Join(dir, id))
		if err != nil {
			for _, o := range orphans {
				o.unlock()
			}
			return nil, err
		}
		if o != nil {
			orphans = append(orphans, o)
		}
	}
	return orphans, nil
}

// checkOrphan returns the container in cdir locked if it is an orphan, or nil.
func checkOrphan(cdir string) (*orphan, error) {
	if _, err := os.Stat(filepath.Join(cdir, statusFile)); err == nil {
		return nil, nil // finished: its monitor cleaned up
	}
	unlock, ok, err := tryLock(filepath.Join(cdir, lockFile))
	if err != nil || !ok {
		return nil, err
	}
	// The lock is free, yet be sure the monitor is really gone. A detached
	// container whose monitor was killed still runs: it stays manageable
	// (stop, rm -f), and is repaired only once its init is gone.
	if m, err := ReadMonitor(cdir); err == nil && m.Alive() || detachedAlive(cdir) {
		unlock()
		return nil, nil
	}
	// The monitor may have finished between the two checks above.
	if _, err := os.Stat(filepath.Join(cdir, statusFile)); err == nil {
		unlock()
		return nil, nil
	}
	o := &orphan{id: filepath.Base(cdir), dir: cdir, unlock: unlock}
	var r Record
	b, err := os.ReadFile(filepath.Join(cdir, recordFile))
	if err == nil && json.Unmarshal(b, &r) == nil {
		o.rec = &r
	}
	return o, nil
}

// tryLock takes an exclusive flock on path without waiting. ok is false
// when someone else holds it, or when path's directory is gone.
func tryLock(path string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil // the container was just removed
	}
	if err != nil {
		return nil, false, fmt.Errorf("opening lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EWOULDBLOCK {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, true, nil
}

// repair removes what the orphan left on the host, then records its end
// or deletes it, as its monitor would have.
func (o *orphan) repair(runRoot string, cg *cgroups.Host) error {
	stateRoot := filepath.Join(runRoot, "libcontainer")
	if err := killLeftover(stateRoot, o.id, cg); err != nil {
		return err
	}
	if err := cg.Cleanup(o.id); err != nil {
		return err
	}
	if err := network.Release(o.id); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(stateRoot, o.id)); err != nil {
		return fmt.Errorf("removing libcontainer state: %w", err)
	}
	// merged/ is missing when the create was cut short before making it.
	if err := unmountMerged(filepath.Join(o.dir, mergedDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // never delete through a live mount
	}
	if o.rec == nil || o.rec.Remove {
		if err := removeDir(o.dir); err != nil {
			return err
		}
		if o.rec == nil {
			return nil
		}
		// --rm also takes the container's anonymous volumes (once its
		// record is gone, nothing uses them).
		return removeAnonymousVolumes(filepath.Dir(filepath.Dir(o.dir)), o.rec.Spec)
	}
	code := ExitKilled
	if o.code != 0 {
		code = o.code
	}
	st := Status{State: "exited", ExitCode: code, FinishedAt: time.Now().UTC()}
	return writeJSON(filepath.Join(o.dir, statusFile), st)
}

// killLeftover kills the container's processes and destroys its
// libcontainer state, as runc's delete -f does.
func killLeftover(stateRoot, id string, cg *cgroups.Host) error {
	lc, err := libcontainer.Load(stateRoot, id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		// The monitor died before libcontainer saved its state: an init
		// may still be in the cgroup.
		return killCgroup(cg, id)
	}
	if err != nil {
		return fmt.Errorf("loading container state: %w", err)
	}
	if err := lc.Signal(unix.SIGKILL); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("killing container: %w", err)
	}
	var derr error
	for i := 0; i < 250; i++ { // 5s: the kernel kills the rest of the PID namespace
		if derr = lc.Destroy(); derr == nil {
			return nil
		}
		lc.Signal(unix.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("destroying container: %w", derr)
}

// killCgroup SIGKILLs every process in the container's cgroupfs cgroups and
// waits until they are gone. With systemd there is nothing to find here.
func killCgroup(cg *cgroups.Host, id string) error {
	if cg.Systemd {
		return nil
	}
	procs, _ := filepath.Glob(filepath.Join(cg.Root, "*", cgroups.Path(id), "cgroup.procs"))
	if v2, err := filepath.Glob(filepath.Join(cg.Root, cgroups.Path(id), "cgroup.procs")); err == nil {
		procs = append(procs, v2...)
	}
	for i := 0; i < 250; i++ {
		left := 0
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			for _, s := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(s); err == nil && pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
					left++
				}
			}
		}
		if left == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("killing the processes of container %s: still running", id)
}
