package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// RemoveTree deletes path and everything below it, as os.RemoveAll does,
// in fewer system calls: an empty directory goes with one rmdir(2), and each
// entry of a listed directory is unlinked or rmdir'ed by its type (os.RemoveAll
// tries unlink first and opens the parent again for every directory).
// Kernel entries are what a container's teardown pays most for on some hosts.
// A missing path is not an error. Whatever the fast way cannot remove is left
// to os.RemoveAll.
func RemoveTree(path string) error {
	err := unix.Rmdir(path)
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.EEXIST):
		if removeEntries(path) == nil {
			if err := unix.Rmdir(path); err == nil || errors.Is(err, unix.ENOENT) {
				return nil
			}
		}
	}
	// Not a directory, or something refused: the thorough way.
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// removeEntries removes what the directory dir holds (its sub-directories
// through RemoveTree).
func removeEntries(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			err = RemoveTree(p)
		} else if err = unix.Unlink(p); errors.Is(err, unix.ENOENT) {
			err = nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// RemoveOverlayDirs deletes an unmounted overlay's upper, work and mount
// point (target) directories. upper and work are removed at the same time:
// on a filesystem that discards freed blocks at once (ext4 without a
// journal, mounted with -o discard), each directory's rmdir(2) waits for
// the disk, and the two can wait together. The work dir of a volatile
// overlay holds the kernel's fixed chain work/work/incompat/volatile/dirty,
// removed by name before anything is listed. Empty strings are skipped.
func RemoveOverlayDirs(upper, work, target string) error {
	var wg sync.WaitGroup
	var workErr error
	if work != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			removeVolatileMarker(work)
			workErr = RemoveTree(work)
		}()
	}
	var errs []error
	for _, d := range []string{upper, target} {
		if d != "" {
			errs = append(errs, RemoveTree(d))
		}
	}
	wg.Wait()
	return errors.Join(append(errs, workErr)...)
}

// removeVolatileMarker removes a volatile overlay's work/work and the
// marker chain in it, deepest first, stopping at the first that is not
// there or not empty (RemoveTree then takes what is left).
func removeVolatileMarker(work string) {
	ww := filepath.Join(work, "work")
	incompat := filepath.Join(ww, "incompat")
	volatile := filepath.Join(incompat, "volatile")
	if err := unix.Unlink(filepath.Join(volatile, "dirty")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	for _, d := range []string{volatile, incompat, ww} {
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
}
