// Command hako is a daemonless container runtime: it pulls OCI images, unpacks
// them into overlay root filesystems and runs them through runc's libcontainer.
package main

import (
	"os"
	"path/filepath"

	"github.com/hako-run/hako/monitor"
	"github.com/hako-run/hako/runccompat"
	"github.com/hako-run/hako/runtime"
)

func init() {
	// libcontainer re-executes this binary as "hako init" inside each new
	// container; that must be handled before any flag parsing.
	runtime.Init()
}

func main() {
	// A detached container's monitor is a re-exec of hako: it never
	// reaches the CLI.
	if monitor.IsMonitor() {
		os.Exit(monitor.Main())
	}
	if monitor.IsWait() { // the monitor once its container runs (monitor/wait.go)
		os.Exit(monitor.WaitMain())
	}
	if filepath.Base(os.Args[0]) == "hako-runc" { // runc's dialect, for containerd's shim
		os.Exit(runccompat.Main(os.Args[1:]))
	}
	os.Exit(execute(os.Args[1:]))
}
