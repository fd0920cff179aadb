package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The one way every command reads the records of Root/containers: which
// directories are containers, and what a missing or torn record means.

// containerIDs returns the IDs of the container directories in dir
// (Root/containers), sorted. Dot-named entries are not containers: .lock,
// and the .tmp-… names removals rename a directory to first. A missing dir
// holds none.
func containerIDs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// badRecords says what a scan does with a record that does not decode: a
// --rm container's record is not fsynced, so a power cut can tear it.
type badRecords int

const (
	// skipBadRecords, for names and mounts: a torn record must not stop
	// every later run.
	skipBadRecords badRecords = iota
	// failOnBadRecords, for what garbage collection may delete: when in
	// doubt, keep.
	failOnBadRecords
)

// scanRecords decodes the record of each container in dir (Root/containers)
// into a new T and calls fn with it, in ID order. T names only the fields
// the caller needs: decoding a record's whole spec costs ~0.7 ms per
// container, on every run. A container directory without a record is a
// create in progress or cut short, and is skipped; a record that cannot be
// read fails the scan. The caller holds Root/containers/.lock (shared or
// exclusive), which creators hold until the first record is written.
func scanRecords[T any](dir string, bad badRecords, fn func(id string, r *T)) error {
	ids, err := containerIDs(dir)
	if err != nil {
		return err
	}
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(dir, id, recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading record of container %s: %w", id, err)
		}
		r := new(T)
		if err := json.Unmarshal(b, r); err != nil {
			if bad == skipBadRecords {
				continue
			}
			return fmt.Errorf("reading record of container %s: %w", id, err)
		}
		fn(id, r)
	}
	return nil
}
