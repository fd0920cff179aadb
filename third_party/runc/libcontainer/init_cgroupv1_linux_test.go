package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 9).

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/opencontainers/runc/libcontainer/configs"
)

// inPrivateMountNS runs f on a thread of its own in a new mount namespace
// where nothing propagates back to the host; the thread ends with f.
func inPrivateMountNS(t *testing.T, f func() error) {
	t.Helper()
	if unix.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace")
	}
	done := make(chan error, 1)
	goLockedThread(func() {
		if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
			done <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			done <- err
			return
		}
		done <- f()
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// mountOptions returns the per-mount options, the optional fields and the
// root of the mount at path, from this thread's mountinfo.
func mountOptions(path string) (string, error) {
	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	found := ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 6 && fields[4] == path {
			// The root, the mount options, then the optional fields,
			// "-", the fs type, the source and the super options.
			found = strings.Join(append([]string{fields[3], fields[5]}, fields[6:]...), " ")
		}
	}
	if found == "" {
		return "", fmt.Errorf("no mount at %s", path)
	}
	return found, s.Err()
}

// setupCgroupTmpfs makes root/sys/fs/cgroup with an empty tmpfs on it, as
// mountCgroupV1 does before the binds, and returns root opened O_PATH.
func setupCgroupTmpfs(root string) (*os.File, error) {
	dir := filepath.Join(root, "sys/fs/cgroup")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", defaultMountFlags, "mode=755"); err != nil {
		return nil, err
	}
	return os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// TestCgroupV1BindsAsUpstream binds the same sources, with the cgroup
// mount's flags, upstream's way (mountToRootfs) into one root and the
// mount API's way into another, and compares what mountinfo says of each.
func TestCgroupV1BindsAsUpstream(t *testing.T) {
	tmp := t.TempDir()
	inPrivateMountNS(t, func() error {
		// Sources: two directories on a tmpfs mounted nosuid (which the
		// binds ask for too) and nosymfollow (which upstream's remount
		// clears).
		src := filepath.Join(tmp, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		if err := unix.Mount("tmpfs", src, "tmpfs", unix.MS_NOSUID|unix.MS_NOSYMFOLLOW, ""); err != nil {
			return err
		}
		for _, d := range []string{"cpu,cpuacct/hako/c1", "pids/hako/c1"} {
			if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
				return err
			}
		}
		cgroupMount := &configs.Mount{
			Source: "cgroup", Device: "cgroup", Destination: "/sys/fs/cgroup",
			Flags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		}
		binds := func() []*configs.Mount {
			var bs []*configs.Mount
			for _, ss := range []string{"cpu,cpuacct", "pids"} {
				bs = append(bs, &configs.Mount{
					Device:      "bind",
					Source:      filepath.Join(src, ss, "hako/c1"),
					Destination: filepath.Join("/sys/fs/cgroup", ss),
					Flags:       unix.MS_BIND | unix.MS_REC | cgroupMount.Flags,
				})
			}
			return bs
		}

		var results [2][]string
		for i, way := range []string{"upstream", "mount API"} {
			root := filepath.Join(tmp, strings.ReplaceAll(way, " ", ""))
			rootFd, err := setupCgroupTmpfs(root)
			if err != nil {
				return err
			}
			defer rootFd.Close()
			c := &mountConfig{root: rootFd}
			if way == "upstream" {
				for _, b := range binds() {
					if err := mountToRootfs(c, mountEntry{Mount: b}); err != nil {
						return fmt.Errorf("upstream: %w", err)
					}
				}
			} else if err := mountCgroupV1Binds(cgroupMount, c, binds()); err != nil {
				return fmt.Errorf("mount API: %w", err)
			}
			for _, ss := range []string{"cpu,cpuacct", "pids"} {
				opts, err := mountOptions(filepath.Join(root, "sys/fs/cgroup", ss))
				if err != nil {
					return fmt.Errorf("%s: %w", way, err)
				}
				results[i] = append(results[i], opts)
				st, err := os.Stat(filepath.Join(root, "sys/fs/cgroup", ss, "."))
				if err != nil {
					return err
				}
				results[i] = append(results[i], st.Mode().String())
			}
			// Read-only: nothing can be made in a bind.
			if err := os.Mkdir(filepath.Join(root, "sys/fs/cgroup/pids/x"), 0o755); !errors.Is(err, unix.EROFS) {
				return fmt.Errorf("%s: mkdir in a bind: %v, want EROFS", way, err)
			}
		}
		for j := range results[0] {
			if results[0][j] != results[1][j] {
				return fmt.Errorf("upstream: %q, mount API: %q", results[0][j], results[1][j])
			}
		}
		if !strings.Contains(results[1][0], "ro,nosuid,nodev,noexec") {
			return fmt.Errorf("bind options %q, want ro,nosuid,nodev,noexec", results[1][0])
		}
		return nil
	})
}

// TestCgroupV1BindsFallBack: where the fast way does not apply, it mounts
// nothing and says so.
func TestCgroupV1BindsFallBack(t *testing.T) {
	tmp := t.TempDir()
	inPrivateMountNS(t, func() error {
		src := filepath.Join(tmp, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		base := configs.Mount{Destination: "/sys/fs/cgroup", Flags: unix.MS_RDONLY | unix.MS_NOSUID}
		bind := []*configs.Mount{{Device: "bind", Source: src, Destination: "/sys/fs/cgroup/pids"}}
		for _, tc := range []struct {
			name  string
			mount func(m *configs.Mount)
			conf  func(c *mountConfig)
			root  func(root string) error
		}{
			{name: "cgroup namespace", conf: func(c *mountConfig) { c.cgroupns = true }},
			{name: "rootless cgroups", conf: func(c *mountConfig) { c.rootlessCgroups = true }},
			{name: "mount label", conf: func(c *mountConfig) { c.label = "system_u:object_r:container_file_t:s0" }},
			{name: "propagation", mount: func(m *configs.Mount) { m.PropagationFlags = []int{unix.MS_SLAVE} }},
			{name: "atime flag", mount: func(m *configs.Mount) { m.Flags |= unix.MS_NOATIME }},
			{name: "cleared flag", mount: func(m *configs.Mount) { m.ClearedFlags = unix.MS_NOSUID }},
			{name: "not a fresh tmpfs", root: func(root string) error {
				return os.Mkdir(filepath.Join(root, "sys/fs/cgroup/old"), 0o755)
			}},
		} {
			root := filepath.Join(tmp, strings.ReplaceAll(tc.name, " ", "-"))
			rootFd, err := setupCgroupTmpfs(root)
			if err != nil {
				return err
			}
			defer rootFd.Close()
			if tc.root != nil {
				if err := tc.root(root); err != nil {
					return err
				}
			}
			m := base
			if tc.mount != nil {
				tc.mount(&m)
			}
			c := &mountConfig{root: rootFd}
			if tc.conf != nil {
				tc.conf(c)
			}
			if err := mountCgroupV1Binds(&m, c, bind); !errors.Is(err, errCgroupV1Upstream) {
				return fmt.Errorf("%s: got %v, want errCgroupV1Upstream", tc.name, err)
			}
			if _, err := mountOptions(filepath.Join(root, "sys/fs/cgroup/pids")); err == nil {
				return fmt.Errorf("%s: a bind was made", tc.name)
			}
		}
		return nil
	})
}
