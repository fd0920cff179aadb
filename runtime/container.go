package runtime

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-run/hako/apparmor"
	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/network"
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
	Remove  bool        `json:"remove,omitempty"` // --rm: a repair deletes it too
	// AppArmorProfile is the profile the container runs under ("" = none:
	// the host has no AppArmor), Docker inspect's AppArmorProfile.
	AppArmorProfile string `json:"apparmor_profile"`

	// For the lifecycle after run (lifecycle.go): the layers to remount on
	// start, the image's stop signal, the log settings of -d, --label.
	LayerDirs  []string          `json:"layer_dirs,omitempty"` // bottom first
	StopSignal string            `json:"stop_signal,omitempty"`
	Log        *LogConfig        `json:"log,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Network is the bridge network of --network bridge (network.go).
	Network *NetworkRecord `json:"network,omitempty"`
	// Restart is --restart, applied by the monitor (restart.go).
	Restart *RestartPolicy `json:"restart,omitempty"`
	// OpenStdin is -i: the monitor keeps the container's stdin for attach.
	OpenStdin bool `json:"open_stdin,omitempty"`
	// StorageDriver is rootfs.DriverVFS for a container whose merged/ is
	// a plain copy of its image's top layer; "" is overlay (vfs.go).
	StorageDriver string `json:"storage_driver,omitempty"`
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
	Mounts      []MountRequest      // -v and --mount, made into Options.Mounts once the rootfs is mounted
	AppArmor    *apparmor.Host      // nil: this machine's (tests fake one)
	Bridge      *BridgeOptions      // --network bridge (network.go); nil: none or host, as Options says
	JoinNetwork *JoinedNetwork      // --network container:NAME (netjoin.go)
	Log         *LogConfig          // -d: where the monitor writes the output (logs.go)
	Labels      map[string]string   // --label
	Restart     *RestartPolicy      // --restart (restart.go); nil: no
	OpenStdin   bool                // -d -i: kept open for attach (attach.go)
	// StorageDriver is the image store's (rootfs.DriverOverlay or
	// DriverVFS; "" is overlay): how the rootfs is made of LayerDirs.
	StorageDriver string
	// Park: the caller parks the container after Create (hako create), so
	// start mounts its rootfs again: with Remove, the overlay Create mounts
	// is then not volatile (a volatile overlay is mounted once: mountRootfs).
	// Park without it still works: it syncs the upper dir's filesystem and
	// drops the kernel's marker (rootfs.KeepVolatile).
	Park bool

	// Debugf, when set, is told each isolation step and how long it took
	// (hako --debug).
	Debugf func(format string, args ...any)
}

// Container is a created container that has not run yet.
type Container struct {
	Record
	dir     string
	runRoot string
	cg      *cgroups.Host
	remove  bool
	stdio   Stdio
	debugf  func(format string, args ...any)
	unlock  func() // releases the container's lock (repair.go)
	lockf   *os.File
	onStart func() // called once the process runs and is recorded (lifecycle.go)

	// net is its network on hako0, until teardown (network.go).
	net *network.Endpoint
	// heldPorts are the host port reservations a monitor was handed.
	heldPorts []*os.File

	// destroyErr is set when libcontainer could not destroy the container.
	destroyErr error
	// sigsReady, when set (run), is closed once signal.Notify has
	// registered run's channel; start waits for it before the init runs.
	sigsReady <-chan struct{}
	// noSigProxy: run --sig-proxy=false (sigproxy.go).
	noSigProxy bool
	// handoff: the started process is handed to another process that
	// waits for it (StartDetached, handoff.go): a pty master is received,
	// not relayed.
	handoff bool
	// handoffAfter and handoffFn: a foreground run hands its wait on once
	// the container has run that long (HandOffAfter, handoff.go).
	handoffAfter time.Duration
	handoffFn    func(*Handoff) error
}

// Compiled on first use: package-level work runs in every hako process,
// each container's init included.
var nameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// ValidName reports whether name is a valid container name (Docker's rule).
func ValidName(name string) bool { return nameRe().MatchString(name) }

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
	t := time.Now()
	// Before anything is written: an unknown profile fails the run here.
	profile, aaDebug, err := chooseAppArmor(cfg)
	if err != nil {
		return nil, err
	}
	cfg.Options.AppArmorProfile = profile
	c := &Container{
		Record: Record{ID: id, Name: cfg.Name, Image: cfg.Image, ImageID: cfg.ImageID, Created: time.Now().UTC(), Remove: cfg.Remove,
			AppArmorProfile: profile, LayerDirs: cfg.LayerDirs, StopSignal: cfg.ImageConfig.StopSignal, Log: cfg.Log, Labels: cfg.Labels, Restart: cfg.Restart, OpenStdin: cfg.OpenStdin,
			StorageDriver: recordedDriver(cfg.StorageDriver)},
		dir:     filepath.Join(containersDir(cfg.Root), id),
		runRoot: cfg.RunRoot,
		cg:      cfg.Cgroups,
		remove:  cfg.Remove,
		stdio:   cfg.Stdio,
		debugf:  cfg.Debugf,
	}
	c.debug("apparmor: %s (%s)", aaDebug, since(t))
	t = time.Now()
	if err := c.reserve(cfg.Root); err != nil {
		return nil, err
	}
	c.debug("container %s: record in %s (%s)", id, c.dir, since(t))
	defer func() {
		if err != nil {
			removeDir(c.dir)
			c.release()
		}
	}()
	merged := filepath.Join(c.dir, mergedDir)
	if c.VFS() {
		if err := c.copyRootfs(cfg.LayerDirs); err != nil {
			return nil, err
		}
	} else if err := c.mountOverlay(cfg.LayerDirs, c.remove && !cfg.Park); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			unmountMerged(merged)
		}
	}()

	o := cfg.Options
	o.ID, o.RootfsPath = id, merged
	if o.CgroupsPath == "" {
		o.CgroupsPath = cfg.Cgroups.CgroupsPath(id)
	}
	if err := c.setupNetwork(cfg.Bridge, cfg.ImageConfig, &o); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.closeNetwork()
		}
	}()
	t = time.Now()
	if j := cfg.JoinNetwork; j != nil {
		c.Network = &NetworkRecord{Mode: ContainerNetworkPrefix + j.ID}
		o.NetNSPath, o.HostNetwork = j.NetNS, false
		if o.Hostname == "" {
			o.Hostname = j.Hostname
		}
		err = c.copyJoinedFiles(cfg.Root, j.ID, &o)
	} else {
		err = c.writeNetworkFiles(&o)
	}
	if err != nil {
		return nil, err
	}
	c.debug("network files: hostname, hosts, resolv.conf (%s)", since(t))
	undoMounts, err := prepareMounts(cfg.Root, merged, cfg.Mounts, &o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			undoMounts()
		}
	}()
	t = time.Now()
	spec, err := BuildSpec(cfg.ImageConfig, o)
	if err != nil {
		return nil, err
	}
	c.debug("spec built (%s)", since(t))
	c.debugSpec(spec, o) // narrate.go
	// Docker creates a missing working directory, owned by root.
	if err := EnsureWorkdir(merged, spec.Process.Cwd, 0, 0); err != nil {
		return nil, err
	}
	c.Spec = spec
	t = time.Now()
	if err := c.saveRecord(); err != nil {
		return nil, err
	}
	c.debug("record with spec written (%s)", since(t))
	return c, nil
}

// debug prints one --debug line when Config.Debugf is set.
func (c *Container) debug(format string, args ...any) {
	if c.debugf != nil {
		c.debugf(format, args...)
	}
}

// since is the time since t, rounded for --debug lines.
func since(t time.Time) time.Duration { return time.Since(t).Round(time.Microsecond) }

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
	names, err := containerNames(dir)
	if err != nil {
		return err
	}
	if c.Name != "" {
		if owner := names[c.Name]; owner != "" {
			return fmt.Errorf("the container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name", c.Name, owner)
		}
	}
	if c.Name == "" {
		name, err := generateName(names)
		if err != nil {
			return err
		}
		c.Name = name
	}
	if err := os.Mkdir(c.dir, 0o700); err != nil {
		return fmt.Errorf("creating container directory: %w", err)
	}
	if err := c.lockContainer(); err != nil {
		os.RemoveAll(c.dir)
		return err
	}
	if err := c.writeRecord(filepath.Join(c.dir, recordFile), c.Record); err != nil {
		os.RemoveAll(c.dir)
		c.release()
		return err
	}
	return nil
}

// containerNames maps the names of the containers in dir (Root/containers)
// to their IDs.
func containerNames(dir string) (map[string]string, error) {
	names := map[string]string{}
	err := scanRecords(dir, skipBadRecords, func(id string, r *struct {
		Name string `json:"name"`
	}) {
		if r.Name != "" {
			names[r.Name] = id
		}
	})
	return names, err
}

// writeJSON writes v to path atomically: temp file, fsync, rename.
func writeJSON(path string, v any) error { return writeJSONFile(path, v, true, true) }

// writeJSONUnsynced writes v to path by write and rename, without fsync:
// for files that are worthless after a power cut anyway.
func writeJSONUnsynced(path string, v any) error { return writeJSONFile(path, v, false, true) }

// writeRecord writes v to path, a file of the container's record. A --rm
// container's files are deleted when it exits, so they are not fsynced (each
// fsync costs milliseconds on a busy disk, on the start path); the rename
// still keeps readers from seeing a partial file. The record is not
// indented: it holds the container's OCI spec (~21 KB indented, 14 KB not),
// and indenting it took a second buffer growing to its size, ~25 fresh
// pages of the heap on every run's start path.
func (c *Container) writeRecord(path string, v any) error {
	return writeJSONFile(path, v, !c.remove, false)
}

// writeJSONFile writes v to path through a temporary file and a rename,
// fsynced when sync is set (atomicfile.Write), with a newline at the end;
// indented with tabs when indent is set (json.MarshalIndent's bytes). The
// encoder's buffer goes to the file as is: no copy of it is made.
func writeJSONFile(path string, v any, sync, indent bool) error {
	if sync {
		var b bytes.Buffer
		if err := encodeJSONFile(&b, v, indent); err != nil {
			return fmt.Errorf("encoding %s: %w", path, err)
		}
		return atomicfile.Write(path, b.Bytes(), 0o600)
	}
	tmp := atomicfile.TmpName(filepath.Dir(path), filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := encodeJSONFile(f, v, indent); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	err = f.Close()
	if err == nil {
		err = replaceUnsynced(tmp, path) // replace.go
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// encodeJSONFile writes v and a newline to w in one write, indented with
// tabs when indent is set.
func encodeJSONFile(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "\t")
	}
	return enc.Encode(v)
}

// lockExclusive takes an exclusive flock on path, creating it.
func lockExclusive(path string) (func(), error) { return atomicfile.Lock(path, true) }
