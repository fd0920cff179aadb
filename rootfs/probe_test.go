package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestProbeOverlay(t *testing.T) {
	dir := t.TempDir()
	if err := ProbeOverlay(dir); err != nil {
		t.Fatalf("ProbeOverlay on a plain directory: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("ProbeOverlay left %d entries behind", len(ents))
	}
}

// An overlay mount cannot be another overlay's upper dir: the probe must say so.
func TestProbeOverlayOnOverlay(t *testing.T) {
	base := t.TempDir()
	lower, upper, work, merged := filepath.Join(base, "l"), filepath.Join(base, "u"), filepath.Join(base, "w"), filepath.Join(base, "m")
	mkdirs(t, lower, upper, work, merged)
	mountForTest(t, []string{lower}, upper, work, merged)
	if err := ProbeOverlay(merged); err == nil {
		t.Fatal("ProbeOverlay on an overlay mount succeeded; the kernel refuses overlay upper dirs there")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(merged, &st); err != nil || st.Type != unix.OVERLAYFS_SUPER_MAGIC {
		t.Fatalf("test setup: %s is not an overlay mount (%v)", merged, err)
	}
}
