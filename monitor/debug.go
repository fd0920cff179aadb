package monitor

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/runtime"
)

// debugEnvKey tells the monitor that hako ran with --debug: its stderr is
// then hako's, and it tells the container's start there.
const debugEnvKey = "_HAKO_MONITOR_DEBUG"

// debugUntilStarted makes the monitor tell c's steps on stderr when hako
// ran with --debug. The returned function ends that once the container
// runs: the monitor outlives the command that started it, so it lets go
// of that terminal (stderr becomes /dev/null again).
func debugUntilStarted(c *runtime.Container) (quiet func()) {
	if os.Getenv(debugEnvKey) == "" {
		return func() {}
	}
	os.Unsetenv(debugEnvKey)
	c.SetDebugf(func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "debug: monitor: "+format+"\n", args...)
	})
	return func() {
		c.SetDebugf(nil)
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			unix.Dup2(int(null.Fd()), 2)
			null.Close()
		}
	}
}
