// Package earlysignal catches, from the first package initialisations of
// the process on, the signals that would otherwise end a monitor's fresh
// exec (`hako monitor-wait`) before its wait listens: until a Go program
// calls signal.Notify, SIGTERM, SIGINT and SIGHUP kill it, and Go cannot
// block or ignore them across an execve. The wait takes the channel and
// passes what it holds on to the container.
//
// In a foreground `hako run` or a `hako exec` (the sig-proxies that
// register every signal) it also registers, in a goroutine from init on,
// the signals a Go program catches and drops when nothing asked for them
// (Idle), on a channel nobody reads: that changes nothing in how the
// process takes them, but Go makes each signal's first registration a
// round trip to its signal-mask thread, one signal at a time, and a later
// signal.Notify of an already registered signal makes none. The proxy's
// own registration, on the container's start path, is then ~17 round
// trips instead of ~60.
//
// It is the one package whose init has a side effect, and only in those
// processes: it imports nothing of hako's and only the standard library
// packages signal handling needs, so Go initialises it among the first
// (dependencies first, then by import path).
package earlysignal

import (
	"os"
	"os/signal"
	"syscall"
)

// EnvKey and WaitValue mark the process as a monitor's wait (monitor/wait.go).
const (
	EnvKey    = "_HAKO_MONITOR"
	WaitValue = "wait"
)

var early chan os.Signal

func init() {
	if os.Getenv(EnvKey) == WaitValue {
		early = make(chan os.Signal, 32)
		signal.Notify(early, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		return
	}
	if SigProxyCommand(os.Args[1:]) {
		go signal.Notify(make(chan os.Signal, 1), Idle()...)
	}
}

// Idle lists the signals that Go's runtime, when nothing asked for them,
// catches and drops ("other signals will be caught but no action will be
// taken", os/signal): SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ,
// SIGVTALRM, SIGIO, SIGPWR, SIGWINCH, SIGCONT and the real-time signals
// 34 to 64. Registering them changes nothing else. Not in it: those that
// end the process, dump it or stop it (SIGHUP, SIGINT, SIGTERM, SIGQUIT,
// SIGABRT, the synchronous ones, SIGTSTP, SIGTTIN, SIGTTOU), SIGPIPE (taken,
// an EPIPE on stdout no longer ends the process), SIGPROF, and SIGCHLD and
// SIGURG, which no sig-proxy takes.
func Idle() []os.Signal {
	sigs := []os.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGXCPU,
		syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGIO, syscall.SIGPWR, syscall.SIGWINCH, syscall.SIGCONT}
	for n := syscall.Signal(34); n <= 64; n++ {
		sigs = append(sigs, n)
	}
	return sigs
}

// SigProxyCommand reports whether args (os.Args[1:]) are a `hako run`
// without -d or a `hako exec` without -d (also as `hako container ...`).
// A wrong answer costs only time: Idle's registration changes nothing else.
func SigProxyCommand(args []string) bool {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--root" || a == "--runroot" || a == "--storage-driver":
			i++ // its value
		case a == "container" || len(a) > 0 && a[0] == '-':
		case a == "run" || a == "exec":
			return !detached(args[i+1:])
		default:
			return false
		}
	}
	return false
}

// detached reports whether a command's args hold -d or --detach (in a
// group of short flags too), up to a "--".
func detached(args []string) bool {
	for _, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--detach" || a == "--detach=true":
			return true
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			for _, ch := range a[1:] {
				if ch == '=' {
					break
				}
				if ch == 'd' {
					return true
				}
			}
		}
	}
	return false
}

// Notify is signal.Notify(c, sig...) on the channel the early catch has
// been filling (with what arrived since the exec), or on a new one of size
// n outside a monitor's wait; no signal list means all, as signal.Notify.
// Adding to the early channel leaves no moment without a catch and
// delivers no signal twice.
func Notify(n int, sig ...os.Signal) chan os.Signal {
	c := early
	if c == nil {
		c = make(chan os.Signal, n)
	}
	signal.Notify(c, sig...)
	return c
}
