package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ProbeOverlay checks that dir can hold overlay upper and work dirs, as a
// container's rootfs needs: it mounts a small overlay with its upper dir in
// a temporary directory under dir, deletes a file of the lower layer through
// it and checks that the upper dir recorded the deletion (a whiteout). It
// fails where the kernel refuses such an upper dir (dir itself on overlayfs,
// a filesystem without the xattrs or d_type overlay needs) and leaves
// nothing behind.
func ProbeOverlay(dir string) error {
	tmp, err := os.MkdirTemp(dir, ".tmp-probe-")
	if err != nil {
		return fmt.Errorf("overlay probe: %w", err)
	}
	defer os.RemoveAll(tmp)
	lower, upper, work, merged := filepath.Join(tmp, "l"), filepath.Join(tmp, "u"), filepath.Join(tmp, "w"), filepath.Join(tmp, "m")
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("overlay probe: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(lower, "f"), nil, 0o600); err != nil {
		return fmt.Errorf("overlay probe: %w", err)
	}
	if err := Mount([]string{lower}, upper, work, merged); err != nil {
		return fmt.Errorf("overlay probe: %w", err)
	}
	rmErr := os.Remove(filepath.Join(merged, "f"))
	if err := Unmount(merged); err != nil {
		return fmt.Errorf("overlay probe: %w", err)
	}
	if rmErr != nil {
		return fmt.Errorf("overlay probe: deleting a lower file: %w", rmErr)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upper, "f"), &st); err != nil {
		return fmt.Errorf("overlay probe: no whiteout in the upper dir: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		if _, err := unix.Lgetxattr(filepath.Join(upper, "f"), "trusted.overlay.whiteout", nil); err != nil {
			return fmt.Errorf("overlay probe: the upper dir's whiteout is neither a 0/0 device nor marked")
		}
	}
	return nil
}
