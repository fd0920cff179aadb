// Command hako is a daemonless container runtime: it pulls OCI images, unpacks
// them into overlay root filesystems and runs them through runc's libcontainer.
package main

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/hako-run/hako/monitor"
)

func init() {
	// libcontainer re-executes this binary as "hako init" inside each new
	// container; that must be handled before any flag parsing.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}

func main() {
	// A detached container's monitor is a re-exec of hako: it never
	// reaches the CLI.
	if monitor.IsMonitor() {
		os.Exit(monitor.Main())
	}
	os.Exit(execute(os.Args[1:]))
}
