package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Parent is the cgroup that holds every hako container (cgroupfs driver).
const Parent = "/hako"

// Path returns the absolute cgroup path of a container for the cgroupfs
// driver: "/hako/<id>". It is the same in every hierarchy.
func Path(id string) string {
	return Parent + "/" + id
}

// CgroupsPath returns the value for the spec's Linux.CgroupsPath: Path(id), or
// "hako.slice:hako:<id>" when systemd owns the cgroups (then the runtime must
// also ask libcontainer for the systemd driver).
func (h *Host) CgroupsPath(id string) string {
	if h.Systemd {
		return "hako.slice:hako:" + id
	}
	return Path(id)
}

// rel returns the container's cgroup path relative to a hierarchy's root.
func (h *Host) rel(id string) string {
	if h.Systemd {
		// What systemd makes of slice "hako.slice", prefix "hako", name id.
		return "/hako.slice/hako-" + id + ".scope"
	}
	return Path(id)
}

func checkID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("invalid container id %q", id)
	}
	return nil
}

// dir returns the container's cgroup directory for controller ctrl, or "" when
// the controller is missing. On v2 every controller shares one directory.
func (h *Host) dir(ctrl, id string) string {
	if h.Mode == V2 {
		return filepath.Join(h.Root, h.rel(id))
	}
	d, ok := h.v1Dirs[ctrl]
	if !ok {
		return ""
	}
	return filepath.Join(d, h.rel(id))
}

// hierarchies returns the mount directory of every hierarchy, each once.
func (h *Host) hierarchies() []string {
	if h.Mode == V2 {
		return []string{h.Root}
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range h.v1Dirs {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// Cleanup removes a container's leftover cgroup directories (and any empty
// sub-cgroups) in every hierarchy. It only calls rmdir, which the kernel refuses
// for a cgroup that still has processes: it never kills anything. A missing
// directory is not an error. With systemd nothing is done: systemd removes an
// empty scope itself.
func (h *Host) Cleanup(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if h.Systemd {
		return nil
	}
	var errs []error
	for _, hier := range h.hierarchies() {
		if err := rmdirTree(filepath.Join(hier, Path(id))); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing cgroup of container %s: %w", id, err)
	}
	return nil
}

// RemoveParent removes the empty /hako parent in every hierarchy. A non-empty
// parent is left alone. Call it only while holding off container creation (for
// example on uninstall): it races with libcontainer creating /hako/<id>.
func (h *Host) RemoveParent() error {
	if h.Systemd {
		return nil
	}
	var errs []error
	for _, hier := range h.hierarchies() {
		err := os.Remove(filepath.Join(hier, Parent))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.EBUSY) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing cgroup parent %s: %w", Parent, err)
	}
	return nil
}

// rmdirTree removes dir and its sub-directories deepest first, with rmdir only
// (a cgroup's control files go away with its directory).
func rmdirTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdirTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
