package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

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
func ValidVolumeName(name string) bool { return nameRe().MatchString(name) }

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
	used := map[string][]string{}
	err := scanRecords(containersDir(vs.Root), skipBadRecords, func(id string, r *struct {
		Spec struct {
			Mounts []specs.Mount `json:"mounts"`
		} `json:"spec"`
	}) {
		for _, m := range r.Spec.Mounts {
			if m.Type == "bind" {
				used[m.Source] = append(used[m.Source], id)
			}
		}
	})
	return used, err
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
