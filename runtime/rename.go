package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/network"
)

// Rename gives the container ref (ID, name or unique ID prefix) the name
// newName, as docker rename: running or stopped. The name index is the
// records themselves, so the check and the write happen under
// Root/containers/.lock, held exclusively as create holds it to pick a name.
func Rename(root, ref, newName string) error {
	newName = strings.TrimPrefix(newName, "/")
	if !ValidName(newName) {
		return fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", newName)
	}
	dir, err := lookupContainerDir(root, ref) // takes the lock shared, and lets go
	if err != nil {
		return err
	}
	cdir := containersDir(root)
	unlock, err := lockExclusive(filepath.Join(cdir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(dir, recordFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("No such container: %s", ref) // removed in between
	}
	if err != nil {
		return fmt.Errorf("renaming container %s: %w", ref, err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("renaming container %s: reading its record: %w", ref, err)
	}
	if rec.Name == newName {
		return errors.New("Renaming a container with the same name as its current name")
	}
	names, err := containerNames(cdir)
	if err != nil {
		return err
	}
	if owner := names[newName]; owner != "" {
		return fmt.Errorf("Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name", "/"+newName, owner)
	}
	rec.Name = newName
	c := &Container{Record: rec, dir: dir, remove: rec.Remove}
	if err := c.writeRecord(path, rec); err != nil {
		return fmt.Errorf("renaming container %s: %w", ref, err)
	}
	// Members of its user networks find it by its new name from now on
	// (those connected later too, its first network maybe the bridge).
	if rec.Network != nil {
		if err := network.Rename(rec.ID, newName); err != nil {
			return fmt.Errorf("renaming container %s: updating its network's hosts files: %w", ref, err)
		}
	}
	return nil
}

// refreshName takes the name from the record on disk: hako rename may have
// changed it while this process (a monitor) held the record in memory.
func (c *Container) refreshName() {
	b, err := os.ReadFile(filepath.Join(c.dir, recordFile))
	if err != nil {
		return
	}
	var r struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(b, &r) == nil && r.Name != "" {
		c.Name = r.Name
	}
}

// saveRecord rewrites the container's record (config.json) from memory,
// keeping a name that hako rename wrote meanwhile. It holds
// Root/containers/.lock shared, so a rename never falls in between.
func (c *Container) saveRecord() error {
	unlock, err := atomicfile.Lock(filepath.Join(filepath.Dir(c.dir), ".lock"), false)
	if err != nil {
		return err
	}
	defer unlock()
	c.refreshName()
	return c.writeRecord(filepath.Join(c.dir, recordFile), c.Record)
}
