// Package earlysignal catches, from the first package initialisations of
// the process on, the signals that would otherwise end a monitor's fresh
// exec (`hako monitor-wait`) before its wait listens: until a Go program
// calls signal.Notify, SIGTERM, SIGINT and SIGHUP kill it, and Go cannot
// block or ignore them across an execve. The wait takes the channel and
// passes what it holds on to the container.
//
// It is the one package whose init has a side effect, and only in that
// process: it imports nothing of hako's and only the standard library
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
	if os.Getenv(EnvKey) != WaitValue {
		return
	}
	early = make(chan os.Signal, 32)
	signal.Notify(early, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
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
