package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSpreadTreesSetsTopdir(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	before, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Skipf("no inode flags on this filesystem: %v", err)
	}
	if err := SpreadTrees(dir); err != nil {
		t.Fatal(err)
	}
	after, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatal(err)
	}
	if after&fsTopdirFlag == 0 {
		// Filesystems with flags but without this one (tmpfs) refuse it.
		var st unix.Statfs_t
		if unix.Fstatfs(fd, &st) == nil && st.Type == unix.EXT4_SUPER_MAGIC {
			t.Fatalf("ext4 directory flags %#x after SpreadTrees: no FS_TOPDIR_FL", after)
		}
		t.Skipf("filesystem keeps no FS_TOPDIR_FL (flags %#x)", after)
	}
	if after&^fsTopdirFlag != before&^fsTopdirFlag {
		t.Errorf("flags %#x became %#x: only FS_TOPDIR_FL may change", before, after)
	}
	// Idempotent, and the flag is not inherited by what is made inside.
	if err := SpreadTrees(dir); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkdirat(fd, "layer", 0o755); err != nil {
		t.Fatal(err)
	}
	cfd, err := unix.Openat(fd, "layer", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	child, err := unix.IoctlGetUint32(cfd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatal(err)
	}
	if child&fsTopdirFlag != 0 {
		t.Errorf("a directory made inside inherited FS_TOPDIR_FL (%#x)", child)
	}
}
