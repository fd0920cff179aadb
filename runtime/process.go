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
	code, sigsStopped, runErr := c.run()
	defer c.release() // after teardown: the container is finished or gone
	defer func() { <-sigsStopped }()
	if err := c.teardown(code, runErr); err != nil && runErr == nil {
		// The container ran: its code stands, the cleanup failure is told.
		return code, fmt.Errorf("cleaning up after the container: %w", err)
	}
	return code, runErr
}

func (c *Container) stateRoot() string { return filepath.Join(c.runRoot, "libcontainer") }

// run starts the container and waits for it, forwarding signals.
// Registering for every signal and unregistering costs ~60 round trips
// each to the Go runtime's signal-mask thread (1-3 ms each way, cold): the
// Notify runs while start prepares (start waits for it before the init
// runs, so no signal meant for the container goes by), the Stop while Run
// tears down; sigsStopped is closed once it is done.
func (c *Container) run() (code int, sigsStopped <-chan struct{}, err error) {
	sigs := make(chan os.Signal, 128)
	notified, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		signal.Notify(sigs)
		close(notified)
	}()
	c.sigsReady = notified
	defer func() {
		go func() {
			<-notified
			signal.Stop(sigs)
			close(stopped)
		}()
	}()
	code, err = c.runStarted(sigs)
	return code, stopped, err
}

func (c *Container) runStarted(sigs chan os.Signal) (int, error) {
	r, code, err := c.start()
	if r != nil {
		defer r.close()
	}
	if err != nil {
		return code, err
	}
	t := time.Now()
	if c.canHandOff() {
		code, err = c.waitOrHandOff(r, sigs)
	} else {
		code, err = wait(r.p, sigs, r.tt, !c.noSigProxy)
	}
	c.debug("wait: exit code %d (%s)", code, since(t))
	return code, err
}

// startedRun is a container process that start began: what is left to
// close and destroy once it ends (or the start failed).
type startedRun struct {
	c  *Container
	lc *libcontainer.Container
	p  *libcontainer.Process
	tt *tty
	tr *startTrace
}

// close closes the pty and destroys the libcontainer container (the error
// kept for teardown).
func (r *startedRun) close() {
	if r.tt != nil {
		r.tt.close()
	}
	t := time.Now()
	r.c.destroyErr = destroy(r.lc)
	r.c.debug("libcontainer destroy (%s)", since(t))
	r.flush()
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
	var errs []error
	t := time.Now()
	if c.destroyErr != nil {
		errs = append(errs, c.destroyErr)
	}
	if err := c.cg.Cleanup(c.ID); err != nil {
		errs = append(errs, err)
	}
	if err := c.closeNetwork(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		// Processes or cgroups may be left: record no status, so the
		// container stays an orphan that the next Repair finishes off.
		return errors.Join(errs...)
	}
	c.debug("cgroup cleanup (%s)", since(t))
	os.Remove(filepath.Join(c.stateRoot(), c.ID)) // gone unless Create failed half-way
	t = time.Now()
	if err := unmountMerged(filepath.Join(c.dir, mergedDir)); err != nil {
		errs = append(errs, err)
		return errors.Join(errs...) // never delete through a live mount
	}
	if c.VFS() {
		c.debug("rootfs: a vfs copy, nothing to unmount")
	} else {
		c.debug("rootfs unmounted (%s)", since(t))
	}
	t = time.Now()
	if c.remove {
		// For a later hako wait: the directory with its status goes now.
		recordRemovedExit(c.runRoot, c.ID, Status{State: "exited", ExitCode: code, FinishedAt: time.Now().UTC()})
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
