package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// attachHoldFile is how `hako start -a` keeps a --rm container's record and
// log until it has read them: it holds the file's flock shared from before
// the start until it has read the output and the exit code, and the
// teardown of a --rm container takes it exclusive before it deletes the
// directory. Without it a container that ends at once could be gone before
// start -a found it ("No such container", its output lost). A killed
// reader's lock goes with it.
const attachHoldFile = "attach-hold"

// HoldForReader takes the hold on a --rm container's record for a reader
// that must see its whole run; release lets the removal go on. For a
// container without --rm it holds nothing.
func HoldForReader(info *Info) (release func(), err error) {
	if !info.Remove {
		return func() {}, nil
	}
	f, err := os.OpenFile(filepath.Join(info.Dir, attachHoldFile), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("holding container %s for its output: %w", info.ID[:12], err)
	}
	if err := flockRetry(f, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("holding container %s for its output: %w", info.ID[:12], err)
	}
	return func() { f.Close() }, nil
}

// waitForReaders blocks until no reader holds dir's record (HoldForReader).
func waitForReaders(dir string) {
	f, err := os.Open(filepath.Join(dir, attachHoldFile))
	if err != nil {
		return // nobody asked
	}
	defer f.Close()
	flockRetry(f, unix.LOCK_EX)
}

// RemovedAfterRun reports whether the --rm container id has ended and its
// exit code waits in RUNROOT/exits (its directory may still be held).
func RemovedAfterRun(runRoot, id string) bool {
	_, ok := removedExit(runRoot, id)
	return ok
}

func flockRetry(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
