package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/runtime"
)

// proxySignals forwards the signals hako receives to the container's init
// until stop: Docker's --sig-proxy for attach and start -a. Not for a TTY
// container, whose terminal carries ctrl-c itself.
func proxySignals(info *runtime.Info) (stop func()) {
	sigs := make(chan os.Signal, 32)
	runtime.NotifyForwarded(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				sig, ok := s.(unix.Signal)
				if !ok {
					continue
				}
				switch sig {
				case unix.SIGCHLD, unix.SIGPIPE, unix.SIGURG, unix.SIGWINCH:
					continue // hako's own, as Docker's proxy leaves them
				}
				runtime.Signal(info, sig) // an error: it just ended
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}

// hasTTY reports whether the container runs on a pty (-t).
func hasTTY(info *runtime.Info) bool {
	return info.Spec != nil && info.Spec.Process != nil && info.Spec.Process.Terminal
}
