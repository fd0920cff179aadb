package runtime

import (
	"os"
	"os/signal"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNotifyForwarded: the sig-proxy's channel gets what it forwards
// (SIGUSR1, real-time signal 40) and SIGPIPE, but not SIGCHLD or SIGURG,
// which every proxy drops.
func TestNotifyForwarded(t *testing.T) {
	c := make(chan os.Signal, 8)
	NotifyForwarded(c)
	defer signal.Stop(c)
	for _, s := range []unix.Signal{unix.SIGCHLD, unix.SIGURG, unix.SIGUSR1, unix.SIGPIPE, unix.Signal(40)} {
		if err := unix.Kill(os.Getpid(), s); err != nil {
			t.Fatalf("kill %v: %v", s, err)
		}
		want := s != unix.SIGCHLD && s != unix.SIGURG
		wait := 200 * time.Millisecond // for nothing to come
		if want {
			wait = 10 * time.Second // a loaded host, qemu
		}
		select {
		case got := <-c:
			if !want || got != s {
				t.Errorf("sent %v, got %v", s, got)
			}
		case <-time.After(wait):
			if want {
				t.Errorf("sent %v, got nothing", s)
			}
		}
	}
}
