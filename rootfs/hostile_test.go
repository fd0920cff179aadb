package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileCase is a layer that tries to reach outside its directory. s is the absolute path of
// a sentinel directory next to the layer directory (holding passwd and etc/shadow).
type hostileCase struct {
	name   string
	layer  func(t testing.TB, s string) []byte
	refuse bool // the layer must be refused; otherwise it may fail or be confined
}

func ents(e ...ent) func(testing.TB, string) []byte {
	return func(t testing.TB, _ string) []byte { return tarOf(t, e...) }
}

func withS(f func(s string) []ent) func(testing.TB, string) []byte {
	return func(t testing.TB, s string) []byte { return tarOf(t, f(s)...) }
}

func chmodded(e ent, mode int64) ent {
	e.hdr.Mode = mode
	return e
}

var hostileCases = []hostileCase{
	{name: "dotdot name", layer: ents(fileE("../sentinel/passwd", "pwned", 0o644)), refuse: true},
	{name: "nested dotdot name", layer: ents(dirE("a/", 0o755), fileE("a/../../sentinel/passwd", "pwned", 0o644)), refuse: true},
	{name: "rooted dotdot name", layer: ents(fileE("/../sentinel/passwd", "pwned", 0o644)), refuse: true},
	{name: "dotdot dir", layer: ents(dirE("../sentinel/new/", 0o755)), refuse: true},
	{name: "dotdot symlink name", layer: ents(symE("../sentinel/passwd", "/x")), refuse: true},
	{name: "dotdot device name", layer: ents(nodE("../sentinel/null", tar.TypeChar, 1, 3, 0o666)), refuse: true},
	{name: "absolute name", layer: withS(func(s string) []ent { return []ent{fileE(s+"/passwd", "pwned", 0o644)} })},
	{name: "absolute symlink then write through", layer: withS(func(s string) []ent {
		return []ent{symE("evil", s), fileE("evil/passwd", "pwned", 0o644)}
	})},
	{name: "symlink to root then write through", layer: withS(func(s string) []ent {
		return []ent{symE("evil", "/"), fileE("evil"+s+"/passwd", "pwned", 0o644), fileE("evil"+s+"/etc/shadow", "pwned", 0o644)}
	})},
	{name: "relative symlink up and out", layer: ents(symE("rel", "../sentinel"), fileE("rel/passwd", "pwned", 0o644))},
	{name: "relative symlink far up", layer: withS(func(s string) []ent {
		return []ent{symE("rel", "../../../../../../.."), fileE("rel"+s+"/passwd", "pwned", 0o644)}
	})},
	{name: "symlink chain", layer: ents(symE("a", "b"), symE("b", "c/.."), dirE("c/", 0o755), symE("c/up", "../.."), fileE("a/c/up/sentinel/passwd", "pwned", 0o644))},
	{name: "symlink loop", layer: ents(symE("a", "b"), symE("b", "a"), fileE("a/x", "x", 0o644))},
	{name: "directory entry through symlink", layer: withS(func(s string) []ent {
		return []ent{symE("evil", s), dirE("evil/etc/", 0o777), dirE("evil/new/", 0o777)}
	})},
	{name: "directory replaces symlink", layer: withS(func(s string) []ent {
		return []ent{symE("evil", s), dirE("evil/", 0o777), fileE("evil/passwd", "x", 0o644)}
	})},
	{name: "file replaces symlink to file", layer: withS(func(s string) []ent {
		return []ent{symE("evil", s+"/passwd"), fileE("evil", "pwned", 0o777)}
	})},
	{name: "xattrs through symlink", layer: withS(func(s string) []ent {
		f := fileE("evil/passwd", "x", 0o644)
		f.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.pwned": "1"}
		return []ent{symE("evil", s), f}
	})},
	{name: "hardlink dotdot", layer: ents(linkE("h", "../sentinel/passwd")), refuse: true},
	{name: "hardlink rooted dotdot", layer: ents(linkE("h", "/../sentinel/passwd")), refuse: true},
	{name: "hardlink absolute", layer: withS(func(s string) []ent { return []ent{linkE("h", s+"/passwd")} })},
	{name: "hardlink through symlink", layer: withS(func(s string) []ent {
		return []ent{symE("evil", s), linkE("h", "evil/passwd")}
	})},
	{name: "hardlink through relative symlink", layer: ents(symE("rel", "../sentinel"), linkE("h", "rel/passwd"))},
	{name: "hardlink to symlink then chmod (CVE-2021-32760)", layer: withS(func(s string) []ent {
		return []ent{symE("s", s+"/passwd"), chmodded(linkE("h", "s"), 0o777), chmodded(fileE("h", "x", 0o777), 0o777)}
	})},
	{name: "hardlink over symlink", layer: withS(func(s string) []ent {
		return []ent{fileE("m", "m", 0o644), symE("evil", s+"/passwd"), linkE("evil", "m")}
	})},
	{name: "whiteout dotdot", layer: ents(fileE("../.wh.sentinel", "", 0o644)), refuse: true},
	{name: "whiteout dotdot inside", layer: ents(fileE("../sentinel/.wh.passwd", "", 0o644)), refuse: true},
	{name: "opaque dotdot", layer: ents(fileE("../sentinel/.wh..wh..opq", "", 0o644)), refuse: true},
	{name: "whiteout through symlinked parent", layer: withS(func(s string) []ent {
		return []ent{symE("wl", s), fileE("wl/.wh.passwd", "", 0o644), fileE("wl/etc/.wh.shadow", "", 0o644)}
	})},
	{name: "whiteout through relative symlinked parent", layer: ents(symE("wl", "../sentinel"), fileE("wl/.wh.passwd", "", 0o644), fileE("wl/.wh.etc", "", 0o644))},
	{name: "opaque through symlinked parent", layer: withS(func(s string) []ent {
		return []ent{symE("wl", s), fileE("wl/.wh..wh..opq", "", 0o644), symE("wr", "../sentinel"), fileE("wr/etc/.wh..wh..opq", "", 0o644)}
	})},
	{name: "whiteout of a symlink", layer: withS(func(s string) []ent {
		return []ent{symE("evil", s+"/passwd"), symE("evd", s), fileE(".wh.evil", "", 0o644), fileE(".wh.evd", "", 0o644)}
	})},
	{name: "root entry as symlink (CVE-2021-29136)", layer: withS(func(s string) []ent {
		return []ent{symE(".", s), fileE("passwd", "pwned", 0o644)}
	}), refuse: true},
	{name: "root entry as symlink, slash", layer: withS(func(s string) []ent { return []ent{symE("/.", s), fileE("x", "", 0o644)} }), refuse: true},
	{name: "root entry as hardlink", layer: ents(fileE("x", "", 0o644), linkE("./", "x")), refuse: true},
	{name: "fifo then file", layer: ents(nodE("p", tar.TypeFifo, 0, 0, 0o644), fileE("p", "x", 0o644))},
	{name: "fifo as parent", layer: ents(nodE("p", tar.TypeFifo, 0, 0, 0o644), fileE("p/x", "x", 0o644))},
	{name: "device as parent", layer: ents(nodE("d", tar.TypeChar, 1, 3, 0o666), fileE("d/x", "x", 0o644))},
	{name: "device over symlink", layer: withS(func(s string) []ent {
		return []ent{symE("evil", s+"/passwd"), nodE("evil", tar.TypeChar, 1, 3, 0o666), symE("evd", s), nodE("evd", tar.TypeFifo, 0, 0, 0o777)}
	})},
	{name: "magic link", layer: ents(symE("m", "/proc/self/cwd"), fileE("m/x", "x", 0o644), symE("r", "/proc/self/root"), fileE("r/tmp/x", "x", 0o644))},
	{name: "proc fd magic link", layer: ents(symE("m", "/proc/self/fd/3"), fileE("m/x", "x", 0o644))},
}

// hostileSetup makes parent/layer and parent/sentinel and returns them.
func hostileSetup(t testing.TB, parent string) (layer, sentinel string) {
	t.Helper()
	layer, sentinel = filepath.Join(parent, "layer"), filepath.Join(parent, "sentinel")
	for _, d := range []string{layer, filepath.Join(sentinel, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sentinel, "passwd"), []byte("root:x:0:0"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sentinel, "etc/shadow"), []byte("root:*"), 0o600); err != nil {
		t.Fatal(err)
	}
	return layer, sentinel
}

// checkOutsideUntouched fails unless parent holds only layer and sentinel, and sentinel is
// as before.
func checkOutsideUntouched(t testing.TB, parent, sentinel, before string) {
	t.Helper()
	if names := readDirNames(t, parent); strings.Join(names, ",") != "layer,sentinel" {
		t.Errorf("parent dir now holds %v", names)
	}
	if after := snapshot(t, sentinel); after != before {
		t.Errorf("sentinel changed:\n%s\nwas\n%s", after, before)
	}
}

func TestApplyLayerHostile(t *testing.T) {
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			layer, sentinel := hostileSetup(t, parent)
			before := snapshot(t, sentinel)
			_, err := ApplyLayer(context.Background(), layer, bytes.NewReader(tc.layer(t, sentinel)), ApplyOptions{})
			t.Logf("result: %v", err)
			if tc.refuse && (err == nil || !strings.Contains(err.Error(), "refusing layer")) {
				t.Errorf("want the layer refused, got %v", err)
			}
			checkOutsideUntouched(t, parent, sentinel, before)
		})
	}
}

// TestApplyLayerConfinesSymlinks checks where writes through planted symlinks land: inside
// the layer, as if the layer were the root (what Docker's chrooted extraction does).
func TestApplyLayerConfinesSymlinks(t *testing.T) {
	parent := t.TempDir()
	layer, sentinel := hostileSetup(t, parent)
	before := snapshot(t, sentinel)
	_, err := ApplyLayer(context.Background(), layer, bytes.NewReader(tarOf(t,
		symE("root", "/"), fileE("root/etc/passwd", "confined", 0o644),
		symE("up", "../../.."), fileE("up/x", "confined", 0o644),
		dirE("usr/lib/", 0o755), symE("lib", "usr/lib"), fileE("lib/libc.so", "so", 0o755),
		symE("abslib", "/usr/lib"), fileE("abslib/libm.so", "so", 0o755),
		linkE("hl", "abslib/libm.so"),
	)), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"etc/passwd": "confined", "x": "confined", "usr/lib/libc.so": "so", "usr/lib/libm.so": "so", "hl": "so"} {
		if b, err := os.ReadFile(filepath.Join(layer, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
	checkOutsideUntouched(t, parent, sentinel, before)
}
