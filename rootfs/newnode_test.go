package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestApplyLayerModesAndOwnersWhateverTheUmask checks that a node created
// with its final mode and owner (no chown, no chmod) ends up exactly as one
// that was chowned and chmodded: under umasks that take bits and none, with
// special bits, and in a setgid directory whose group is not the entry's.
func TestApplyLayerModesAndOwnersWhateverTheUmask(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	owned := func(e ent, uid, gid int) ent { e.hdr.Uid, e.hdr.Gid = uid, gid; return e }
	layer := tarOf(t,
		dirE("d/", 0o755),
		fileE("d/f644", "x", 0o644),
		fileE("d/f666", "x", 0o666),
		fileE("d/f777", "x", 0o777),
		fileE("d/f000", "x", 0o000),
		fileE("d/suid", "x", 0o4755),
		owned(fileE("d/user", "x", 0o640), 1000, 1000),
		owned(fileE("d/rootuser", "x", 0o644), 0, 1000),
		dirE("d/sticky/", 0o1777),
		dirE("d/open/", 0o777),
		owned(dirE("sg/", 0o2775), 0, 1234),
		fileE("sg/f", "x", 0o644), // root:root, in a setgid dir of group 1234
		dirE("sg/sub/", 0o755),    // root:root too
		fileE("sg/sub/f", "x", 0o644),
	)
	type want struct {
		mode     uint32
		uid, gid uint32
	}
	wants := map[string]want{
		"d":          {0o755 | unix.S_IFDIR, 0, 0},
		"d/f644":     {0o644 | unix.S_IFREG, 0, 0},
		"d/f666":     {0o666 | unix.S_IFREG, 0, 0},
		"d/f777":     {0o777 | unix.S_IFREG, 0, 0},
		"d/f000":     {0o000 | unix.S_IFREG, 0, 0},
		"d/suid":     {0o4755 | unix.S_IFREG, 0, 0},
		"d/user":     {0o640 | unix.S_IFREG, 1000, 1000},
		"d/rootuser": {0o644 | unix.S_IFREG, 0, 1000},
		"d/sticky":   {0o1777 | unix.S_IFDIR, 0, 0},
		"d/open":     {0o777 | unix.S_IFDIR, 0, 0},
		"sg":         {0o2775 | unix.S_IFDIR, 0, 1234},
		"sg/f":       {0o644 | unix.S_IFREG, 0, 0},
		"sg/sub":     {0o755 | unix.S_IFDIR, 0, 0},
		"sg/sub/f":   {0o644 | unix.S_IFREG, 0, 0},
	}
	for _, mask := range []int{0o022, 0o000, 0o077} {
		old := unix.Umask(mask)
		dir, _ := apply(t, layer)
		unix.Umask(old)
		for name, w := range wants {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(dir, name), &st); err != nil {
				t.Fatalf("umask %#o: %v", mask, err)
			}
			if st.Mode != w.mode || st.Uid != w.uid || st.Gid != w.gid {
				t.Errorf("umask %#o: %s is %#o %d:%d, want %#o %d:%d", mask, name, st.Mode, st.Uid, st.Gid, w.mode, w.uid, w.gid)
			}
		}
	}
}
