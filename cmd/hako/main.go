// Command hako is a daemonless container runtime: it pulls OCI images, unpacks
// them into overlay root filesystems and runs them through runc's libcontainer.
package main

import (
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/hako-run/hako/runccompat"
)

func init() {
	// libcontainer re-executes this binary as "hako init" inside each new
	// container; that must be handled before any flag parsing.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}

func main() {
	if filepath.Base(os.Args[0]) == "hako-runc" { // runc's dialect, for containerd's shim
		os.Exit(runccompat.Main(os.Args[1:]))
	}
	os.Exit(execute(os.Args[1:]))
}
