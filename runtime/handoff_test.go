package runtime

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHandOffPassesPendingSignals: a signal that hako run has taken but not
// yet passed on when it hands its wait over (execve) would be lost with
// the process: the hand-over passes it on first. The signal is queued as
// the hand-over is due; select picks either, so each round takes one of
// the two paths at random.
func TestHandOffPassesPendingSignals(t *testing.T) {
	for round := 0; round < 16; round++ {
		child := exec.Command("sleep", "30")
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		pid := child.Process.Pid
		fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
		if err != nil {
			child.Process.Kill()
			t.Skipf("no pidfd: %v", err)
		}
		pidf := os.NewFile(uintptr(fd), "pidfd")
		var lost bool
		c := &Container{handoffAfter: 0, handoffFn: func(*Handoff) error {
			// Here the process would execve: the init must have its
			// signal by now (it dies of it at once: wait for that).
			var info unix.Siginfo
			deadline := time.Now().Add(2 * time.Second)
			for {
				err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
				if err == nil && info.Signo != 0 {
					break // ended, not reaped
				}
				if time.Now().After(deadline) {
					lost = true
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			return errors.New("no exec in a test")
		}}
		sigs := make(chan os.Signal, 4)
		sigs <- unix.SIGTERM
		code, err := c.waitPidfdOrHandOff(pid, pidf, nil, sigs)
		pidf.Close()
		if err != nil || code != 128+int(unix.SIGTERM) {
			t.Fatalf("round %d: code %d, %v; want %d", round, code, err, 128+int(unix.SIGTERM))
		}
		if lost {
			t.Fatalf("round %d: the init had not got the signal hako run took before handing its wait on", round)
		}
	}
}
