package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 13).

import (
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer/configs"
)

// runFifo is the exec fifo's open that Run begins as soon as it has sent
// the init procRun, instead of after Start returned. Upstream's Run
// opens the fifo only once the parent has seen the init close its sync
// socket, shut its own down, waited for the init's log pipe to close and
// started a goroutine to open it, while the init, its mounts, seccomp
// filter and capabilities done, waits in its open of the fifo. With the
// open already waiting, the init goes on to execve at once; the parent's
// bookkeeping overlaps it. The init still execs only after it has done
// everything upstream's does (the open is its last step before exec, as
// before), and only under Run, which would open the fifo anyway: Start
// (create, then start apart) keeps waiting for Exec. Not with poststart
// hooks, which upstream runs before the open.
type runFifo struct {
	ch <-chan openResult
}

// wantRunFifo says whether Run may open the fifo early for process.
func (c *Container) wantRunFifo(process *Process) bool {
	return process.Init && !c.config.HasHook(configs.Poststart)
}

// openRunFifo begins the open if Run asked for it (c.runFifo set, empty).
// Called right after procRun is sent.
func (c *Container) openRunFifo() {
	if c.runFifo != nil && c.runFifo.ch == nil {
		c.runFifo.ch = awaitFifoOpen(filepath.Join(c.stateDir, execFifoFilename))
	}
}

// cancelRunFifo ends an open that will not be used (the start failed):
// opening the fifo read-write never blocks and lets the waiting (or yet to
// come) read-only open complete; its result is taken and closed. Called
// before the fifo is removed.
func (c *Container) cancelRunFifo() {
	rf := c.runFifo
	c.runFifo = nil
	if rf == nil || rf.ch == nil {
		return
	}
	w, err := os.OpenFile(filepath.Join(c.stateDir, execFifoFilename), os.O_RDWR, 0)
	if err != nil {
		// The fifo is gone: the open fails or has failed.
		if r := <-rf.ch; r.file != nil {
			r.file.Close()
		}
		return
	}
	if r := <-rf.ch; r.file != nil {
		r.file.Close()
	}
	w.Close()
}
