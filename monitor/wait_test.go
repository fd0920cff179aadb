package monitor

import (
	"os"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/runtime"
)

// TestWaitEnvRoundTrip: what execWait writes in _HAKO_MONITOR_WAIT,
// WaitMain reads back: every descriptor under its number, the init, the
// restart loop's state, the log limits and a foreground run's terminal.
func TestWaitEnvRoundTrip(t *testing.T) {
	byFD := map[int]*os.File{}
	f := func(int) *os.File { // a real descriptor of this process
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		byFD[int(r.Fd())] = r
		return r
	}
	term := &unix.Termios{Iflag: 1, Oflag: 2, Cflag: 3, Lflag: unix.ICANON | unix.ECHO}
	term.Cc[unix.VMIN] = 1
	in := &waitState{
		lock: f(3), listener: f(9), clients: []*os.File{f(10), f(11)}, ports: []*os.File{f(12)},
		run: &runtime.Handoff{PID: 4242, Stdout: f(5), Stderr: f(6), Master: f(7), Stdin: f(8),
			Terminal: term, InputFromStdin: true, SizeFrom: 1},
		logSize: "10m", logFiles: "3",
		runState:   runtime.RunState{Made: 2, Backoff: 400 * time.Millisecond, Started: time.Unix(1700000000, 123456789)},
		foreground: true, sigProxy: true,
	}
	env := waitEnv(in, func(g *os.File) int {
		for fd, h := range byFD {
			if h == g {
				return fd
			}
		}
		return -1
	})
	got := parseWaitEnv(env, func(fd int, name string) *os.File { return byFD[fd] })
	got.root, got.runRoot, got.id = in.root, in.runRoot, in.id
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip of %q:\ngot  %+v %+v\nwant %+v %+v", env, got, got.run, in, in.run)
	}

	// A detached run without a pty, stdin or clients.
	in = &waitState{lock: f(3), listener: f(9), run: &runtime.Handoff{PID: 7, Stdout: f(5), Stderr: f(6), SizeFrom: -1},
		logSize: "1 m", logFiles: "1", runState: runtime.RunState{Started: time.Unix(0, 42)}}
	if _, err := runtime.ParseLogOpts([]string{"max-size=" + in.logSize}); err != nil {
		t.Fatal(err) // --log-opt accepts it: the wait must get it whole
	}
	env = waitEnv(in, func(g *os.File) int {
		for fd, h := range byFD {
			if h == g {
				return fd
			}
		}
		return -1
	})
	got = parseWaitEnv(env, func(fd int, name string) *os.File { return byFD[fd] })
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip of %q:\ngot  %+v %+v\nwant %+v %+v", env, got, got.run, in, in.run)
	}
	if decodeTermios("-") != nil || decodeTermios("00") != nil {
		t.Error("decodeTermios accepts what encodeTermios never writes")
	}
}
