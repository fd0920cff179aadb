package runtime

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/docker/go-units"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/internal/atomicfile"
)

// Names in ROOT/volumes/<name>/, as Docker's local driver lays them out.
const (
	volumeDataDir  = "_data"
	volumeMetaFile = "volume.json"
	// AnonymousLabel marks a volume created for a container's `-v /path`;
	// Docker removes such volumes with the container (--rm) and prunes
	// only them unless asked for all.
	AnonymousLabel = "com.docker.volume.anonymous"
)

// Mount types of a MountRequest.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Errors callers may test for with errors.Is.
var (
	ErrNoSuchVolume = errors.New("no such volume")
	ErrVolumeInUse  = errors.New("volume is in use")
)

// Volume is a named volume: ROOT/volumes/<name>/_data with its metadata in
// ROOT/volumes/<name>/volume.json.
type Volume struct {
	Name       string            `json:"name"`
	CreatedAt  time.Time         `json:"created_at"`
	Labels     map[string]string `json:"labels"`  // nil shows as null, as Docker's
	Options    map[string]string `json:"options"` // always empty: the local driver takes none yet
	Mountpoint string            `json:"-"`       // the _data directory
}

// Anonymous reports whether v was created for one container's `-v /path`.
func (v *Volume) Anonymous() bool {
	_, ok := v.Labels[AnonymousLabel]
	return ok
}

// VolumeInspect is `docker volume inspect`'s JSON object, fields in its order.
type VolumeInspect struct {
	CreatedAt  string
	Driver     string
	Labels     map[string]string
	Mountpoint string
	Name       string
	Options    map[string]string
	Scope      string
}

// Inspect returns v as Docker's local driver shows it.
func (v *Volume) Inspect() VolumeInspect {
	return VolumeInspect{
		CreatedAt:  v.CreatedAt.Local().Format(time.RFC3339),
		Driver:     "local",
		Labels:     v.Labels,
		Mountpoint: v.Mountpoint,
		Name:       v.Name,
		Options:    v.Options,
		Scope:      "local",
	}
}

// Volumes manages the named volumes of one hako root.
type Volumes struct {
	Root string // hako's --root; volumes live in Root/volumes
}

func (vs Volumes) dir() string                { return filepath.Join(vs.Root, "volumes") }
func (vs Volumes) path(name string) string    { return filepath.Join(vs.dir(), name) }
func (vs Volumes) mountpoint(n string) string { return filepath.Join(vs.path(n), volumeDataDir) }

// lock takes the exclusive lock every change to Root/volumes holds. When
// both are needed, the containers lock is taken first.
func (vs Volumes) lock() (func(), error) {
	if err := os.MkdirAll(vs.dir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", vs.dir(), err)
	}
	return atomicfile.Lock(filepath.Join(vs.dir(), ".lock"), true)
}

// ValidVolumeName reports whether name is a valid local volume name
// (Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+, so at least two characters).
func ValidVolumeName(name string) bool { return nameRe.MatchString(name) }

func invalidVolumeName(name string) error {
	return fmt.Errorf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name, name)
}

// randomVolumeName is a 64-hex name, as Docker gives anonymous volumes.
func randomVolumeName() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating volume name: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Create makes the volume name (a random 64-hex name when empty) with
// labels. As with Docker, creating a volume that exists returns it as is.
// Driver options are not supported: opts must be empty (nil shows as null
// in inspect, an empty map as {}, as Docker's CLI and implicit creation do).
func (vs Volumes) Create(name string, labels, opts map[string]string) (*Volume, error) {
	if len(opts) > 0 {
		return nil, fmt.Errorf("create %s: driver options are not supported by hako's local driver", name)
	}
	unlock, err := vs.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return vs.create(name, labels, opts)
}

// create is Create with the lock held. The volume is built under a
// temporary name and renamed into place, so it appears whole or not at all.
func (vs Volumes) create(name string, labels, opts map[string]string) (*Volume, error) {
	if name == "" {
		var err error
		if name, err = randomVolumeName(); err != nil {
			return nil, err
		}
	}
	if !ValidVolumeName(name) {
		return nil, invalidVolumeName(name)
	}
	if v, err := vs.Get(name); !errors.Is(err, ErrNoSuchVolume) {
		return v, err
	}
	atomicfile.RemoveAbandoned(vs.dir()) // left by a killed hako
	tmp := atomicfile.TmpName(vs.dir(), name)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("creating volume %s: %w", name, err)
	}
	v := &Volume{Name: name, CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: labels, Options: opts}
	err := os.Mkdir(filepath.Join(tmp, volumeDataDir), 0o755)
	if err == nil {
		err = writeJSON(filepath.Join(tmp, volumeMetaFile), v)
	}
	if err == nil {
		err = os.Rename(tmp, vs.path(name))
	}
	if err == nil {
		err = atomicfile.SyncDir(vs.dir())
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("creating volume %s: %w", name, err)
	}
	v.Mountpoint = vs.mountpoint(name)
	return v, nil
}

// Get returns the volume name, or an error wrapping ErrNoSuchVolume.
func (vs Volumes) Get(name string) (*Volume, error) {
	if !ValidVolumeName(name) {
		return nil, fmt.Errorf("get %s: %w", name, ErrNoSuchVolume)
	}
	b, err := os.ReadFile(filepath.Join(vs.path(name), volumeMetaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get %s: %w", name, ErrNoSuchVolume)
	}
	if err != nil {
		return nil, fmt.Errorf("reading volume %s: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("reading volume %s: %w", name, err)
	}
	v.Name, v.Mountpoint = name, vs.mountpoint(name)
	return &v, nil
}

// List returns all volumes, sorted by name.
func (vs Volumes) List() ([]*Volume, error) {
	entries, err := os.ReadDir(vs.dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing volumes: %w", err)
	}
	var out []*Volume
	for _, e := range entries {
		if !e.IsDir() || !ValidVolumeName(e.Name()) {
			continue // .lock and temporary entries
		}
		v, err := vs.Get(e.Name())
		if errors.Is(err, ErrNoSuchVolume) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the volume name and its data. It refuses a volume that a
// container record (running or exited) mounts, with Docker's message.
func (vs Volumes) Remove(name string) error {
	unlockC, err := lockContainersShared(vs.Root)
	if err != nil {
		return err
	}
	defer unlockC()
	unlock, err := vs.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := vs.Get(name); err != nil {
		return err
	}
	users, err := vs.users()
	if err != nil {
		return err
	}
	if ids := users[vs.mountpoint(name)]; len(ids) > 0 {
		return fmt.Errorf("remove %s: %w - [%s]", name, ErrVolumeInUse, strings.Join(ids, ", "))
	}
	return vs.remove(name)
}

// remove renames the volume away first, so a cut-short removal never
// leaves a half-deleted volume under its name.
func (vs Volumes) remove(name string) error {
	tmp := atomicfile.TmpName(vs.dir(), "rm-"+name)
	if err := os.Rename(vs.path(name), tmp); err != nil {
		return fmt.Errorf("removing volume %s: %w", name, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("removing volume %s: %w", name, err)
	}
	return nil
}

// PruneReport is what Prune deleted.
type PruneReport struct {
	VolumesDeleted []string
	SpaceReclaimed uint64
}

// Prune removes the volumes no container record mounts: only anonymous
// ones unless all is set (Docker 23 and later).
func (vs Volumes) Prune(all bool) (PruneReport, error) {
	var rep PruneReport
	unlockC, err := lockContainersShared(vs.Root)
	if err != nil {
		return rep, err
	}
	defer unlockC()
	unlock, err := vs.lock()
	if err != nil {
		return rep, err
	}
	defer unlock()
	vols, err := vs.List()
	if err != nil {
		return rep, err
	}
	users, err := vs.users()
	if err != nil {
		return rep, err
	}
	for _, v := range vols {
		if len(users[v.Mountpoint]) > 0 || (!all && !v.Anonymous()) {
			continue
		}
		size := dirSize(v.Mountpoint)
		if err := vs.remove(v.Name); err != nil {
			return rep, err
		}
		rep.VolumesDeleted = append(rep.VolumesDeleted, v.Name)
		rep.SpaceReclaimed += size
	}
	return rep, nil
}

// InUse maps the name of each volume a container record mounts to the
// IDs of those containers.
func (vs Volumes) InUse() (map[string][]string, error) {
	unlock, err := lockContainersShared(vs.Root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	users, err := vs.users()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for src, ids := range users {
		if name, ok := vs.volumeOf(src); ok {
			out[name] = ids
		}
	}
	return out, nil
}

// volumeOf returns the name of the volume whose data directory is src.
func (vs Volumes) volumeOf(src string) (string, bool) {
	if filepath.Base(src) != volumeDataDir || filepath.Dir(filepath.Dir(src)) != vs.dir() {
		return "", false
	}
	return filepath.Base(filepath.Dir(src)), true
}

// lockContainersShared takes the lock container creators hold while they
// write records, so the records read under it are complete.
func lockContainersShared(root string) (func(), error) {
	dir := containersDir(root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return atomicfile.Lock(filepath.Join(dir, ".lock"), false)
}

// users maps each bind-mount source of the container records of Root to
// the IDs of the containers that mount it.
func (vs Volumes) users() (map[string][]string, error) {
	dir := containersDir(vs.Root)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	used := map[string][]string{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue // being created or removed
		}
		if err != nil {
			return nil, fmt.Errorf("reading container record: %w", err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil || r.Spec == nil {
			continue
		}
		for _, m := range r.Spec.Mounts {
			if m.Type == "bind" {
				used[m.Source] = append(used[m.Source], r.ID)
			}
		}
	}
	return used, nil
}

// dirSize adds up the sizes of the regular files under dir, each hard
// linked file once, as Docker's prune reports reclaimed space.
func dirSize(dir string) uint64 {
	seen := map[uint64]bool{}
	var total uint64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += uint64(fi.Size())
		return nil
	})
	return total
}

// MountRequest is one -v or --mount flag, parsed but not acted on yet:
// volumes are created and filled when the container's rootfs is mounted.
type MountRequest struct {
	Type   string // MountBind, MountVolume or MountTmpfs
	Source string // bind: absolute host path; volume: name ("" = a new anonymous one)
	Target string // absolute path in the container
	// CreateSource makes a missing bind source directory (-v) instead of
	// failing (--mount).
	CreateSource bool
	ReadOnly     bool
	Propagation  string // bind: rprivate when empty
	NonRecursive bool   // bind: bind-recursive=disabled
	NoCopy       bool   // volume: do not fill a new volume from the image
	Labels       map[string]string
	TmpfsSize    int64       // bytes; 0 = the kernel's default
	TmpfsMode    os.FileMode // 0 = the kernel's default (1777)
}

var propagations = map[string]bool{
	"shared": true, "rshared": true, "slave": true, "rslave": true, "private": true, "rprivate": true,
}

// parseVolumeMode checks a -v mode ("ro", "rw,nocopy", "rslave"...) as
// Docker's ValidMountMode does (known words, at most one of each kind),
// setting the fields of r it names.
func parseVolumeMode(r *MountRequest, mode string) bool {
	if mode == "" {
		return true
	}
	counts := map[string]int{}
	for _, o := range strings.Split(mode, ",") {
		var kind string
		switch {
		case o == "ro" || o == "rw":
			kind, r.ReadOnly = "rw", o == "ro"
		case o == "z" || o == "Z": // SELinux relabel: nothing to do here
			kind = "label"
		case propagations[o]:
			kind, r.Propagation = "propagation", o
		case o == "nocopy":
			kind, r.NoCopy = "copy", true
		case o == "consistent" || o == "cached" || o == "delegated": // macOS only
			kind = "consistency"
		default:
			return false
		}
		if counts[kind]++; counts[kind] > 1 {
			return false
		}
	}
	return true
}

// ParseVolumeFlag parses -v [SOURCE:]TARGET[:MODE] as Docker does. A source
// starting with / or . is a host path (relative ones against cwd; a missing
// directory is created when the container is made); any other source is a
// volume name; no source is a new anonymous volume.
func ParseVolumeFlag(spec, cwd string) (MountRequest, error) {
	var r MountRequest
	invalid := fmt.Errorf("invalid volume specification: '%s'", spec)
	parts := strings.Split(spec, ":")
	if parts[0] == "" {
		return r, invalid
	}
	mode := ""
	switch len(parts) {
	case 1:
		r.Target = parts[0]
	case 2:
		if parseVolumeMode(&MountRequest{}, parts[1]) {
			return r, invalid // a volume can't have a mode without a source
		}
		r.Source, r.Target = parts[0], parts[1]
	case 3:
		r.Source, r.Target, mode = parts[0], parts[1], parts[2]
	default:
		return r, invalid
	}
	if !parseVolumeMode(&r, mode) {
		return r, fmt.Errorf("invalid mode: %s", mode)
	}
	r.Type = MountVolume
	if strings.HasPrefix(r.Source, "/") || strings.HasPrefix(r.Source, ".") {
		r.Type, r.CreateSource = MountBind, true
		if !filepath.IsAbs(r.Source) {
			r.Source = filepath.Join(cwd, r.Source)
		}
	}
	if err := r.validate(); err != nil {
		return r, fmt.Errorf("%w: %w", invalid, err)
	}
	return r, r.validateName()
}

// ParseMountFlag parses --mount with Docker's grammar: comma-separated
// key=value fields (CSV quoting allowed), type defaulting to volume.
func ParseMountFlag(spec string) (MountRequest, error) {
	r := MountRequest{Type: MountVolume}
	value := strings.TrimSpace(spec)
	if value == "" {
		return r, errors.New("value is empty")
	}
	fields, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return r, fmt.Errorf("invalid --mount %q: %w", spec, err)
	}
	var bindOpts, volumeOpts, tmpfsOpts bool
	for _, field := range fields {
		key, val, hasValue := strings.Cut(field, "=")
		if k := strings.TrimSpace(key); k != key {
			return r, fmt.Errorf("invalid option '%s' in '%s': option should not have whitespace", k, field)
		}
		if hasValue {
			if v := strings.TrimSpace(val); v == "" {
				return r, fmt.Errorf("invalid value for '%s': value is empty", key)
			} else if v != val {
				return r, fmt.Errorf("invalid value for '%s' in '%s': value should not have whitespace", key, field)
			}
		}
		key = strings.ToLower(key)
		if !hasValue {
			switch key {
			case "readonly", "ro", "volume-nocopy", "bind-create-src":
			default:
				return r, fmt.Errorf("invalid field '%s' must be a key=value pair", field)
			}
		}
		switch key {
		case "type":
			r.Type = strings.ToLower(val)
		case "source", "src":
			r.Source = val
			if !filepath.IsAbs(val) && strings.HasPrefix(val, ".") {
				if abs, err := filepath.Abs(val); err == nil {
					r.Source = abs
				}
			}
		case "target", "dst", "destination":
			r.Target = val
		case "readonly", "ro":
			r.ReadOnly, err = parseBoolValue(key, val, hasValue)
		case "consistency": // macOS only
		case "bind-propagation":
			bindOpts, r.Propagation = true, strings.ToLower(val)
		case "bind-recursive":
			bindOpts = true
			switch val {
			case "enabled", "writable", "readonly":
			case "disabled":
				r.NonRecursive = true
			default:
				return r, fmt.Errorf(`invalid value for %s: %s (must be "enabled", "disabled", "writable", or "readonly")`, key, val)
			}
		case "bind-nonrecursive":
			return r, errors.New("bind-nonrecursive is deprecated, use bind-recursive=disabled instead")
		case "bind-create-src":
			bindOpts = true
			r.CreateSource, err = parseBoolValue(key, val, hasValue)
		case "volume-nocopy":
			volumeOpts = true
			r.NoCopy, err = parseBoolValue(key, val, hasValue)
		case "volume-label":
			volumeOpts = true
			if k, v, _ := strings.Cut(val, "="); k != "" {
				if r.Labels == nil {
					r.Labels = map[string]string{}
				}
				r.Labels[k] = v
			}
		case "volume-driver":
			volumeOpts = true
			if val != "local" {
				return r, fmt.Errorf("volume driver %q is not supported: hako has only the local driver", val)
			}
		case "volume-opt", "volume-subpath", "image-subpath":
			return r, fmt.Errorf("option '%s' is not supported by hako", key)
		case "tmpfs-size":
			tmpfsOpts = true
			if r.TmpfsSize, err = units.RAMInBytes(val); err != nil {
				return r, fmt.Errorf("invalid value for %s: %s", key, val)
			}
		case "tmpfs-mode":
			tmpfsOpts = true
			m, perr := strconv.ParseUint(val, 8, 32)
			if perr != nil {
				return r, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			r.TmpfsMode = os.FileMode(m)
		default:
			return r, fmt.Errorf("unknown option '%s' in '%s'", key, field)
		}
		if err != nil {
			return r, err
		}
	}
	switch {
	case r.Type == "":
		return r, errors.New("type is required")
	case bindOpts && r.Type != MountBind:
		return r, fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", r.Type)
	case volumeOpts && r.Type != MountVolume:
		return r, fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", r.Type)
	case tmpfsOpts && r.Type != MountTmpfs:
		return r, fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", r.Type)
	}
	if err := r.validate(); err != nil {
		return r, err
	}
	return r, r.validateName()
}

// parseBoolValue is the Docker CLI's: no value is true; else 1, true, 0, false.
func parseBoolValue(key, val string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	switch val {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, fmt.Errorf(`invalid value for '%s': invalid boolean value (%q): must be one of "true", "1", "false", or "0" (default "true")`, key, val)
}

// validate is the daemon's check of a mount, with its messages. A bind
// source's existence is checked when the container is made.
func (r *MountRequest) validate() error {
	cfgErr := func(format string, a ...any) error {
		return fmt.Errorf("invalid mount config for type %q: %s", r.Type, fmt.Sprintf(format, a...))
	}
	switch {
	case r.Target == "":
		return cfgErr("field Target must not be empty")
	case r.Target == "/":
		return cfgErr("invalid specification: destination can't be '/'")
	case !path.IsAbs(r.Target):
		return cfgErr("invalid mount path: '%s' mount path must be absolute", r.Target)
	}
	r.Target = path.Clean(r.Target)
	switch r.Type {
	case MountBind:
		switch {
		case r.Source == "":
			return cfgErr("field Source must not be empty")
		case r.Propagation != "" && !propagations[r.Propagation]:
			return cfgErr("invalid propagation mode: %s", r.Propagation)
		case r.NoCopy:
			return cfgErr("field VolumeOptions must not be specified")
		case !filepath.IsAbs(r.Source):
			return cfgErr("invalid mount path: '%s' mount path must be absolute", r.Source)
		}
		r.Source = filepath.Clean(r.Source)
	case MountVolume:
		switch {
		case r.Propagation != "":
			return cfgErr("field BindOptions must not be specified")
		case r.ReadOnly && r.Source == "":
			return cfgErr("must not set ReadOnly mode when using anonymous volumes")
		}
	case MountTmpfs:
		if r.Source != "" {
			return cfgErr("field Source must not be specified")
		}
	default:
		return cfgErr("mount type unknown")
	}
	return nil
}

// validateName checks a volume's name, which the daemon does when it
// creates the volume, so its message is not about the flag.
func (r *MountRequest) validateName() error {
	if r.Type == MountVolume && r.Source != "" && !ValidVolumeName(r.Source) {
		return invalidVolumeName(r.Source)
	}
	return nil
}

// tmpfsOptions is the daemon's ConvertTmpfsOptions: ro, mode in octal and
// the size with the largest unit that divides it.
func (r *MountRequest) tmpfsOptions() string {
	var opts []string
	if r.ReadOnly {
		opts = append(opts, "ro")
	}
	if r.TmpfsMode != 0 {
		opts = append(opts, fmt.Sprintf("mode=%o", uint32(r.TmpfsMode)))
	}
	if size := r.TmpfsSize; size != 0 {
		suffix := ""
		for _, u := range []struct {
			suffix string
			div    int64
		}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
			if size%u.div == 0 {
				size, suffix = size/u.div, u.suffix
				break
			}
		}
		opts = append(opts, fmt.Sprintf("size=%d%s", size, suffix))
	}
	return strings.Join(opts, ",")
}

// PrepareMounts turns requests into the OCI mounts of a container whose
// rootfs is mounted at rootfs: it creates missing -v host directories and
// volumes, and fills each empty volume from the image's content at its
// target (unless NoCopy), as Docker does before the container starts. The
// names of the anonymous volumes it made come back so a failed create can
// remove them. Targets must not repeat each other or a --tmpfs (tmpfs).
func (vs Volumes) PrepareMounts(rootfs string, reqs []MountRequest, tmpfs map[string]string) (mounts []specs.Mount, anonymous []string, err error) {
	seen := map[string]bool{}
	for p := range tmpfs {
		seen[path.Clean(p)] = true
	}
	for _, r := range reqs {
		if seen[r.Target] {
			return nil, nil, fmt.Errorf("Duplicate mount point: %s", r.Target)
		}
		seen[r.Target] = true
	}
	if len(reqs) == 0 {
		return nil, nil, nil
	}
	defer func() {
		if err != nil {
			vs.discard(anonymous)
			anonymous = nil
		}
	}()
	for _, r := range reqs {
		var m specs.Mount
		switch r.Type {
		case MountTmpfs:
			m = tmpfsMounts(map[string]string{r.Target: r.tmpfsOptions()})[0]
		case MountBind:
			m, err = bindMount(r)
		case MountVolume:
			var v *Volume
			v, err = vs.prepareVolume(rootfs, r)
			if err == nil && r.Source == "" {
				anonymous = append(anonymous, v.Name)
			}
			if err == nil {
				m = mountOf(v.Mountpoint, r)
			}
		default:
			err = fmt.Errorf("invalid mount config for type %q: mount type unknown", r.Type)
		}
		if err != nil {
			return nil, anonymous, err
		}
		mounts = append(mounts, m)
	}
	return mounts, anonymous, nil
}

// mountOf is the OCI bind mount of source at r.Target.
func mountOf(source string, r MountRequest) specs.Mount {
	bind, prop := "rbind", "rprivate"
	if r.NonRecursive {
		bind = "bind"
	}
	if r.Propagation != "" {
		prop = r.Propagation
	}
	opts := []string{bind, prop}
	if r.ReadOnly {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: r.Target, Type: "bind", Source: source, Options: opts}
}

// bindMount checks (or, for -v, creates) the host source of a bind.
func bindMount(r MountRequest) (specs.Mount, error) {
	_, err := os.Stat(r.Source)
	switch {
	case errors.Is(err, fs.ErrNotExist) && r.CreateSource:
		if err := os.MkdirAll(r.Source, 0o755); err != nil {
			return specs.Mount{}, fmt.Errorf("creating bind source %s: %w", r.Source, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		return specs.Mount{}, fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", r.Source)
	case err != nil:
		return specs.Mount{}, fmt.Errorf("checking bind source: %w", err)
	}
	return mountOf(r.Source, r), nil
}

// prepareVolume gets or creates the volume of r and, when it is empty,
// copies the image's directory at r.Target into it.
func (vs Volumes) prepareVolume(rootfs string, r MountRequest) (*Volume, error) {
	unlock, err := vs.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	labels := r.Labels
	if r.Source == "" {
		labels = map[string]string{AnonymousLabel: ""}
	}
	v, err := vs.create(r.Source, labels, nil)
	if err != nil {
		return nil, err
	}
	if r.NoCopy {
		return v, nil
	}
	if err := seedVolume(rootfs, r.Target, v.Mountpoint); err != nil {
		return nil, fmt.Errorf("copying image data to volume %s: %w", v.Name, err)
	}
	return v, nil
}

// seedVolume copies the directory target of the container's rootfs (with
// owners, modes, times, xattrs, symlinks, hard links and device nodes) into
// the volume's empty data directory, as Docker's copy-up does. A missing
// or non-directory target, or a non-empty volume, is left alone.
//
// The copy is made in a directory next to _data that no container sees,
// then moved in: a running container that shares the volume can't swap
// a directory being filled for a symlink to the host, and a copy cut short
// leaves the volume empty, to be filled next time.
func seedVolume(rootfs, target, data string) error {
	src, err := securejoin.SecureJoin(rootfs, target)
	if err != nil {
		return fmt.Errorf("resolving %s in the rootfs: %w", target, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	if empty, err := isEmptyDir(data); err != nil || !empty {
		return err
	}
	tmp := filepath.Join(filepath.Dir(data), ".seed")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	c := copier{links: map[[2]uint64]string{}}
	if err := c.copyDir(src, tmp, &st); err != nil {
		return err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(data, e.Name())); err != nil {
			return err
		}
	}
	return copyMetadata(src, data, &st)
}

// isEmptyDir reports whether dir has no entries.
func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// copier copies a tree, keeping hard links between the files it copies.
type copier struct {
	links map[[2]uint64]string // source dev+inode -> the first copy
}

func (c copier) copyDir(src, dst string, st *unix.Stat_t) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		var est unix.Stat_t
		if err := unix.Lstat(s, &est); err != nil {
			return err
		}
		done, err := c.copyEntry(s, d, &est)
		if err != nil {
			return err
		}
		if !done {
			if err := copyMetadata(s, d, &est); err != nil {
				return err
			}
		}
	}
	// Last, so that copying the entries does not change the times.
	return copyMetadata(src, dst, st)
}

// copyEntry creates dst as a copy of src. done means dst is a hard link
// or skipped, and takes no metadata of its own.
func (c copier) copyEntry(src, dst string, st *unix.Stat_t) (done bool, err error) {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return false, err
		}
		return true, c.copyDir(src, dst, st)
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := c.links[key]; ok {
			return true, os.Link(first, dst)
		}
		if st.Nlink > 1 {
			c.links[key] = dst
		}
		return false, copyFile(src, dst)
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return false, err
		}
		return false, os.Symlink(target, dst)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		return false, unix.Mknod(dst, st.Mode, int(st.Rdev))
	}
	return true, nil // sockets are not copied, as with Docker
}

func copyFile(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyMetadata gives dst the owner, mode, xattrs and times of src, in an
// order where each step keeps the earlier ones: chown clears set-id bits
// and file capabilities.
func copyMetadata(src, dst string, st *unix.Stat_t) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Chmod(dst, st.Mode&07777); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times of %s: %w", dst, err)
	}
	return nil
}

// copyXattrs copies the extended attributes the destination file system
// accepts; one it does not support is skipped.
func copyXattrs(src, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		val, err := getXattr(src, name)
		if err != nil {
			return err
		}
		err = unix.Lsetxattr(dst, name, val, 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("setting xattr %s on %s: %w", name, dst, err)
		}
	}
	return nil
}

func listXattrs(p string) ([]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing xattrs of %s: %w", p, err)
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(p, buf); err != nil {
		return nil, fmt.Errorf("listing xattrs of %s: %w", p, err)
	}
	var names []string
	for _, n := range strings.Split(string(buf[:size]), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func getXattr(p, name string) ([]byte, error) {
	size, err := unix.Lgetxattr(p, name, nil)
	if err != nil {
		return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
	}
	buf := make([]byte, size)
	if size, err = unix.Lgetxattr(p, name, buf); err != nil {
		return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
	}
	return buf[:size], nil
}

// discard removes volumes this process just made for a container that
// failed to be created: no record names them, so no user check is needed
// (nor the containers lock, which the creator may hold).
func (vs Volumes) discard(names []string) {
	if len(names) == 0 {
		return
	}
	unlock, err := vs.lock()
	if err != nil {
		return
	}
	defer unlock()
	for _, n := range names {
		vs.remove(n)
	}
}

// prepareMounts is Create's step for -v and --mount: it adds their OCI
// mounts to o once the rootfs is mounted; undo removes the anonymous
// volumes made, for a create that fails later.
func prepareMounts(root, rootfs string, reqs []MountRequest, o *SpecOptions) (undo func(), err error) {
	vs := Volumes{Root: root}
	mounts, anonymous, err := vs.PrepareMounts(rootfs, reqs, o.Tmpfs)
	if err != nil {
		return nil, err
	}
	o.Mounts = append(o.Mounts, mounts...)
	return func() { vs.discard(anonymous) }, nil
}

// removeAnonymous removes the named anonymous volumes that no container
// record mounts any more (best effort: what is still used stays).
func (vs Volumes) removeAnonymous(names []string) error {
	var errs []error
	for _, n := range names {
		if err := vs.Remove(n); err != nil && !errors.Is(err, ErrVolumeInUse) && !errors.Is(err, ErrNoSuchVolume) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeAnonymousVolumes removes the anonymous volumes a removed
// container mounted (Docker's --rm), unless another container uses them.
func (c *Container) removeAnonymousVolumes() error {
	return removeAnonymousVolumes(filepath.Dir(filepath.Dir(c.dir)), c.Spec)
}

// removeAnonymousVolumes removes the anonymous volumes a container's spec
// mounts, as --rm does (root is hako's state root).
func removeAnonymousVolumes(root string, spec *specs.Spec) error {
	if spec == nil {
		return nil
	}
	vs := Volumes{Root: root}
	var names []string
	for _, m := range spec.Mounts {
		name, ok := vs.volumeOf(m.Source)
		if !ok || m.Type != "bind" {
			continue
		}
		if v, err := vs.Get(name); err == nil && v.Anonymous() {
			names = append(names, name)
		}
	}
	return vs.removeAnonymous(names)
}

// WithImageVolumes adds an anonymous volume for each VOLUME the image
// declares (its config's Volumes) that no mount or tmpfs of the user's
// already covers, as Docker does; sorted, so parents mount first.
func WithImageVolumes(reqs []MountRequest, imageVolumes map[string]struct{}, tmpfs map[string]string) []MountRequest {
	var paths []string
	for p := range imageVolumes {
		p = path.Clean(p)
		if !path.IsAbs(p) || p == "/" {
			continue // Docker refuses these at build time; skip, don't fail a run
		}
		_, covered := tmpfs[p]
		for _, r := range reqs {
			if path.Clean(r.Target) == p {
				covered = true
			}
		}
		if !covered {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		reqs = append(reqs, MountRequest{Type: MountVolume, Target: p})
	}
	return reqs
}
