package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	// libcontainer always adds device cgroup rules; this registers the code
	// that applies them.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/rootfs"
)

// Stdio is where a container's standard streams go. With a TTY
// (Spec.Process.Terminal) Stdin feeds the pty and Stdout gets its output;
// Stderr is unused.
type Stdio struct {
	Stdin          io.Reader // nil: the container reads /dev/null
	Stdout, Stderr io.Writer
}

// Exit codes Docker uses when the container's command could not start.
const (
	ExitCannotRun = 125 // hako itself failed
	ExitNoExec    = 126 // the command exists but cannot be executed
	ExitNotFound  = 127 // the command was not found
)

// Run runs the container in the foreground: it starts its process, relays
// its stdio (or TTY) and forwards signals to it, waits for it, and returns
// its exit code (128+N when killed by signal N). When the command cannot be
// started, it returns 125, 126 or 127 with the error. Whatever happens, the
// container is torn down afterwards: libcontainer state, cgroups, the rootfs
// mount; the record is kept with its exit status, or removed with Remove.
func (c *Container) Run() (int, error) {
	code, sigsStopped, destroying, runErr := c.run()
	defer c.release() // after teardown: the container is finished or gone
	defer func() { <-sigsStopped }()
	err := c.teardownAfter(code, runErr, destroying)
	if err != nil && runErr == nil {
		// The container ran: its code stands, the cleanup failure is told.
		return code, fmt.Errorf("cleaning up after the container: %w", err)
	}
	return code, runErr
}

func (c *Container) stateRoot() string { return filepath.Join(c.runRoot, "libcontainer") }

// NotifyForwarded is signal.Notify(c) for the signals a sig-proxy takes
// (run, exec, attach, start -a): every signal but SIGCHLD and SIGURG, which
// every proxy drops (the end of a child; the Go runtime's preemption) and
// which would only wake it. SIGPIPE stays: taking it keeps a write to a
// closed stdout from killing hako, as taking every signal did. Go makes
// each signal's registration a round trip to its signal-mask thread, one
// signal at a time, so each left out is one fewer, here and in Stop.
func NotifyForwarded(c chan<- os.Signal) {
	// 1 to 64, os/signal's range; SIGKILL and SIGSTOP are in it as in
	// signal.Notify(c), where they change nothing.
	sigs := make([]os.Signal, 0, 64)
	for n := syscall.Signal(1); n <= 64; n++ {
		if n != unix.SIGCHLD && n != unix.SIGURG {
			sigs = append(sigs, n)
		}
	}
	signal.Notify(c, sigs...)
}

// run starts the container and waits for it, forwarding signals.
// Registering the forwarded signals (NotifyForwarded) and unregistering
// costs ~60 round trips each to the Go runtime's signal-mask thread (1-3
// ms each way, cold): the Notify runs while start prepares (start waits
// for it before the init runs, so no signal meant for the container goes
// by), the Stop while Run tears down, unless this process ends with the
// run (HandOffAfter), which then does without; sigsStopped is closed once
// it is done. destroying is
// libcontainer's destroy when it goes on in the background
// (startedRun.close), else nil.
func (c *Container) run() (code int, sigsStopped <-chan struct{}, destroying *backgroundDestroy, err error) {
	sigs := make(chan os.Signal, 128)
	notified, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		NotifyForwarded(sigs)
		close(notified)
	}()
	c.sigsReady = notified
	defer func() {
		if c.handoffFn != nil {
			// This process ends with its run (HandOffAfter: it would
			// exec itself into the wait otherwise), and the registration
			// with it: no Stop competes with the teardown for the CPUs.
			close(stopped)
			return
		}
		go func() {
			<-notified
			signal.Stop(sigs)
			close(stopped)
		}()
	}()
	code, destroying, err = c.runStarted(sigs)
	return code, stopped, destroying, err
}

func (c *Container) runStarted(sigs chan os.Signal) (code int, destroying *backgroundDestroy, err error) {
	r, code, err := c.start()
	if r != nil {
		defer func() { destroying = r.close() }()
	}
	if err != nil {
		return code, nil, err
	}
	t := time.Now()
	if c.canHandOff() {
		code, err = c.waitOrHandOff(r, sigs)
	} else {
		code, err = wait(r.p, sigs, r.tt, !c.noSigProxy)
	}
	c.debug("wait: exit code %d (%s)", code, since(t))
	// The init is reaped: with its own PID namespace nothing of the
	// container runs any more, and the rootfs can go while libcontainer
	// removes its cgroups and state (teardown).
	r.background = err == nil && c.privatePID()
	return code, nil, err
}

// startedRun is a container process that start began: what is left to
// close and destroy once it ends (or the start failed).
type startedRun struct {
	c  *Container
	lc *libcontainer.Container
	p  *libcontainer.Process
	tt *tty
	tr *startTrace
	// background: close destroys the libcontainer container in a goroutine
	// that teardown waits for (the init ended and took everything else of
	// the container with it).
	background bool
}

// close closes the pty and destroys the libcontainer container (the error
// kept for teardown). With r.background the destroy goes on in a goroutine,
// which close returns; otherwise nil.
func (r *startedRun) close() *backgroundDestroy {
	if r.tt != nil {
		r.tt.close()
	}
	if !r.background {
		t := time.Now()
		r.c.destroyErr = destroy(r.lc)
		r.c.debug("libcontainer destroy (%s)", since(t))
		r.flush()
		return nil
	}
	r.flush()
	d := &backgroundDestroy{done: make(chan struct{})}
	go func() {
		defer close(d.done)
		t := time.Now()
		r.c.destroyErr = destroy(r.lc)
		d.took = since(t)
	}()
	return d
}

// backgroundDestroy is libcontainer's destroy going on in a goroutine: done
// is closed at its end, when took and the container's destroyErr are set.
type backgroundDestroy struct {
	done chan struct{}
	took time.Duration
}

func (r *startedRun) flush() {
	if r.tr != nil {
		r.tr.flush()
	}
}

// start starts the container's process with c.stdio (a pty with a
// terminal: with c.handoff, the master is only received, not relayed) and
// records it in init.json. r is nil when nothing was created; otherwise the
// caller closes it once the process ended, or at once when err is set.
func (c *Container) start() (r *startedRun, code int, err error) {
	t := time.Now()
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:       c.ID,
		UseSystemdCgroup: c.cg.Systemd,
		Spec:             c.Spec,
		RootlessEUID:     os.Geteuid() != 0,
		RootlessCgroups:  os.Geteuid() != 0,
	})
	if err != nil {
		return nil, ExitCannotRun, fmt.Errorf("converting the container spec: %w", err)
	}
	c.debug("libcontainer config converted (%s)", since(t))
	if cfg.Seccomp != nil {
		t = time.Now()
		how, err := precompileSeccomp(filepath.Join(c.runRoot, "seccomp"), cfg.Seccomp)
		if err != nil {
			return nil, ExitCannotRun, err
		}
		c.debug("seccomp program: %d instructions, %s (BPF, cache %s) (%s)", len(cfg.Seccomp.Program)/8, how, filepath.Join(c.runRoot, "seccomp"), since(t))
	}
	p, err := newProcess(c.Spec.Process, c.debug)
	if err != nil {
		return nil, ExitCannotRun, err
	}
	var tr *startTrace
	if c.debugf != nil {
		c.debugDevices(cfg)
		tr = c.traceStart(cfg, p) // narrate.go, trace.go
	}
	t = time.Now()
	lc, err := libcontainer.Create(c.stateRoot(), c.ID, cfg)
	if err != nil {
		if tr != nil {
			tr.flush()
		}
		return nil, ExitCannotRun, fmt.Errorf("creating container: %w", err)
	}
	c.debug("libcontainer create: state in %s (%s)", filepath.Join(c.stateRoot(), c.ID), since(t))
	r = &startedRun{c: c, lc: lc, p: p, tr: tr}

	if c.Spec.Process.Terminal {
		if r.tt, err = newTTY(p, c.stdio, c.handoff); err != nil {
			return r, ExitCannotRun, err
		}
		r.tt.stoppable = c.canHandOff()
	} else {
		p.Stdin, p.Stdout, p.Stderr = c.stdio.Stdin, c.stdio.Stdout, c.stdio.Stderr
	}
	if c.sigsReady != nil {
		<-c.sigsReady // run's signal.Notify (process.go)
	}
	t = time.Now()
	if err := c.startProcess(lc, p, tr); err != nil {
		if r.tt != nil {
			r.tt.abort()
		}
		return r, startErrorCode(err), fmt.Errorf("starting container process: %w", err)
	}
	if r.tt != nil {
		if err := r.tt.start(); err != nil {
			lc.Signal(unix.SIGKILL)
			p.Wait()
			return r, ExitCannotRun, err
		}
	}
	pid, _ := p.Pid()
	if err := c.started(pid); err != nil { // lifecycle.go
		lc.Signal(unix.SIGKILL)
		p.Wait()
		return r, ExitCannotRun, err
	}
	c.debug("start: init re-exec, namespaces, cgroups, mounts, seccomp, exec of %q (%s)", c.Spec.Process.Args, since(t))
	return r, 0, nil
}

// startProcess is lc.Run(p); under --debug it is Start and Exec apart,
// timed, with the init's steps told in between.
func (c *Container) startProcess(lc *libcontainer.Container, p *libcontainer.Process, tr *startTrace) error {
	if tr == nil {
		return lc.Run(p)
	}
	tr.t0 = time.Now()
	err := lc.Start(p)
	if err == nil {
		tr.ready(lc)
		tr.add(time.Now(), "libcontainer Start returned: the init is ready and waits to exec")
		err = lc.Exec()
		tr.add(time.Now(), fmt.Sprintf("exec: hako opened the exec fifo; the init calls execve(2) of %q, which replaces it", c.Spec.Process.Args))
	}
	tr.flush()
	return err
}

// wait forwards signals to the process (unless not forward: run
// --sig-proxy=false, which takes them and lets them go) until it exits and
// returns its exit code.
func wait(p *libcontainer.Process, sigs chan os.Signal, t *tty, forward bool) (int, error) {
	done := make(chan struct{})
	var ps *os.ProcessState
	var werr error
	go func() {
		ps, werr = p.Wait()
		close(done)
	}()
	for {
		select {
		case s := <-sigs:
			switch s {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
			case unix.SIGWINCH:
				if t != nil {
					t.resize()
				}
			default:
				if forward {
					p.Signal(s) // an error means it just exited
				}
			}
		case <-done:
			if t != nil {
				t.drain()
			}
			if ps == nil {
				return ExitCannotRun, fmt.Errorf("waiting for container process: %w", werr)
			}
			return ExitCode(ps), nil
		}
	}
}

// ExitCode is the shell's view of a wait status: the exit status, or
// 128+N for a process killed by signal N.
func ExitCode(ps *os.ProcessState) int {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// startErrorCode maps a failure to start the command to Docker's codes:
// 127 when it does not exist, 126 when it can't be executed, else 125.
func startErrorCode(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"),
		strings.Contains(msg, "exec:") && strings.Contains(msg, "no such file or directory"):
		return ExitNotFound
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "exec format error"),
		strings.Contains(msg, "is a directory"):
		return ExitNoExec
	}
	return ExitCannotRun
}

// newProcess makes the container's first process from the spec, as runc's
// newProcess does (rlimits are not part of the converted config).
func newProcess(sp *specs.Process, debugf func(string, ...any)) (*libcontainer.Process, error) {
	p := &libcontainer.Process{
		Args:            sp.Args,
		Env:             sp.Env,
		UID:             int(sp.User.UID),
		GID:             int(sp.User.GID),
		Cwd:             sp.Cwd,
		NoNewPrivileges: &sp.NoNewPrivileges,
		AppArmorProfile: sp.ApparmorProfile, // specconv leaves it to the process, as in runc
		Init:            true,
	}
	for _, g := range sp.User.AdditionalGids {
		p.AdditionalGroups = append(p.AdditionalGroups, int(g))
	}
	for _, r := range sp.Rlimits {
		rl, err := convertRlimit(r)
		if err != nil {
			return nil, err
		}
		if soft, hard, clamped := clampRlimit(rl); clamped {
			debugf("%s %d:%d is above hako's own hard limit; clamped to %d:%d (raising it needs CAP_SYS_RESOURCE)", r.Type, rl.Soft, rl.Hard, soft, hard)
			rl.Soft, rl.Hard = soft, hard
		}
		p.Rlimits = append(p.Rlimits, rl)
	}
	return p, nil
}

// clampRlimit lowers a requested rlimit to the caller's hard limit when the
// caller may not raise its own (no CAP_SYS_RESOURCE, as on hosts like this
// one): a container cannot get more than its creator has, and failing the
// run for it helps nobody.
func clampRlimit(rl configs.Rlimit) (soft, hard uint64, clamped bool) {
	var cur unix.Rlimit
	if err := unix.Getrlimit(rl.Type, &cur); err != nil || rl.Hard <= cur.Max || canRaiseRlimits() {
		return rl.Soft, rl.Hard, false
	}
	return min(rl.Soft, cur.Max), cur.Max, true
}

// canRaiseRlimits reports whether this process has CAP_SYS_RESOURCE in its
// effective set (bit 24 of CapEff in /proc/self/status).
func canRaiseRlimits() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<unix.CAP_SYS_RESOURCE) != 0
		}
	}
	return false
}

var rlimits = map[string]int{
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
}

// KnownRlimit reports whether typ ("RLIMIT_NOFILE") is a resource limit
// hako can set.
func KnownRlimit(typ string) bool {
	_, ok := rlimits[typ]
	return ok
}

func convertRlimit(r specs.POSIXRlimit) (configs.Rlimit, error) {
	typ, ok := rlimits[r.Type]
	if !ok {
		return configs.Rlimit{}, fmt.Errorf("unknown rlimit %q", r.Type)
	}
	return configs.Rlimit{Type: typ, Soft: r.Soft, Hard: r.Hard}, nil
}

// destroy kills whatever is left of the container and removes its
// libcontainer state and cgroup. With a private PID namespace the kernel
// kills the rest when the init exits, but that takes a moment.
func destroy(lc *libcontainer.Container) error {
	var err error
	for i := 0; i < 100; i++ {
		err = lc.Destroy()
		if err == nil || !errors.Is(err, libcontainer.ErrRunning) {
			break
		}
		lc.Signal(unix.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("destroying the container: %w", err)
	}
	return nil
}

// teardown removes what the run left on the host, then records the exit
// status or (with Remove) deletes the container's directory.
func (c *Container) teardown(code int, runErr error) error {
	return c.teardownAfter(code, runErr, nil)
}

// teardownAfter is teardown while libcontainer's destroy goes on in the
// background (destroying; nil: it was done before, if at all). Meanwhile
// the rootfs is unmounted and, for a --rm container, its dirs deleted and
// its exit code kept (dropRootfs): each of those waits on the kernel (RCU
// grace periods for the cgroups and the unmount, the disk for rmdir(2) on
// a filesystem that discards freed blocks at once), and the waits overlap.
// Only the record (config.json, lock) must outlive them all: a teardown
// cut short leaves an orphan that Repair finishes.
func (c *Container) teardownAfter(code int, runErr error, destroying *backgroundDestroy) error {
	var rootfsDone chan rootfsDrop
	exitRecorded := make(chan struct{}) // closed once no exit code is being recorded
	if destroying != nil && c.remove {
		go func() {
			defer close(exitRecorded)
			c.recordRemovedExit(code)
		}()
	} else {
		close(exitRecorded)
	}
	if destroying != nil {
		rootfsDone = make(chan rootfsDrop, 1)
		go func() { rootfsDone <- c.dropRootfs() }()
		<-destroying.done
		c.debug("libcontainer destroy (%s)", destroying.took)
	}
	var errs []error
	t := time.Now()
	if c.destroyErr != nil {
		errs = append(errs, c.destroyErr)
	}
	// A destroy that succeeded removed every cgroup libcontainer made
	// (sub-cgroups too); what one could not is left to Cleanup.
	if destroying == nil || c.destroyErr != nil {
		if err := c.cg.Cleanup(c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.closeNetwork(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		if rootfsDone != nil {
			<-rootfsDone
		}
		<-exitRecorded
		// Processes or cgroups may be left: record no status, so the
		// container stays an orphan that the next Repair finishes off.
		return errors.Join(errs...)
	}
	c.debug("cgroup cleanup (%s)", since(t))
	var drop rootfsDrop
	if rootfsDone != nil {
		drop = <-rootfsDone
	} else {
		os.Remove(filepath.Join(c.stateRoot(), c.ID)) // gone unless Create failed half-way
		drop = c.dropRootfs()
	}
	if drop.unmountErr != nil {
		<-exitRecorded
		return drop.unmountErr // never delete through a live mount
	}
	if c.VFS() {
		c.debug("rootfs: a vfs copy, nothing to unmount")
	} else {
		c.debug("rootfs unmounted (%s)", drop.unmountTook)
	}
	t = time.Now()
	if c.remove {
		c.debug("rootfs dirs removed (%s)", drop.removeTook)
		if drop.removeErr != nil {
			errs = append(errs, drop.removeErr)
		}
		// For a later hako wait: the directory with its status goes now.
		if destroying != nil {
			<-exitRecorded
		} else {
			c.recordRemovedExit(code)
		}
		waitForReaders(c.dir) // start -a reading its output and code (attachhold.go)
		if err := removeDir(c.dir); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, c.removeAnonymousVolumes())
		c.debug("container directory removed (%s)", since(t))
	} else {
		st := Status{State: "exited", ExitCode: code, FinishedAt: time.Now().UTC()}
		if runErr != nil {
			st.State = "failed"
		}
		if err := writeJSON(filepath.Join(c.dir, statusFile), st); err != nil {
			errs = append(errs, err)
		}
		c.debug("exit status written (%s)", since(t))
	}
	return errors.Join(errs...)
}

// recordRemovedExit keeps a --rm container's exit code in RUNROOT/exits
// for a later hako wait (exits.go).
func (c *Container) recordRemovedExit(code int) {
	recordRemovedExit(c.runRoot, c.ID, Status{State: "exited", ExitCode: code, FinishedAt: time.Now().UTC()})
}

// rootfsDrop is what dropRootfs did, and how long it took.
type rootfsDrop struct {
	unmountErr, removeErr   error
	unmountTook, removeTook time.Duration
}

// dropRootfs unmounts the container's rootfs and, for a --rm container,
// deletes its overlay dirs (upper/, work/, merged/; a vfs copy's merged/),
// the bulk of its directory, ahead of the record.
func (c *Container) dropRootfs() (d rootfsDrop) {
	t := time.Now()
	merged := filepath.Join(c.dir, mergedDir)
	if d.unmountErr = unmountMerged(merged); d.unmountErr != nil {
		return d
	}
	d.unmountTook = since(t)
	if c.remove {
		t = time.Now()
		d.removeErr = rootfs.RemoveOverlayDirs(filepath.Join(c.dir, upperDir), filepath.Join(c.dir, workDir), merged)
		d.removeTook = since(t)
	}
	return d
}

// privatePID reports whether the container has a PID namespace of its
// own: when its init ends, the kernel kills every other process in it.
func (c *Container) privatePID() bool {
	if c.Spec == nil || c.Spec.Linux == nil {
		return false
	}
	for _, ns := range c.Spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// Remove tears down a container that was created but never run.
func (c *Container) Remove() error {
	c.remove = true
	defer c.release()
	return c.teardown(ExitCannotRun, errors.New("not run"))
}

// unmountMerged unmounts the container's rootfs. The container's last
// process may still be letting go of it (EBUSY) for a moment after it was
// reaped, so busy is retried for a while before a lazy detach.
func unmountMerged(target string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = rootfs.Unmount(target)
		if err == nil || errors.Is(err, unix.EINVAL) { // EINVAL: not mounted
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	if derr := unix.Unmount(target, unix.MNT_DETACH); derr != nil {
		return fmt.Errorf("%w (and detaching: %v)", err, derr)
	}
	return nil
}
