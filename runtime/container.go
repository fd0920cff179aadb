package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
)

// Names of the files and directories in a container's directory.
const (
	recordFile = "config.json" // hako's Record
	statusFile = "status.json" // Status, once the container has exited
	upperDir   = "upper"
	workDir    = "work"
	mergedDir  = "merged"
)

// Record is hako's record of a container, ROOT/containers/<id>/config.json.
type Record struct {
	ID      string      `json:"id"`
	Name    string      `json:"name,omitempty"`
	Image   string      `json:"image"`    // the image as the user named it
	ImageID string      `json:"image_id"` // sha256:… of its config
	Created time.Time   `json:"created"`
	Spec    *specs.Spec `json:"spec,omitempty"`
}

// Status is how a container ended, ROOT/containers/<id>/status.json.
type Status struct {
	State      string    `json:"state"` // "exited"
	ExitCode   int       `json:"exit_code"`
	FinishedAt time.Time `json:"finished_at"`
}

// Config is what Create needs to make a container.
type Config struct {
	Root    string // hako's --root; the container lives in Root/containers/<id>
	RunRoot string // hako's --runroot; libcontainer state goes in RunRoot/libcontainer
	Name    string // optional, unique among the containers of Root

	Image       string              // as the user named it
	ImageID     string              // sha256:… of the image config
	ImageConfig ocispec.ImageConfig // entrypoint, cmd, env, user, workdir
	LayerDirs   []string            // extracted layers, bottom first
	Options     SpecOptions         // flags; ID, RootfsPath and the network files are filled in by Create
	Cgroups     *cgroups.Host       // the host's cgroup setup
	Remove      bool                // --rm: delete everything once the container exits
	Stdio       Stdio               // where the container's input and output go
}

// Container is a created container that has not run yet.
type Container struct {
	Record
	dir     string
	runRoot string
	cg      *cgroups.Host
	remove  bool
	stdio   Stdio
}

var nameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ValidName reports whether name is a valid container name (Docker's rule).
func ValidName(name string) bool { return nameRe.MatchString(name) }

// containersDir is Root/containers.
func containersDir(root string) string { return filepath.Join(root, "containers") }

// NewID returns a random 64-hex container ID.
func NewID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating container ID: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Create makes a container: its directory and record, the overlay rootfs
// mounted at merged/, the generated network files and the OCI spec. Nothing
// is left behind when it fails.
func Create(cfg Config) (_ *Container, err error) {
	if cfg.Name != "" && !ValidName(cfg.Name) {
		return nil, fmt.Errorf("invalid container name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", cfg.Name)
	}
	if cfg.Cgroups == nil {
		return nil, errors.New("creating container: no cgroup host")
	}
	if len(cfg.LayerDirs) == 0 {
		return nil, errors.New("creating container: the image has no layers")
	}
	id, err := NewID()
	if err != nil {
		return nil, err
	}
	c := &Container{
		Record:  Record{ID: id, Name: cfg.Name, Image: cfg.Image, ImageID: cfg.ImageID, Created: time.Now().UTC()},
		dir:     filepath.Join(containersDir(cfg.Root), id),
		runRoot: cfg.RunRoot,
		cg:      cfg.Cgroups,
		remove:  cfg.Remove,
		stdio:   cfg.Stdio,
	}
	if err := c.reserve(cfg.Root); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(c.dir)
		}
	}()
	// The overlay's root takes upper's mode: it must be 0755 like any /.
	for _, d := range []string{upperDir, workDir, mergedDir} {
		if err := os.Mkdir(filepath.Join(c.dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating container directory: %w", err)
		}
	}
	lowers := slices.Clone(cfg.LayerDirs)
	slices.Reverse(lowers) // overlay wants the top layer first
	merged := filepath.Join(c.dir, mergedDir)
	if err := rootfs.Mount(lowers, filepath.Join(c.dir, upperDir), filepath.Join(c.dir, workDir), merged); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			rootfs.Unmount(merged)
		}
	}()

	o := cfg.Options
	o.ID, o.RootfsPath = id, merged
	if o.CgroupsPath == "" {
		o.CgroupsPath = cfg.Cgroups.CgroupsPath(id)
	}
	if err := c.writeNetworkFiles(&o); err != nil {
		return nil, err
	}
	spec, err := BuildSpec(cfg.ImageConfig, o)
	if err != nil {
		return nil, err
	}
	// Docker creates a missing working directory, owned by root.
	if err := EnsureWorkdir(merged, spec.Process.Cwd, 0, 0); err != nil {
		return nil, err
	}
	c.Spec = spec
	if err := writeJSON(filepath.Join(c.dir, recordFile), c.Record); err != nil {
		return nil, err
	}
	return c, nil
}

// Dir is the container's directory, Root/containers/<id>.
func (c *Container) Dir() string { return c.dir }

// reserve creates the container's directory and a first record under a lock
// on Root/containers, so two runs can't take the same name.
func (c *Container) reserve(root string) error {
	dir := containersDir(root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	unlock, err := lockExclusive(filepath.Join(dir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if c.Name != "" {
		owner, err := findName(dir, c.Name)
		if err != nil {
			return err
		}
		if owner != "" {
			return fmt.Errorf("the container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name", c.Name, owner)
		}
	}
	if err := os.Mkdir(c.dir, 0o700); err != nil {
		return fmt.Errorf("creating container directory: %w", err)
	}
	if err := writeJSON(filepath.Join(c.dir, recordFile), c.Record); err != nil {
		os.RemoveAll(c.dir)
		return err
	}
	return nil
}

// findName returns the ID of the container named name, or "".
func findName(dir, name string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("listing containers: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		var r Record
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue // being created or removed
		}
		if err != nil {
			return "", fmt.Errorf("reading container record: %w", err)
		}
		if json.Unmarshal(b, &r) == nil && r.Name == name {
			return r.ID, nil
		}
	}
	return "", nil
}

// writeJSON writes v to path atomically: temp file, fsync, rename.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// lockExclusive takes an exclusive flock on path, creating it.
func lockExclusive(path string) (func(), error) { return atomicfile.Lock(path, true) }
