package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// WriteBundle writes the created, not yet run container as a
// self-contained OCI bundle in dir (hako bundle): config.json, its spec
// with root.path "rootfs", and a copy of its mounted rootfs in rootfs/.
// What the spec mounts from hako's own state (the generated hosts,
// hostname and resolv.conf, volumes) is copied into the bundle too, so the
// bundle outlives the container; binds of the user's host paths stay as
// they are. Any OCI runtime (runc, crun) runs it unchanged. dir must be
// missing or empty (it is made 0700); the container must have no network namespace of
// hako's (bridge) to join.
func (c *Container) WriteBundle(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty: give hako bundle a new or empty directory", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	spec, err := cloneSpec(c.Spec)
	if err != nil {
		return err
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" {
			return fmt.Errorf("the container joins the %s namespace at %s, which a bundle cannot carry: use --network none or host", ns.Type, ns.Path)
		}
	}
	// The bundle dir 0700, as runc advises: its rootfs may hold the image's
	// device nodes and setuid files, which no other host user may reach
	// (the rootfs itself keeps the image's / mode, for its non-root users).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(c.dir, mergedDir), filepath.Join(dir, "rootfs")); err != nil {
		return fmt.Errorf("copying the rootfs: %w", err)
	}
	spec.Root.Path = "rootfs"
	spec.Version = bundleOCIVersion(spec)
	state := filepath.Dir(filepath.Dir(c.dir)) // ROOT: ROOT/containers/<id>
	for i, m := range spec.Mounts {
		if m.Type != "bind" || !strings.HasPrefix(m.Source, state+string(filepath.Separator)) {
			continue
		}
		dst := filepath.Join(dir, "mounts", fmt.Sprintf("%d-%s", i, filepath.Base(m.Source)))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyPath(m.Source, dst); err != nil {
			return fmt.Errorf("copying the source of %s: %w", m.Destination, err)
		}
		spec.Mounts[i].Source = dst
	}
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), append(b, '\n'), 0o644)
}

// bundleOCIVersion is the ociVersion the bundle states: the oldest release
// of the runtime spec whose fields cover what the spec uses. hako's own
// specs need v1.1.0 (seccomp's errnoRet and defaultErrnoRet: clone3 must
// fail with ENOSYS, not EPERM); they use nothing added since. Stating
// v1.1.0 rather than the Go module's newer version changes no setting and
// lets runtimes that check the version run the bundle: crun before 1.14.3
// refuses any ociVersion without "1.0" in it ("unknown version specified"),
// which "1.1.0" has and "1.3.0" has not. A spec that does use a later field
// keeps the module's version.
func bundleOCIVersion(s *specs.Spec) string {
	const v110 = "1.1.0"
	if s.Process != nil && s.Process.ExecCPUAffinity != nil {
		return specs.Version // v1.2.1
	}
	l := s.Linux
	if l == nil {
		return v110
	}
	if len(l.NetDevices) > 0 || l.MemoryPolicy != nil {
		return specs.Version // v1.3.0
	}
	if l.IntelRdt != nil && (len(l.IntelRdt.Schemata) > 0 || l.IntelRdt.EnableMonitoring) {
		return specs.Version // v1.3.0
	}
	if r := l.Resources; r != nil && r.Pids != nil && r.Pids.Limit == nil {
		return specs.Version // v1.3.0: pids.limit optional
	}
	return v110
}

func cloneSpec(s *specs.Spec) (*specs.Spec, error) {
	if s == nil || s.Linux == nil || s.Root == nil {
		return nil, errors.New("the container has no spec yet")
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var out specs.Spec
	return &out, json.Unmarshal(b, &out)
}

// copyTree copies the directory src's content into the existing dst, with
// owners, modes, times, xattrs, hard links and device nodes (seed.go's
// copier); no symlink is followed.
func copyTree(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	return copier{links: map[[2]uint64]string{}}.copyDir(src, dst, &st)
}

// copyPath copies a file or a directory tree src to the new path dst.
func copyPath(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		return copyTree(src, dst)
	}
	c := copier{links: map[[2]uint64]string{}}
	done, err := c.copyEntry(src, dst, &st)
	if err == nil && !done {
		err = copyMetadata(src, dst, &st)
	}
	return err
}
