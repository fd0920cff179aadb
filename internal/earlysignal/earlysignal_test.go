package earlysignal

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestCaughtBeforeMain: in a process marked as a monitor's wait, a SIGTERM
// that arrives before anything called signal.Notify is kept for the wait,
// not the end of the process. The test runs itself as such a process.
func TestCaughtBeforeMain(t *testing.T) {
	if os.Getenv("EARLYSIGNAL_CHILD") == "1" {
		syscall.Kill(os.Getpid(), syscall.SIGTERM) // as a supervisor would, early
		c := Notify(1, syscall.SIGTERM)
		select {
		case sig := <-c:
			if sig != syscall.SIGTERM {
				t.Fatalf("got %v, want SIGTERM", sig)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the early SIGTERM was not kept")
		}
		return
	}
	for _, env := range []struct {
		value    string
		survives bool
	}{{WaitValue, true}, {"", false}} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestCaughtBeforeMain$", "-test.count=1")
		cmd.Env = append(os.Environ(), "EARLYSIGNAL_CHILD=1", EnvKey+"="+env.value)
		out, err := cmd.CombinedOutput()
		survived := err == nil
		if !survived {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
				t.Fatalf("%s=%q: %v\n%s", EnvKey, env.value, err, out)
			}
		}
		if survived != env.survives {
			t.Errorf("%s=%q: survived an early SIGTERM: %v, want %v\n%s", EnvKey, env.value, survived, env.survives, out)
		}
	}
}
