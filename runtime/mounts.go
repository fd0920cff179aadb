package runtime

// -v and --mount requests, and turning them into the mounts of a spec.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/opencontainers/runtime-spec/specs-go"
)

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
