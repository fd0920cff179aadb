package runtime

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// ExecOptions is a command to run in a running container (hako exec).
type ExecOptions struct {
	Args       []string
	Env        []string // KEY=V added to (or replacing in) the container's environment
	WorkingDir string   // "" is the container's
	User       string   // "" is the container's; else name|uid[:group|gid], looked up in the container
	Tty        bool
	Privileged bool // every capability, as docker exec --privileged
	// Detach starts the command and returns at once; its output is lost.
	Detach bool
	Stdio  Stdio
}

// Exec runs a command inside the running container described by info: it
// joins the container's namespaces and cgroup through libcontainer, with
// the container's capabilities, seccomp program, AppArmor profile, no-new-
// privileges and rlimits, as runc exec does. It returns the command's exit
// code (126 or 127 with the error when it cannot start, 125 when hako
// fails), or 0 at once with Detach.
func Exec(runRoot string, info *Info, o ExecOptions) (int, error) {
	if !info.State.Running {
		return 1, fmt.Errorf("container %s is not running", info.ID)
	}
	if info.State.Restarting { // Docker's words
		return 1, fmt.Errorf("container %s is restarting, wait until the container is running", info.ID)
	}
	if info.State.Paused { // Docker's words
		return 1, fmt.Errorf("Container %s is paused, unpause the container before exec", info.ID)
	}
	if info.Spec == nil || info.Spec.Process == nil {
		return ExitCannotRun, fmt.Errorf("container %s has no spec", info.ID)
	}
	// The sig-proxy's registration (~60 round trips to the Go runtime's
	// signal-mask thread) goes on while the process is prepared; lc.Run
	// waits for it, so no signal meant for the command goes by.
	sigs := make(chan os.Signal, 128)
	var notified chan struct{}
	if !o.Detach {
		notified = make(chan struct{})
		go func() {
			NotifyForwarded(sigs)
			close(notified)
		}()
		defer func() {
			<-notified
			signal.Stop(sigs)
		}()
	}
	lc, err := libcontainer.Load(filepath.Join(runRoot, "libcontainer"), info.ID)
	if err != nil {
		return ExitCannotRun, fmt.Errorf("loading container %s: %w", info.ID, err)
	}
	sp := info.Spec.Process
	p, err := newProcess(sp, func(string, ...any) {})
	if err != nil {
		return ExitCannotRun, err
	}
	p.Init = false
	p.Args = o.Args
	p.Env = mergeEnv(sp.Env, o.Env)
	if o.WorkingDir != "" {
		p.Cwd = o.WorkingDir
	}
	if o.User != "" {
		u, home, err := ResolveUser(filepath.Join(info.Dir, mergedDir), o.User)
		if err != nil {
			return ExitCannotRun, err
		}
		// That user's HOME, as Docker gives it, unless -e HOME said otherwise.
		if !slices.ContainsFunc(o.Env, func(kv string) bool { return strings.HasPrefix(kv, "HOME=") }) {
			p.Env = mergeEnv(p.Env, []string{"HOME=" + home})
		}
		p.UID, p.GID, p.AdditionalGroups = int(u.UID), int(u.GID), nil
		for _, g := range u.AdditionalGids {
			p.AdditionalGroups = append(p.AdditionalGroups, int(g))
		}
	}
	if o.Privileged {
		all := availableCapabilities()
		p.Capabilities = &configs.Capabilities{Bounding: all, Effective: all, Permitted: all}
	}

	var tt *tty
	switch {
	case o.Detach:
		// Nothing to relay: the command's streams are /dev/null.
	case o.Tty:
		if tt, err = newTTY(p, o.Stdio, false); err != nil {
			return ExitCannotRun, err
		}
		defer tt.close()
	default:
		p.Stdin, p.Stdout, p.Stderr = o.Stdio.Stdin, o.Stdio.Stdout, o.Stdio.Stderr
	}
	if notified != nil {
		<-notified
	}
	if err := lc.Run(p); err != nil {
		if tt != nil {
			tt.abort()
		}
		return startErrorCode(err), fmt.Errorf("starting the command in container %s: %w", info.ID, err)
	}
	if tt != nil {
		if err := tt.start(); err != nil {
			p.Signal(unix.SIGKILL)
			p.Wait()
			return ExitCannotRun, err
		}
	}
	if o.Detach {
		return 0, nil
	}
	return wait(p, sigs, tt, true)
}

// mergeEnv is base with each KEY=V of extra replacing base's KEY.
func mergeEnv(base, extra []string) []string {
	env := slices.Clone(base)
	for _, kv := range extra {
		key, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(env, func(e string) bool { return strings.HasPrefix(e, key+"=") })
		if i >= 0 {
			env[i] = kv
		} else {
			env = append(env, kv)
		}
	}
	return env
}
