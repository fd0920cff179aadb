package runtime

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor joins or creates a new container's
	// namespaces before Go starts, in the re-executed init process.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// Init must run first in every program that runs containers, from an init
// function of its main package or the top of main: libcontainer starts each
// container by re-executing the program (/proc/self/exe) as "PROGRAM init",
// and there Init becomes the container's init and never returns. In any
// other process it returns at once.
func Init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// The init allocates about 1 MB and execs the container's
		// command before any collection: let its heap grow into a huge
		// page (hugeheap.go). The page is charged to the container's
		// memory cgroup; where it cannot be, the kernel falls back to
		// small pages.
		HugeHeap()
		libcontainer.Init()
	}
}
