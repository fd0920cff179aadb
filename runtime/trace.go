package runtime

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// startTrace measures, under --debug, what the container's init does
// between libcontainer's Start and the exec of the command. The init is a
// separate process (hako re-executed as "hako init"), so hako learns of
// its steps three ways, none of which changes libcontainer:
//   - the init's own debug log, which libcontainer forwards through logrus
//     when the process is started with LogLevel debug (nsexec's namespace
//     lines, Go init's last lines before it waits to exec);
//   - a createRuntime hook, which libcontainer runs in hako (not in the
//     init) right after it wrote the cgroup limits, while the init waits
//     with its mounts made and before its pivot_root;
//   - the time libcontainer records when the init says it is ready
//     (State().Created), after pivot_root and the masked paths.
//
// The lines are collected while Start runs (the log arrives on another
// goroutine) and printed in time order once it returns. logrus is global,
// so traceMu lets one traced start at a time per process.
type startTrace struct {
	c      *Container
	res    *cgroups.Resources // the limits libcontainer writes
	t0     time.Time
	mu     sync.Mutex
	events []traceEvent
	undo   func()
}

var traceMu sync.Mutex

type traceEvent struct {
	at  time.Time
	msg string
}

// traceStart arms the trace: cfg gets the hook and p the debug log level.
// Call it before libcontainer.Create (the hook is part of the config).
func (c *Container) traceStart(cfg *configs.Config, p *libcontainer.Process) *startTrace {
	tr := &startTrace{c: c}
	if cfg.Cgroups != nil {
		tr.res = cfg.Cgroups.Resources
	}
	p.LogLevel = strconv.Itoa(int(logrus.DebugLevel))
	if cfg.Hooks == nil {
		cfg.Hooks = configs.Hooks{}
	}
	// A function hook is never serialised to the init: it runs in hako.
	cfg.Hooks[configs.CreateRuntime] = append(cfg.Hooks[configs.CreateRuntime], configs.NewFunctionHook(tr.hook))
	traceMu.Lock()
	l := logrus.StandardLogger()
	level, out, hooks := l.GetLevel(), l.Out, l.ReplaceHooks(logrus.LevelHooks{})
	l.SetLevel(logrus.DebugLevel)
	l.SetOutput(io.Discard)
	l.AddHook(tr)
	tr.undo = func() {
		l.ReplaceHooks(hooks)
		l.SetOutput(out)
		l.SetLevel(level)
		traceMu.Unlock()
	}
	return tr
}

func (tr *startTrace) add(at time.Time, msg string) {
	tr.mu.Lock()
	tr.events = append(tr.events, traceEvent{at, msg})
	tr.mu.Unlock()
}

// Levels and Fire make startTrace a logrus hook: each forwarded init line
// (and libcontainer's own debug lines) is kept with the time it arrived.
func (tr *startTrace) Levels() []logrus.Level { return logrus.AllLevels }

func (tr *startTrace) Fire(e *logrus.Entry) error {
	if msg := tr.translate(e.Message); msg != "" {
		tr.add(time.Now(), msg)
	}
	return nil
}

// translate words the init's debug lines that mark an isolation step;
// the others ("stage-1 synchronisation loop", …) are dropped.
func (tr *startTrace) translate(msg string) string {
	// "nsexec-1[1234]: unshare …": the stage's pid, then the message.
	pid := ""
	if strings.HasPrefix(msg, "nsexec") {
		if head, rest, ok := strings.Cut(msg, "]: "); ok {
			if i := strings.IndexByte(head, '['); i >= 0 {
				pid, msg = head[i+1:], rest
			}
		}
	}
	spec := tr.c.Spec
	switch {
	case msg == "=> nsexec container setup":
		return "init: hako runs again as \"hako init\" (pid " + pid + "); its C part (nsexec) runs before Go starts, to make the namespaces"
	case strings.HasPrefix(msg, "setns("):
		// setns(0x40000000) into net namespace (with path /run/…): Success
		if i := strings.Index(msg, " into "); i >= 0 {
			return "init: joins an existing namespace with setns(2):" + msg[i+5:]
		}
	case strings.HasPrefix(msg, "unshare remaining namespaces"):
		var made []string
		for _, n := range spec.Linux.Namespaces {
			if n.Path == "" && n.Type != specs.UserNamespace {
				made = append(made, string(n.Type))
			}
		}
		return "init: unshare(2) makes the new namespaces: " + strings.Join(made, ", ") + " (pid " + pid + ")"
	case msg == "unshare user namespace":
		return "init: unshare(2) makes a new user namespace"
	case msg == "spawn stage-2":
		return "init: forks again: the child is pid 1 of the new pid namespace"
	case msg == "<= nsexec container setup":
		return "init: namespaces done; Go code takes over inside them"
	case strings.HasPrefix(msg, "starting init in its cgroups"):
		return "libcontainer: " + msg
	case msg == "init: closing the pipe to signal completion":
		p := spec.Process
		s := fmt.Sprintf("init: capabilities dropped to the kept set, user set to %d:%d", p.User.UID, p.User.GID)
		if spec.Linux.Seccomp != nil {
			s += ", seccomp filter loaded (the precompiled program)"
		}
		return s + "; now it waits for hako's go-ahead to exec"
	}
	return ""
}

// hook runs in hako while the init waits: its namespaces exist, its
// mounts are made in the new mount namespace, /dev is populated and
// libcontainer has just written the cgroup limits.
func (tr *startTrace) hook(s *specs.State) error {
	now := time.Now()
	c := tr.c
	tr.add(now, fmt.Sprintf("init: mounts made inside the new mount namespace, /dev nodes created; hako wrote the cgroup limits: %s",
		orNone(readLimits(limitFiles(c.cg, c.ID, tr.res)))))
	tr.add(now, "namespaces of the init (pid "+strconv.Itoa(s.Pid)+"): "+nsInodes(s.Pid))
	return nil
}

// nsInodes compares the init's namespaces with hako's own:
// "mnt:[4026532301] (host 4026531841), …; same as the host: cgroup, user".
func nsInodes(pid int) string {
	var diff, same []string
	for _, n := range []string{"mnt", "net", "uts", "pid", "ipc", "cgroup", "user", "time"} {
		theirs, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		ours, err2 := os.Readlink("/proc/self/ns/" + n)
		if err1 != nil || err2 != nil {
			continue
		}
		if theirs == ours {
			same = append(same, n)
		} else {
			diff = append(diff, theirs+" (hako's: "+strings.TrimPrefix(ours, n+":")+")")
		}
	}
	s := strings.Join(diff, ", ")
	if len(same) > 0 {
		s += "; the same as hako's: " + strings.Join(same, ", ")
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ready notes what libcontainer recorded when the init said it was
// ready: pivot_root, hostname, read-only and masked paths are done.
func (tr *startTrace) ready(lc *libcontainer.Container) {
	st, err := lc.State()
	if err != nil || st.Created.IsZero() {
		return
	}
	spec := tr.c.Spec
	msg := "init: pivot_root(2) into " + spec.Root.Path + ": it becomes /, the old root is unmounted (MNT_DETACH) so no host path is reachable"
	if spec.Hostname != "" {
		msg += "; hostname set to " + spec.Hostname
	}
	if l := spec.Linux; l != nil {
		msg += fmt.Sprintf("; %d paths made read-only and %d masked", len(l.ReadonlyPaths), len(l.MaskedPaths))
	}
	tr.add(st.Created, msg+" (libcontainer's ready time)")
}

// flush prints the collected steps in time order, each with its time
// since Start, and restores logrus.
func (tr *startTrace) flush() {
	if tr.undo != nil {
		tr.undo()
		tr.undo = nil
	}
	tr.mu.Lock()
	ev := slices.Clone(tr.events)
	tr.events = nil
	tr.mu.Unlock()
	// sort.SliceStable, not slices.SortStableFunc: each struct type slices
	// sorts instantiates its sorting code in the binary.
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].at.Before(ev[j].at) })
	prev := tr.t0
	for _, e := range ev {
		tr.c.debug("start +%s (step %s): %s", e.at.Sub(tr.t0).Round(time.Microsecond), e.at.Sub(prev).Round(time.Microsecond), e.msg)
		prev = e.at
	}
}
