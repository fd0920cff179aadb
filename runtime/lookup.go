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

	"github.com/hako-run/hako/internal/atomicfile"
)

// Stopped is a container that has ended, held so that nothing starts,
// repairs or removes it while its files are read (commit, export); or,
// from OpenCommit, a running one whose files commit reads while it is
// frozen.
type Stopped struct {
	Record
	Dir string
}

// Upper is the container's overlay upper directory: its changes.
func (c *Stopped) Upper() string { return filepath.Join(c.Dir, upperDir) }

// MountStubs are the paths (relative to the rootfs) that exist in the
// upper directory only as targets of files hako bind-mounted from the
// container's directory (hosts, hostname, resolv.conf): not the
// container's changes, as Docker keeps them out of commits.
func (c *Stopped) MountStubs() []string {
	if c.Spec == nil {
		return nil
	}
	var stubs []string
	for _, m := range c.Spec.Mounts {
		if filepath.Dir(m.Source) == c.Dir && filepath.IsAbs(m.Destination) {
			stubs = append(stubs, strings.TrimPrefix(filepath.Clean(m.Destination), "/"))
		}
	}
	return stubs
}

// LockStopped finds a container of root by full ID, name or unique ID
// prefix and takes its lock. It refuses a container that runs (its monitor
// holds the lock) or has not ended (no status recorded). release lets go.
func LockStopped(root, ref string) (_ *Stopped, release func(), err error) {
	dir, err := lookupContainerDir(root, ref)
	if err != nil {
		return nil, nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, nil, err
	}
	unlock, ok, err := tryLock(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("container %s is running: stop it first (only a stopped container can be used here)", ref)
	}
	rec, err := readLookupRecord(dir)
	if err == nil {
		if _, serr := os.Stat(filepath.Join(dir, statusFile)); serr != nil {
			err = fmt.Errorf("container %s is not stopped (it was never started, or still runs without its monitor): stop it first", ref)
		}
	}
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return &Stopped{Record: *rec, Dir: dir}, unlock, nil
}

// lookupContainerDir resolves ref as Docker does: an exact ID or name
// first, else a unique ID prefix.
func lookupContainerDir(root, ref string) (string, error) {
	cdir := containersDir(root)
	unlock, err := atomicfile.Lock(filepath.Join(cdir, ".lock"), false)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("No such container: %s", ref)
	}
	if err != nil {
		return "", err
	}
	defer unlock()
	entries, err := os.ReadDir(cdir)
	if err != nil {
		return "", fmt.Errorf("listing containers: %w", err)
	}
	var byPrefix []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(cdir, e.Name())
		rec, err := readLookupRecord(dir)
		if err != nil {
			continue // being created, or not a container
		}
		if rec.ID == ref || rec.Name == strings.TrimPrefix(ref, "/") {
			return dir, nil
		}
		if ref != "" && strings.HasPrefix(rec.ID, ref) {
			byPrefix = append(byPrefix, dir)
		}
	}
	switch len(byPrefix) {
	case 0:
		return "", fmt.Errorf("No such container: %s", ref)
	case 1:
		return byPrefix[0], nil
	}
	return "", fmt.Errorf("multiple IDs found with provided prefix: %s", ref)
}

func readLookupRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reading record of container %s: %w", filepath.Base(dir), err)
	}
	return &r, nil
}

// CommitConfig is what Docker's commit takes over from a container into
// the new image's config: its command, environment and working directory.
type CommitConfig struct {
	Entrypoint, Cmd, Env []string
	WorkingDir           string
}

// CommitConfig recovers the container's config from its spec, given the
// config of the image it ran: the args split back into the image's
// Entrypoint (or an --entrypoint, the first arg) and Cmd; the environment
// without what hako adds to every process (HOSTNAME, TERM with a TTY,
// HOME), unless the image set those itself.
func (c *Stopped) CommitConfig(imageEntrypoint, imageEnv []string, imageWorkdir string) CommitConfig {
	var cc CommitConfig
	if c.Spec == nil || c.Spec.Process == nil {
		return cc
	}
	p := c.Spec.Process
	args := p.Args
	switch {
	case len(imageEntrypoint) == 0:
		cc.Cmd = slices.Clone(args)
	case len(args) >= len(imageEntrypoint) && slices.Equal(args[:len(imageEntrypoint)], imageEntrypoint):
		cc.Entrypoint, cc.Cmd = slices.Clone(imageEntrypoint), slices.Clone(args[len(imageEntrypoint):])
	case len(args) > 0:
		cc.Entrypoint, cc.Cmd = []string{args[0]}, slices.Clone(args[1:])
	}
	if len(cc.Cmd) == 0 {
		cc.Cmd = nil
	}
	imageHas := func(k string) bool {
		return slices.ContainsFunc(imageEnv, func(kv string) bool { return envKey(kv) == k })
	}
	for _, kv := range p.Env {
		switch k := envKey(kv); {
		case k == "HOSTNAME" && kv == "HOSTNAME="+c.Spec.Hostname && !imageHas(k),
			k == "TERM" && kv == "TERM=xterm" && p.Terminal && !imageHas(k),
			k == "HOME" && !imageHas(k):
			continue
		}
		cc.Env = append(cc.Env, kv)
	}
	cc.WorkingDir = p.Cwd
	if cc.WorkingDir == "/" && imageWorkdir == "" {
		cc.WorkingDir = ""
	}
	return cc
}
