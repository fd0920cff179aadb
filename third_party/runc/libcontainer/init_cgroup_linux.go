package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md).

import (
	"fmt"
	"runtime"
	"syscall"

	"github.com/opencontainers/cgroups"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// startInCgroups starts p.cmd, the container's init, already inside the
// container's cgroups, so that Apply need not move it there: moving a
// process (its pid written to cgroup.procs) takes the kernel's global
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period,
// 10-25 ms of every container start. Two ways in need no such wait:
//   - on the cgroup v2 hierarchy, clone3(CLONE_INTO_CGROUP) creates the
//     process in its cgroup (as setnsProcess does for exec);
//   - on v1 hierarchies a thread may move itself ("0" written to tasks)
//     without that lock, and a process it forks is born in its cgroups.
//
// So a locked OS thread moves itself into the container's v1 cgroups and
// forks init there (into the v2 one by clone3), then ends with its
// goroutine: it never runs other Go code in those cgroups. It reports
// whether init started in its cgroups; when not, p.cmd was started the
// usual way (or failed to) and Apply(pid) must move it.
func (p *initProcess) startInCgroups() (inCgroups bool, err error) {
	cfg := p.config.Config
	if cfg.Cgroups == nil || cfg.Cgroups.Systemd || cfg.RootlessCgroups ||
		(p.cmd.SysProcAttr != nil && p.cmd.SysProcAttr.Pdeathsig != 0) {
		// systemd moves the process itself; a parent-death signal would
		// fire when the forking thread ends.
		return false, p.cmd.Start()
	}
	// Apply with pid -1 creates the cgroups (and fills in a new cpuset's
	// cpus and mems) without moving anything; an error shows again in the
	// usual way's Apply(pid).
	if err := p.manager.Apply(-1); err != nil {
		return false, p.cmd.Start()
	}
	var v1 []string
	v2 := ""
	for name, dir := range p.manager.GetPaths() {
		if name == "" {
			v2 = dir // the v2 hierarchy, unified or hybrid
		} else {
			v1 = append(v1, dir)
		}
	}

	cmdCopy := cloneCmd(p.cmd)
	var attr syscall.SysProcAttr
	if p.cmd.SysProcAttr != nil {
		attr = *p.cmd.SysProcAttr
	}
	usual := func(why error) (bool, error) {
		logrus.Debugf("starting init in its cgroups: %v; starting it the usual way", why)
		cmdCopy.SysProcAttr = &attr // an exec.Cmd cannot be started twice
		p.cmd = cmdCopy
		return false, p.cmd.Start()
	}
	if v2 != "" {
		fd, err := cgroups.OpenFile(v2, "", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
		if err != nil {
			return usual(err)
		}
		defer fd.Close()
		withFD := attr
		withFD.UseCgroupFD = true
		withFD.CgroupFD = int(fd.Fd())
		p.cmd.SysProcAttr = &withFD
	}
	if len(v1) == 0 {
		// The v2 hierarchy alone: clone3 does it, from any thread.
		if err := p.cmd.Start(); err != nil {
			return usual(err) // e.g. clone3 without CLONE_INTO_CGROUP (Linux < 5.7)
		}
		return true, nil
	}
	if err := p.forkFromMovedThread(v1); err != nil {
		return usual(err)
	}
	return true, nil
}

// forkFromMovedThread moves a thread of its own into the v1 cgroup dirs and
// starts p.cmd from it; the thread ends afterwards. While it is there, what
// the fork allocates in the kernel (the exec pipe, a pidfd) is charged to
// the container's memory cgroup: a few KiB.
func (p *initProcess) forkFromMovedThread(v1 []string) error {
	errc := make(chan error, 1)
	goLockedThread(func() {
		for _, dir := range v1 {
			if err := cgroups.WriteFile(dir, "tasks", "0"); err != nil {
				errc <- fmt.Errorf("moving a thread into %s: %w", dir, err)
				return
			}
		}
		errc <- p.cmd.Start()
	})
	return <-errc
}

// goLockedThread runs f in a new goroutine locked to an OS thread that ends
// with it, for work that changes the thread (its cgroups, its namespaces).
// Never the main thread: Go cannot end that one and would park it for good
// as f left it, and a new goroutine often starts on its creator's thread,
// which may be the main one. Then it is held, and f runs on another.
func goLockedThread(f func()) {
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with f
		if unix.Gettid() == unix.Getpid() {
			done := make(chan struct{})
			goLockedThread(func() {
				defer close(done)
				f()
			})
			<-done
			runtime.UnlockOSThread()
			return
		}
		f()
	}()
}
