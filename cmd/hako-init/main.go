// Command hako-init is an init-only build of hako for containers: the
// libcontainer init and nothing else. hako uses it instead of re-executing
// itself when _HAKO_INIT_EXE names it (an experiment: see
// third_party/runc/HAKO.md, patch 20, and BENCHMARKS.md).
package main

import (
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor joins or creates the container's namespaces
	// before Go starts.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init() // never returns
	}
	fmt.Fprintln(os.Stderr, "hako-init: only run by hako, as \"hako-init init\"")
	os.Exit(2)
}
