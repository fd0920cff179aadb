package runtime

// A container's root filesystem under either storage driver: an overlay of
// the image's layers at merged/ (upper/ and work/ beside it), or with vfs a
// plain copy of the image's top layer (the full tree) at merged/.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
)

// recordedDriver is how a record names the driver: "" for overlay, so
// records stay as they were.
func recordedDriver(d string) string {
	if d == rootfs.DriverOverlay {
		return ""
	}
	return d
}

// mountOverlay makes upper/, work/ and merged/ and mounts the overlay of
// layers (bottom first) at merged/, volatile if asked (mountRootfs).
func (c *Container) mountOverlay(layers []string, volatile bool) error {
	// The overlay's root takes upper's mode: it must be 0755 like any /.
	for _, d := range []string{upperDir, workDir, mergedDir} {
		if err := os.Mkdir(filepath.Join(c.dir, d), 0o755); err != nil {
			return fmt.Errorf("creating container directory: %w", err)
		}
	}
	lowers, err := overlayLowers(c.dir, layers) // top first
	if err != nil {
		return err
	}
	merged := filepath.Join(c.dir, mergedDir)
	t := time.Now()
	if err := mountRootfs(lowers, c.dir, volatile); err != nil {
		return err
	}
	if c.debugf != nil {
		opts := rootfs.OverlayOptions()
		if volatile {
			opts = append(opts, "volatile")
		}
		image, targets := lowers[:len(lowers)-1], lowers[len(lowers)-1]
		c.debug("rootfs: overlay mounted at %s: read-only layers (lowerdir, top first): %d: %s; below them the mount targets (/dev /proc /sys /etc/hosts…): %s; upperdir=%s (takes every write); workdir=%s; options %s (the kernel shows: %s) (%s)",
			merged, len(image), strings.Join(image, ":"), targets, filepath.Join(c.dir, upperDir), filepath.Join(c.dir, workDir),
			strings.Join(opts, ","), overlayOptions(merged), since(t))
	}
	return nil
}

// mountRootfs mounts the overlay of lowers (top first) at dir's merged/.
// The overlay of a --rm container about to run is volatile: its upper dir
// goes when it ends, so the kernel need not sync ROOT's filesystem when it
// is unmounted (on a busy disk that sync was the largest part of a --rm
// run's teardown). Such an overlay is mounted once: the kernel refuses its
// work dir afterwards (rootfs.MountVolatile), and a --rm container is
// removed when it ends.
func mountRootfs(lowers []string, dir string, volatile bool) error {
	upper, work, merged := filepath.Join(dir, upperDir), filepath.Join(dir, workDir), filepath.Join(dir, mergedDir)
	if volatile {
		return rootfs.MountVolatile(lowers, upper, work, merged)
	}
	return rootfs.Mount(lowers, upper, work, merged)
}

// copyRootfs makes merged/ a copy of the top layer's full tree (vfs): made
// under a .tmp-<pid>-… name, synced, then renamed, so merged/ is never a
// partial copy.
func (c *Container) copyRootfs(layers []string) error {
	top := layers[len(layers)-1]
	tmp := atomicfile.TmpName(c.dir, "rootfs")
	t := time.Now()
	err := rootfs.CopyTree(context.Background(), top, tmp)
	if err == nil && !c.remove { // a --rm container is worthless after a power cut
		err = rootfs.SyncFS(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(c.dir, mergedDir))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copying the image's layer into the container's rootfs: %w", err)
	}
	c.debug("rootfs: vfs, a copy of %s at %s (%s)", top, filepath.Join(c.dir, mergedDir), since(t))
	return nil
}

// Rootfs is the container's root filesystem directory (merged/): the
// overlay's mount point, or with vfs the copy itself.
func (c *Stopped) Rootfs() string { return filepath.Join(c.Dir, mergedDir) }

// VFS reports whether the container's rootfs is a vfs copy.
func (r *Record) VFS() bool { return r.StorageDriver == rootfs.DriverVFS }
