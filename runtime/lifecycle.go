package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/apparmor"
	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/rootfs"
)

// The lifecycle of a detached container, from any hako process: the
// monitor adopts a created container and runs it; stop, kill, rm and wait
// find its init through init.json (pid + start time), so they work whether
// or not its monitor is still alive. The container's lock is held by
// whoever runs or tears it down: its monitor, or a command finishing a
// container whose monitor died.

// ErrRunning is returned by Reopen for a container that already runs.
var ErrRunning = errors.New("container is running")

// LockFile is the open file that holds the container's lock, to be handed
// to the monitor (as an inherited descriptor, so the lock is never free in
// between). Nil once released.
func (c *Container) LockFile() *os.File { return c.lockf }

// Disown lets go of this process's hold on the container after its lock
// was handed to a monitor.
func (c *Container) Disown() { c.release() }

// Adopt takes over the container id, created by another hako process that
// handed its lock over as lock: the monitor calls it. It records this
// process as the container's monitor.
func Adopt(root, runRoot, id string, lock *os.File, cg *cgroups.Host) (*Container, error) {
	if cg == nil {
		return nil, errors.New("adopting container: no cgroup host")
	}
	dir := filepath.Join(containersDir(root), id)
	var rec Record
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		return nil, fmt.Errorf("reading container record: %w", err)
	}
	c := &Container{Record: rec, dir: dir, runRoot: runRoot, cg: cg, remove: rec.Remove,
		lockf: lock, unlock: func() { lock.Close() }}
	m, err := CurrentMonitor()
	if err == nil {
		err = writeJSONUnsynced(filepath.Join(dir, monitorFile), m)
	}
	if err != nil {
		return nil, fmt.Errorf("recording container monitor: %w", err)
	}
	return c, nil
}

// survivingPipe makes a pipe whose write end, the container's, is opened
// read-write: holding a reader itself, the container never gets SIGPIPE
// or EPIPE when its monitor (the real reader) is killed; it keeps running,
// and its writes only block once the pipe (grown to 1 MiB where allowed)
// is full, until it is stopped or removed.
func survivingPipe() (r, w *os.File, err error) {
	r, w0, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("making the container's output pipe: %w", err)
	}
	defer w0.Close()
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", w0.Fd()), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("making the container's output pipe: %w", err)
	}
	unix.FcntlInt(r.Fd(), unix.F_SETPIPE_SZ, 1<<20) // best effort: a bigger buffer, more time
	return r, os.NewFile(uintptr(fd), "container-output"), nil
}

// waitTimeout waits for wg, at most d.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// started records the container's running init in init.json, so ps, stop
// and rm from any shell find it, then tells the monitor's caller.
func (c *Container) started(pid int) error {
	// A command as quick as true is a zombie already: nothing to find.
	if st, err := procStartTime(pid); err == nil {
		in := InitProcess{PID: pid, StartTime: st, StartedAt: time.Now().UTC()}
		// Not fsynced: after a power cut the process is gone anyway.
		if err := writeJSONUnsynced(filepath.Join(c.dir, initFile), in); err != nil {
			return fmt.Errorf("recording container process: %w", err)
		}
	}
	if c.onStart != nil {
		c.onStart()
	}
	return nil
}

// Reopen makes an exited container ready to run again (hako start): it
// takes its lock, mounts its rootfs again and clears its exit status, its
// stop mark and its restart count. The caller runs it through a monitor,
// or Aborts it.
func Reopen(root, runRoot, id string, cg *cgroups.Host) (*Container, error) {
	return reopen(root, runRoot, id, cg, true)
}

// ReopenAtBoot is Reopen for the boot command: the restart count is kept.
func ReopenAtBoot(root, runRoot, id string, cg *cgroups.Host) (*Container, error) {
	return reopen(root, runRoot, id, cg, false)
}

func reopen(root, runRoot, id string, cg *cgroups.Host, resetCount bool) (_ *Container, err error) {
	if cg == nil {
		return nil, errors.New("starting container: no cgroup host")
	}
	dir := filepath.Join(containersDir(root), id)
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, id)
	}
	// A container that just ended may still have its monitor finishing
	// the teardown (an attach sees the exit first): wait a little for it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if initAlive(dir) || readState(dir).Restarting {
			f.Close()
			return nil, ErrRunning // running, or its monitor restarts it
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("container %s is being started or removed by another hako", id)
		}
	}
	c := &Container{dir: dir, runRoot: runRoot, cg: cg, lockf: f, unlock: func() { f.Close() }}
	defer func() {
		if err != nil {
			c.release()
		}
	}()
	if initAlive(dir) {
		return nil, ErrRunning // its monitor died, it still runs
	}
	info, err := loadInfo(dir)
	if err != nil {
		return nil, err
	}
	c.Record, c.remove = info.Record, info.Remove
	if _, err := loadStatus(dir); err != nil {
		// No status and no monitor: a run cut short, for Repair.
		return nil, fmt.Errorf("container %s did not end cleanly: run any hako run or hako ps to repair it, then start it again", id)
	}
	if len(c.LayerDirs) == 0 {
		return nil, fmt.Errorf("container %s was made by an older hako that did not record its layers: it cannot be started again", id)
	}
	if c.Spec == nil || c.Spec.Process == nil {
		return nil, fmt.Errorf("container %s has no process to start", id)
	}
	if c.Log == nil { // a foreground container: from now on it logs
		if c.Log, err = ParseLogOpts(nil); err == nil {
			err = c.saveRecord()
		}
		if err != nil {
			return nil, err
		}
	}
	if c.AppArmorProfile == apparmor.DefaultProfile {
		// After a reboot the kernel has lost it: load it as run does.
		if err := apparmor.NewHost(runRoot).EnsureDefault(); err != nil {
			return nil, fmt.Errorf("starting container %s: %w", id, err)
		}
	}
	if err := c.prepareRun(); err != nil {
		return nil, fmt.Errorf("starting container %s: %w", id, err)
	}
	// Only once it is ready to run: a start that fails leaves the stop mark
	// and the restart count as they were (an unless-stopped container
	// stopped by hand stays down at boot). Should clearing them fail, what
	// prepareRun set up is undone here; the record, with no status left,
	// is an orphan the next Repair finishes.
	defer func() {
		if err != nil {
			c.closeNetwork()
			c.unmountForLater()
		}
	}()
	// Started by hand (or at boot): no longer stopped by hand; a hand
	// start counts restarts from 0 again, as Docker does.
	if err := clearStopped(dir); err != nil {
		return nil, fmt.Errorf("starting container %s: %w", id, err)
	}
	if resetCount {
		if err := os.Remove(filepath.Join(dir, restartFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("starting container %s: %w", id, err)
		}
	} else if r := readRestart(dir); r.Restarting { // its monitor died waiting
		r.Restarting = false
		if err := writeJSON(filepath.Join(dir, restartFile), r); err != nil {
			return nil, fmt.Errorf("starting container %s: %w", id, err)
		}
	}
	return c, nil
}

// prepareRun makes the torn-down container ready to run again: its rootfs
// mounted, its network set up again, this process recorded as its
// monitor, its last exit cleared. The caller holds the lock: hako start
// (Reopen), or the monitor restarting it. On failure nothing is left set up.
func (c *Container) prepareRun() error {
	dir := c.dir
	c.refreshName() // the network's members find it by its current name
	// A vfs rootfs is a plain directory, always there.
	if !c.VFS() {
		lowers, err := overlayLowers(dir, c.LayerDirs)
		if err != nil {
			return err
		}
		if err := mountRootfs(lowers, dir, c.remove); err != nil {
			return err
		}
	}
	err := c.reopenNetwork()
	if err == nil && c.Network != nil { // its new address and ports
		err = c.saveRecord()
	}
	var m Monitor
	if err == nil {
		m, err = CurrentMonitor()
	}
	if err == nil {
		err = writeJSONUnsynced(filepath.Join(dir, monitorFile), m)
	}
	if err == nil {
		os.Remove(filepath.Join(dir, initFile))
		err = os.Remove(filepath.Join(dir, statusFile))
	}
	if err != nil {
		c.closeNetwork()
		c.unmountForLater()
		return err
	}
	return nil
}

// unmountForLater undoes prepareRun's mount of a container that stays, to
// be started again later: a --rm container's overlay was volatile, so its
// dirs are made mountable again (rootfs.KeepVolatile).
func (c *Container) unmountForLater() {
	if unmountMerged(filepath.Join(c.dir, mergedDir)) == nil && !c.VFS() {
		rootfs.KeepVolatile(filepath.Join(c.dir, upperDir), filepath.Join(c.dir, workDir))
	}
}

// signalInit sends sig to the container's init through a pidfd, after
// checking the pid still names it (start time), so a recycled pid is never
// signalled.
func signalInit(in InitProcess, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(in.PID, 0)
	if err != nil {
		return ErrNotRunning
	}
	defer unix.Close(fd)
	if !in.Alive() {
		return ErrNotRunning
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("sending %s: %w", unix.SignalName(sig), err)
	}
	return nil
}

// ErrNotRunning is returned by Kill for a container that does not run.
var ErrNotRunning = errors.New("container is not running")

// Kill sends sig to the container's init. As Docker's kill, it ends the
// container's restart loop first (a restarting one is not signalled).
func Kill(info *Info, sig unix.Signal) error {
	if s := readState(info.Dir); s.Running && !info.Restart.IsNone() {
		if err := MarkStopped(info); err != nil {
			return err
		}
		if s.Restarting {
			return nil
		}
	}
	in, err := readInit(info.Dir)
	if err != nil {
		return ErrNotRunning
	}
	if _, err := loadStatus(info.Dir); err == nil {
		return ErrNotRunning // a stale init.json of an earlier run
	}
	return signalInit(in, sig)
}

// Stop sends sig to the container, then SIGKILL if it still runs after
// timeout, and returns once it has been torn down and its exit recorded
// (by its monitor, or here when the monitor is gone). A container that
// does not run is left as it is. A container with a restart policy is
// marked stopped first, so its monitor restarts it no more; one that is
// restarting or being started is waited for until its monitor let go or
// its new init runs (then stopped).
func Stop(runRoot string, cg *cgroups.Host, info *Info, sig unix.Signal, timeout time.Duration) error {
	if s := readState(info.Dir); !info.Restart.IsNone() && (s.Running || s.MonitorAlive) {
		if err := MarkStopped(info); err != nil {
			return err
		}
	}
	for {
		// The monitor may have restarted it before it saw the mark: then
		// the new run is stopped too (it sees the mark after that one).
		if err := stopOnce(runRoot, cg, info, sig, timeout); !errors.Is(err, errRestarted) {
			return err
		}
	}
}

// errRestarted: while a stop waited for the monitor, it ran the container again.
var errRestarted = errors.New("container restarted")

func stopOnce(runRoot string, cg *cgroups.Host, info *Info, sig unix.Signal, timeout time.Duration) error {
	var in InitProcess
	for deadline := time.Now().Add(time.Minute); ; {
		var err error
		in, err = readInit(info.Dir)
		_, serr := loadStatus(info.Dir)
		if err == nil && serr != nil {
			break // an init to stop, or to record the end of
		}
		if info.Restart.IsNone() || !monitorAlive(info.Dir) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s: its monitor neither ended nor started it within a minute", info.ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := signalInit(in, sig); errors.Is(err, ErrNotRunning) {
		return finishAfter(runRoot, cg, info, ExitKilled, &in)
	} else if err != nil {
		return err
	}
	if !waitGone(in, timeout) {
		sig = unix.SIGKILL
		if err := signalInit(in, sig); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
		if !waitGone(in, 10*time.Second) {
			return fmt.Errorf("container %s did not die from SIGKILL", info.ID)
		}
	}
	// Without a monitor the real exit code is lost: record the signal's.
	return finishAfter(runRoot, cg, info, 128+int(sig), &in)
}

// waitGone waits up to d for the init to end.
func waitGone(in InitProcess, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for in.Alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// finish waits until the container, whose init has ended, is torn down:
// by its monitor, or, when the monitor is gone, here (as Repair does,
// recording code). A --rm container is gone afterwards.
func finish(runRoot string, cg *cgroups.Host, info *Info, code int) error {
	return finishAfter(runRoot, cg, info, code, nil)
}

// finishAfter is finish for a stop that saw the init ended end: with a
// restart policy, errRestarted when the monitor meanwhile ran the
// container again (restart.go).
func finishAfter(runRoot string, cg *cgroups.Host, info *Info, code int, ended *InitProcess) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		unlock, ok, err := tryLock(filepath.Join(info.Dir, lockFile))
		if err != nil {
			return err
		}
		if !ok {
			if _, err := os.Stat(info.Dir); errors.Is(err, fs.ErrNotExist) {
				return nil // removed (--rm)
			}
			if ended != nil && !info.Restart.IsNone() {
				if cur, err := readInit(info.Dir); err == nil && cur != *ended && cur.Alive() {
					return errRestarted
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("container %s: its monitor did not finish within 30s", info.ID)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if _, err := loadStatus(info.Dir); err == nil {
			unlock()
			return nil // its monitor recorded the end
		}
		if initAlive(info.Dir) {
			unlock()
			return fmt.Errorf("container %s still runs", info.ID)
		}
		rec := info.Record
		o := &orphan{id: info.ID, dir: info.Dir, rec: &rec, unlock: unlock, code: code}
		err = o.repair(runRoot, cg)
		unlock()
		return err
	}
}

// Remove deletes a container (hako rm). A running container is refused
// unless force, which kills it first; volumes also removes its anonymous
// volumes (rm -v).
func Remove(root, runRoot string, cg *cgroups.Host, info *Info, force, volumes bool) error {
	deadline := time.Now().Add(30 * time.Second)
	stopped := false // by this call: a --rm container is then gone, as asked
	for {
		restarting := readState(info.Dir).Restarting
		if in, err := readInit(info.Dir); restarting || err == nil && in.Alive() {
			if _, serr := loadStatus(info.Dir); serr != nil || restarting {
				if !force {
					state := "running"
					if restarting {
						state = "restarting"
					}
					return fmt.Errorf("cannot remove container %q: container is %s: stop the container before removing or force remove", "/"+info.Name, state)
				}
				if err := Stop(runRoot, cg, info, unix.SIGKILL, 0); err != nil {
					return err
				}
				stopped = true
			}
		}
		unlock, ok, err := tryLock(filepath.Join(info.Dir, lockFile))
		if err != nil {
			return err
		}
		if !ok {
			if _, err := os.Stat(info.Dir); errors.Is(err, fs.ErrNotExist) {
				if stopped && info.Remove { // its monitor removed it (--rm): done
					return nil
				}
				return fmt.Errorf("%w: %s", ErrNoSuchContainer, info.ID)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cannot remove container %q: it is busy (being started or stopped)", "/"+info.Name)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		err = removeLocked(root, runRoot, cg, info, volumes)
		unlock()
		return err
	}
}

// removeLocked tears down what is left of a stopped container and deletes
// it; the caller holds its lock.
func removeLocked(root, runRoot string, cg *cgroups.Host, info *Info, volumes bool) error {
	if _, err := loadStatus(info.Dir); err != nil {
		if initAlive(info.Dir) {
			return fmt.Errorf("cannot remove container %q: it started again meanwhile", "/"+info.Name)
		}
		// Never ran, or its monitor died: clean up as Repair would.
		rec := info.Record
		rec.Remove = false
		o := &orphan{id: info.ID, dir: info.Dir, rec: &rec}
		if err := o.repair(runRoot, cg); err != nil {
			return err
		}
	}
	if err := unmountMerged(filepath.Join(info.Dir, mergedDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // never delete through a live mount
	}
	if err := removeDir(info.Dir); err != nil {
		return err
	}
	os.Remove(filepath.Join(attachDir(runRoot), sockName(info.ID))) // a killed monitor's (attach.go)
	if volumes {
		return removeAnonymousVolumes(root, info.Spec)
	}
	return nil
}

// Wait blocks until the container ends and returns its exit code.
func Wait(runRoot string, cg *cgroups.Host, info *Info) (int, error) {
	for {
		st, err := loadStatus(info.Dir)
		if err == nil {
			return st.ExitCode, nil
		}
		if _, err := os.Stat(info.Dir); errors.Is(err, fs.ErrNotExist) {
			if st, ok := removedExit(runRoot, info.ID); ok { // --rm: removed as it ended
				return st.ExitCode, nil
			}
			return 0, fmt.Errorf("%w: %s", ErrNoSuchContainer, info.ID)
		}
		if s := readState(info.Dir); !s.Running && !s.MonitorAlive {
			// Ended with no monitor to see it, or cut short before it ran.
			if err := finish(runRoot, cg, info, ExitKilled); err != nil {
				return 0, err
			}
			continue
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Abort tears down a reopened container that could not be handed to a
// monitor, keeping its record as exited (Remove would delete it).
func (c *Container) Abort() error {
	defer c.release()
	return c.teardown(ExitCannotRun, errors.New("not run"))
}

// monitorAlive reports whether the container in dir has a live monitor.
func monitorAlive(dir string) bool {
	m, err := ReadMonitor(dir)
	return err == nil && m.Alive()
}
