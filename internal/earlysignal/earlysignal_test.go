package earlysignal

import (
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestCaughtBeforeMain: in a process marked as a monitor's wait, a SIGTERM
// that arrives before anything called signal.Notify is kept for the wait,
// not the end of the process. The test runs itself as such a process.
func TestCaughtBeforeMain(t *testing.T) {
	if os.Getenv("EARLYSIGNAL_CHILD") == "1" {
		// Sent to this very thread, so that it is taken before tgkill
		// returns: a process-wide kill may be taken by another thread
		// after the Notify below, which would make an unmarked child
		// survive it too (a race CI once lost).
		runtime.LockOSThread()
		syscall.Tgkill(os.Getpid(), syscall.Gettid(), syscall.SIGTERM) // as a supervisor would, early
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

func TestSigProxyCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"run", "--rm", "bb:1", "true"}, true},
		{[]string{"--root", "/x", "--runroot=/y", "--debug", "run", "-it", "bb:1"}, true},
		{[]string{"--storage-driver", "vfs", "container", "run", "bb:1"}, true},
		{[]string{"exec", "-i", "c1", "sh"}, true},
		{[]string{"run", "-d", "bb:1"}, false},
		{[]string{"run", "-dit", "bb:1"}, false},
		{[]string{"run", "--detach", "bb:1"}, false},
		{[]string{"exec", "-d", "c1", "true"}, false},
		{[]string{"run", "-e", "A=b", "--", "bb:1", "ls", "-d"}, true},
		{[]string{"--root", "run", "ps"}, false},
		{[]string{"ps"}, false},
		{[]string{"init"}, false},
		{[]string{"monitor-wait", "a", "b", "c"}, false},
		{nil, false},
	} {
		if got := SigProxyCommand(c.args); got != c.want {
			t.Errorf("SigProxyCommand(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

// TestIdleCaughtAndDropped: with only Idle's registration, Go drops these
// signals as it does with none (the process goes on); nothing else.
func TestIdleCaughtAndDropped(t *testing.T) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, Idle()...)
	defer signal.Stop(c)
	for _, s := range Idle() {
		switch s {
		case syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGPIPE,
			syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPROF:
			t.Errorf("%v is in Idle", s)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.Signal(40))
	time.Sleep(50 * time.Millisecond) // still here
}
