package runtime

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hako-run/hako/internal/atomicfile"
)

// Every container's init mounts /proc, /dev and /sys and bind-mounts
// /etc/hosts, /etc/hostname and /etc/resolv.conf, making the mount targets
// its image lacks: in an overlay each is a directory or file created in the
// container's upper dir (and /etc copied up), on ROOT's disk, on the start
// path, then deleted again with a --rm container. Minimal images (FROM
// scratch, busybox) lack them all: 4 directories and 3 files per run. So the
// overlay gets one more lower layer, below the image's: ROOT/targets/1, the
// same for every container, holding only those empty targets. Whatever the
// image has hides it (the image's layers are above), and the init finds the
// targets there and creates nothing. Like Docker's per-container "init"
// layer, it is not the container's change (commit and diff read the upper
// dir only); export and cp of a stopped container stack it too, so they show
// what the running container showed.

// targetsVersion names the layer's content: a new content gets a new name.
const targetsVersion = "1"

// targetDirs and targetFiles are the layer's content, created root-owned,
// 0755 and 0644 as the init would.
var (
	targetDirs  = []string{"dev", "etc", "proc", "sys"}
	targetFiles = []string{"etc/hostname", "etc/hosts", "etc/resolv.conf"}
)

// targetsLayer returns ROOT/targets/<version>, made on first use: built
// under a .tmp- name and renamed, so it is whole or absent. Not synced:
// after a power cut a layer missing an entry only means the init creates
// that target in the upper dir, as it did without this layer.
func targetsLayer(root string) (string, error) {
	dir := filepath.Join(root, "targets")
	layer := filepath.Join(dir, targetsVersion)
	if fi, err := os.Lstat(layer); err == nil && fi.IsDir() {
		return layer, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("making the mount targets layer: %w", err)
	}
	atomicfile.RemoveAbandoned(dir)
	tmp := atomicfile.TmpName(dir, "targets")
	err := buildTargets(tmp)
	if err == nil {
		if err = os.Rename(tmp, layer); err != nil {
			if fi, serr := os.Lstat(layer); serr == nil && fi.IsDir() {
				err = nil // another hako made it first
			}
		}
	}
	os.RemoveAll(tmp) // gone after a rename
	if err != nil {
		return "", fmt.Errorf("making the mount targets layer: %w", err)
	}
	return layer, nil
}

func buildTargets(tmp string) error {
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	// Modes set explicitly: the umask must not change what containers see.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for _, d := range targetDirs {
		p := filepath.Join(tmp, d)
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	for _, f := range targetFiles {
		p := filepath.Join(tmp, f)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TargetsLayer is the layer of mount targets stacked below the image's
// layers of every container of root (see targetsLayer), for callers that
// mount a container's layers themselves (export).
func TargetsLayer(root string) (string, error) { return targetsLayer(root) }

// overlayLowers are the lower dirs of the overlay of the container in dir
// (ROOT/containers/<id>), top first: its image's layers (bottom first in
// the record), then the targets layer.
func overlayLowers(dir string, layers []string) ([]string, error) {
	root := filepath.Dir(filepath.Dir(dir))
	lowers := make([]string, 0, len(layers)+1)
	for i := len(layers) - 1; i >= 0; i-- {
		lowers = append(lowers, layers[i])
	}
	targets, err := targetsLayer(root)
	if err != nil {
		return nil, err
	}
	return append(lowers, targets), nil
}
