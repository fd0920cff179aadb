package runtime

import (
	"encoding/json"
	"sync"

	ocgroups "github.com/opencontainers/cgroups"
	cgroupsfs "github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/runc/libcontainer"
)

// WarmUp builds what a run needs that depends on nothing the run decides:
// encoding/json's encoders for the container's record (with its OCI spec,
// a few hundred struct types) and for what libcontainer encodes and decodes
// (the init's config, the sync messages, the state: libcontainer.WarmUp), and
// the cgroup v1 mount points libcontainer's cgroup manager looks up. A
// process builds each encoder the first time it encodes the type, by
// reflection: 1-2.5 ms of CPU on the start path of every run (writing the
// record, sending the config to the init, saving libcontainer's state); the
// cgroup package parses /proc/self/mountinfo once and keeps what it found
// (~0.5 ms in libcontainer.Create). hako.Warm runs it on another goroutine
// as a run begins, so the work overlaps the image lookup and the
// container's first files; an encoder still being built when it is needed
// is waited for, not built twice (encoding/json's cache). Only the first
// call does anything.
var WarmUp = sync.OnceFunc(func() {
	_, _ = json.Marshal(&Record{})
	libcontainer.WarmUp()
	if !ocgroups.IsCgroup2UnifiedMode() {
		// Paths only: nothing is created or written.
		_, _ = cgroupsfs.NewManager(&ocgroups.Cgroup{Path: "/hako", Resources: &ocgroups.Resources{}}, nil)
	}
})
