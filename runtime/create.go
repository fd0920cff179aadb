package runtime

import (
	"path/filepath"

	"github.com/hako-run/hako/rootfs"
)

// statusCreated is status.json's state for a container made by hako create
// and not started yet.
const statusCreated = "created"

// Park leaves a container made by Create without running it (hako
// create): its network released and its rootfs unmounted, recorded as
// created, so hako start runs it later as it runs a stopped one.
func (c *Container) Park() error {
	defer c.release()
	// Only a fully parked container is recorded as created: otherwise it
	// stays an orphan, which Repair cleans up (its network included).
	if err := c.closeNetwork(); err != nil {
		return err
	}
	if err := unmountMerged(filepath.Join(c.dir, mergedDir)); err != nil {
		return err
	}
	// Start mounts the rootfs again, which the kernel refuses for a
	// volatile overlay (a --rm container's, unless Config.Park said so).
	if !c.VFS() {
		if err := rootfs.KeepVolatile(filepath.Join(c.dir, upperDir), filepath.Join(c.dir, workDir)); err != nil {
			return err
		}
	}
	return writeJSON(filepath.Join(c.dir, statusFile), Status{State: statusCreated})
}
