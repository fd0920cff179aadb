package runtime

import (
	"path/filepath"
)

// statusCreated is status.json's state for a container made by hako create
// and not started yet.
const statusCreated = "created"

// Park leaves a container made by Create without running it (hako
// create): its network released and its rootfs unmounted, recorded as
// created, so hako start runs it later as it runs a stopped one.
func (c *Container) Park() error {
	defer c.release()
	err := c.closeNetwork()
	if e := unmountMerged(filepath.Join(c.dir, mergedDir)); e != nil && err == nil {
		err = e
	}
	if e := writeJSON(filepath.Join(c.dir, statusFile), Status{State: statusCreated}); e != nil && err == nil {
		err = e
	}
	return err
}
