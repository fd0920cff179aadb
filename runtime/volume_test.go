package runtime

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseVolumeFlag(t *testing.T) {
	cwd := "/work/dir"
	for _, c := range []struct {
		spec string
		want MountRequest
	}{
		{"/host:/ctr", MountRequest{Type: MountBind, Source: "/host", Target: "/ctr", CreateSource: true}},
		{"/host:/ctr/:ro", MountRequest{Type: MountBind, Source: "/host", Target: "/ctr", CreateSource: true, ReadOnly: true}},
		{"/host:/ctr:rw,rslave", MountRequest{Type: MountBind, Source: "/host", Target: "/ctr", CreateSource: true, Propagation: "rslave"}},
		{"./rel:/ctr", MountRequest{Type: MountBind, Source: "/work/dir/rel", Target: "/ctr", CreateSource: true}},
		{"../up:/ctr", MountRequest{Type: MountBind, Source: "/work/up", Target: "/ctr", CreateSource: true}},
		{".hidden:/ctr", MountRequest{Type: MountBind, Source: "/work/dir/.hidden", Target: "/ctr", CreateSource: true}},
		{"data:/data", MountRequest{Type: MountVolume, Source: "data", Target: "/data"}},
		{"data:/data:ro,nocopy", MountRequest{Type: MountVolume, Source: "data", Target: "/data", ReadOnly: true, NoCopy: true}},
		{"/anon", MountRequest{Type: MountVolume, Target: "/anon"}},
	} {
		got, err := ParseVolumeFlag(c.spec, cwd)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseVolumeFlag(%q) = %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}
	for _, c := range []struct{ spec, err string }{
		{"/tmp:rel", `invalid volume specification: '/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`},
		{"rel", `invalid volume specification: 'rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`},
		{"/tmp:/", `invalid specification: destination can't be '/'`},
		{"/ctr:ro", `invalid volume specification: '/ctr:ro'`},
		{"/a:/b:rx", `invalid mode: rx`},
		{"/a:/b:ro,rw", `invalid mode: ro,rw`},
		{"/a:/b:c:d", `invalid volume specification`},
		{":/b", `invalid volume specification`},
		{"foo/bar:/b", `"foo/bar" includes invalid characters for a local volume name`},
		{"x:/b", `"x" includes invalid characters`},
		{"v1:/b:nocopy,ro,rshared", `field BindOptions must not be specified`},
		{"/h:/b:nocopy", `field VolumeOptions must not be specified`},
	} {
		_, err := ParseVolumeFlag(c.spec, cwd)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseVolumeFlag(%q) error %v, want %q", c.spec, err, c.err)
		}
	}
}

func TestParseMountFlag(t *testing.T) {
	for _, c := range []struct {
		spec string
		want MountRequest
	}{
		{"type=bind,source=/h,target=/c,readonly", MountRequest{Type: MountBind, Source: "/h", Target: "/c", ReadOnly: true}},
		{"type=bind,src=/h,dst=/c,ro=false,bind-propagation=rshared", MountRequest{Type: MountBind, Source: "/h", Target: "/c", Propagation: "rshared"}},
		{"type=bind,src=/h,destination=/c,bind-recursive=disabled,bind-create-src", MountRequest{Type: MountBind, Source: "/h", Target: "/c", NonRecursive: true, CreateSource: true}},
		{"src=vv,dst=/v", MountRequest{Type: MountVolume, Source: "vv", Target: "/v"}},
		{"type=volume,target=/v,volume-nocopy,volume-label=a=b", MountRequest{Type: MountVolume, Target: "/v", NoCopy: true, Labels: map[string]string{"a": "b"}}},
		{"TYPE=TMPFS,target=/t,tmpfs-size=1m,tmpfs-mode=1770", MountRequest{Type: MountTmpfs, Target: "/t", TmpfsSize: 1 << 20, TmpfsMode: 0o1770}},
		{`"type=bind","src=/a,b",dst=/c`, MountRequest{Type: MountBind, Source: "/a,b", Target: "/c"}},
	} {
		got, err := ParseMountFlag(c.spec)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseMountFlag(%q) = %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}
	for _, c := range []struct{ spec, err string }{
		{"", "value is empty"},
		{"type=foo,target=/x", `invalid mount config for type "foo": mount type unknown`},
		{"type=bind,src=/h", `invalid mount config for type "bind": field Target must not be empty`},
		{"type=bind,dst=/h", `field Source must not be empty`},
		{"type=bind,src=rel,dst=/h", `invalid mount path: 'rel' mount path must be absolute`},
		{"type=tmpfs,src=x,dst=/h", `field Source must not be specified`},
		{"type=tmpfs,dst=rel", `mount path must be absolute`},
		{"type=volume,dst=/h,readonly", `must not set ReadOnly mode when using anonymous volumes`},
		{"type=bind,src=/a,dst=/b,volume-nocopy", `cannot mix 'volume-*' options with mount type 'bind'`},
		{"type=volume,dst=/b,bind-propagation=shared", `cannot mix 'bind-*' options with mount type 'volume'`},
		{"type=bind,src=/a,dst=/b,tmpfs-size=1m", `cannot mix 'tmpfs-*' options with mount type 'bind'`},
		{"type=bind,src=/a,dst=/b,bind-propagation=weird", `invalid propagation mode: weird`},
		{"type=bind,src=/a,dst=/b,ro=yes", `invalid boolean value ("yes")`},
		{"type=bind,src=/a,dst=/b,foo=bar", `unknown option 'foo' in 'foo=bar'`},
		{"type=bind,src=/a,dst", `invalid field 'dst' must be a key=value pair`},
		{"type=tmpfs,dst=/t,tmpfs-size=lots", `invalid value for tmpfs-size: lots`},
		{"type=tmpfs,dst=/t,tmpfs-mode=999", `invalid value for tmpfs-mode: 999`},
		{"src=a/b,dst=/v", `"a/b" includes invalid characters for a local volume name`},
		{"type=bind,src=/a,dst=/b, ro", `option should not have whitespace`},
	} {
		_, err := ParseMountFlag(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseMountFlag(%q) error %v, want %q", c.spec, err, c.err)
		}
	}
}

func TestTmpfsOptions(t *testing.T) {
	for _, c := range []struct {
		r    MountRequest
		want string
	}{
		{MountRequest{}, ""},
		{MountRequest{TmpfsSize: 1 << 20}, "size=1m"},
		{MountRequest{TmpfsSize: 3 << 30, TmpfsMode: 0o1777, ReadOnly: true}, "ro,mode=1777,size=3g"},
		{MountRequest{TmpfsSize: 1000}, "size=1000"},
	} {
		if got := c.r.tmpfsOptions(); got != c.want {
			t.Errorf("tmpfsOptions(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
}

func TestVolumeLifecycle(t *testing.T) {
	vs := Volumes{Root: t.TempDir()}
	v, err := vs.Create("data", map[string]string{"k": "v"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Mountpoint != filepath.Join(vs.Root, "volumes", "data", "_data") {
		t.Errorf("mountpoint %s", v.Mountpoint)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Fatalf("_data: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(vs.Root, "volumes", "data", "volume.json"))
	if err != nil || !strings.Contains(string(b), `"k": "v"`) {
		t.Errorf("volume.json: %s %v", b, err)
	}
	// Creating it again returns it unchanged (Docker).
	if again, err := vs.Create("data", nil, nil); err != nil || again.Labels["k"] != "v" {
		t.Errorf("second create: %+v %v", again, err)
	}
	// As with Docker, only volumes made for a container's -v /path are
	// anonymous; `volume create` without a name just picks a random one.
	anon, err := vs.Create("", map[string]string{AnonymousLabel: ""}, nil)
	if err != nil || len(anon.Name) != 64 || !anon.Anonymous() {
		t.Fatalf("anonymous create: %+v %v", anon, err)
	}
	for _, bad := range []string{"a", "a/b", ".x", "-x", "../x"} {
		if _, err := vs.Create(bad, nil, nil); err == nil || !strings.Contains(err.Error(), "invalid characters") {
			t.Errorf("Create(%q): %v", bad, err)
		}
	}
	list, err := vs.List()
	if err != nil || len(list) != 2 || (list[0].Name != "data" && list[1].Name != "data") || list[0].Name > list[1].Name {
		t.Fatalf("List: %v %v", list, err)
	}
	in := v.Inspect()
	if in.Driver != "local" || in.Scope != "local" || in.Name != "data" || in.Mountpoint != v.Mountpoint || in.CreatedAt == "" {
		t.Errorf("Inspect: %+v", in)
	}
	js, _ := json.Marshal(in)
	if !strings.HasPrefix(string(js), `{"CreatedAt":`) {
		t.Errorf("inspect JSON %s", js)
	}

	// A container record that mounts it keeps it.
	writeRecord(t, vs.Root, "c1", v.Mountpoint)
	err = vs.Remove("data")
	if !errors.Is(err, ErrVolumeInUse) || err.Error() != "remove data: volume is in use - [c1]" {
		t.Errorf("Remove of a used volume: %v", err)
	}
	if _, err := vs.Get("nosuch"); !errors.Is(err, ErrNoSuchVolume) || err.Error() != "get nosuch: no such volume" {
		t.Errorf("Get nosuch: %v", err)
	}
	if err := vs.Remove("nosuch"); !errors.Is(err, ErrNoSuchVolume) {
		t.Errorf("Remove nosuch: %v", err)
	}

	// Prune takes the unused anonymous volume only, unless all.
	named, _ := vs.Create("unused", nil, nil)
	os.WriteFile(filepath.Join(named.Mountpoint, "f"), []byte("12345"), 0o644)
	os.WriteFile(filepath.Join(anon.Mountpoint, "f"), []byte("123"), 0o644)
	rep, err := vs.Prune(false)
	if err != nil || !slices.Equal(rep.VolumesDeleted, []string{anon.Name}) || rep.SpaceReclaimed != 3 {
		t.Errorf("Prune: %+v %v", rep, err)
	}
	rep, err = vs.Prune(true)
	if err != nil || !slices.Equal(rep.VolumesDeleted, []string{"unused"}) || rep.SpaceReclaimed != 5 {
		t.Errorf("Prune all: %+v %v", rep, err)
	}
	os.RemoveAll(filepath.Join(vs.Root, "containers", "c1"))
	if err := vs.Remove("data"); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(vs.Root, "volumes")); len(ents) != 1 || ents[0].Name() != ".lock" {
		t.Errorf("volumes left: %v", ents)
	}
}

// writeRecord writes a container record mounting source.
func writeRecord(t *testing.T, root, id, source string) {
	t.Helper()
	dir := filepath.Join(root, "containers", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := Record{ID: id, Spec: &specs.Spec{Mounts: []specs.Mount{{Destination: "/d", Type: "bind", Source: source}}}}
	if err := writeJSON(filepath.Join(dir, recordFile), r); err != nil {
		t.Fatal(err)
	}
}

// TestSeedVolume checks the copy-up keeps owners, modes, times, xattrs,
// symlinks, hard links, device nodes and FIFOs, and happens only once.
func TestSeedVolume(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("copying owners and device nodes needs root")
	}
	rootfs := t.TempDir()
	src := filepath.Join(rootfs, "etc")
	must(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "file"), []byte("content"), 0o640))
	must(t, os.Chown(filepath.Join(src, "file"), 1000, 2000))
	must(t, os.Chmod(filepath.Join(src, "file"), 0o4750))
	must(t, os.Link(filepath.Join(src, "file"), filepath.Join(src, "sub", "hardlink")))
	must(t, os.Symlink("../file", filepath.Join(src, "sub", "link")))
	must(t, unix.Mkfifo(filepath.Join(src, "fifo"), 0o600))
	must(t, unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, unix.Lsetxattr(filepath.Join(src, "file"), "user.test", []byte("x"), 0))
	must(t, os.Chmod(src, 0o1750))
	must(t, os.Chown(src, 5, 6))
	// A symlinked target resolves inside the rootfs, never to the host.
	must(t, os.Symlink("/etc", filepath.Join(rootfs, "alias")))

	vs := Volumes{Root: t.TempDir()}
	mounts, anon, err := vs.PrepareMounts(rootfs, []MountRequest{
		{Type: MountVolume, Source: "etcvol", Target: "/alias"},
		{Type: MountVolume, Target: "/etc", ReadOnly: false},
		{Type: MountVolume, Source: "empty", Target: "/etc/sub", NoCopy: true},
		{Type: MountVolume, Source: "none", Target: "/missing"},
		{Type: MountTmpfs, Target: "/t", TmpfsSize: 1 << 20},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(anon) != 1 || len(mounts) != 5 {
		t.Fatalf("mounts %+v, anonymous %v", mounts, anon)
	}
	data := filepath.Join(vs.Root, "volumes", "etcvol", "_data")
	if mounts[0].Source != data || mounts[0].Type != "bind" || !slices.Equal(mounts[0].Options, []string{"rbind", "rprivate"}) {
		t.Errorf("volume mount %+v", mounts[0])
	}
	if mounts[4].Type != "tmpfs" || !slices.Contains(mounts[4].Options, "size=1m") {
		t.Errorf("tmpfs mount %+v", mounts[4])
	}
	for _, d := range []string{data, filepath.Join(vs.Root, "volumes", anon[0], "_data")} {
		checkSame(t, src, d)
	}
	if ents, _ := os.ReadDir(filepath.Join(vs.Root, "volumes", "empty", "_data")); len(ents) != 0 {
		t.Errorf("nocopy volume was filled: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(vs.Root, "volumes", "none", "_data")); len(ents) != 0 {
		t.Errorf("volume for a missing path was filled: %v", ents)
	}

	// A volume with content is not filled again.
	must(t, os.Remove(filepath.Join(data, "file")))
	must(t, os.WriteFile(filepath.Join(rootfs, "etc", "new"), nil, 0o644))
	if _, _, err := vs.PrepareMounts(rootfs, []MountRequest{{Type: MountVolume, Source: "etcvol", Target: "/etc"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"file", "new"} {
		if _, err := os.Lstat(filepath.Join(data, n)); err == nil {
			t.Errorf("non-empty volume re-seeded: %s appeared", n)
		}
	}
}

// checkSame compares the copied tree dst with src.
func checkSame(t *testing.T, src, dst string) {
	t.Helper()
	for _, rel := range []string{".", "file", "sub", "sub/hardlink", "sub/link", "fifo", "null"} {
		var a, b unix.Stat_t
		must(t, unix.Lstat(filepath.Join(src, rel), &a))
		if err := unix.Lstat(filepath.Join(dst, rel), &b); err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Rdev != b.Rdev || a.Size != b.Size {
			t.Errorf("%s: mode %o uid %d gid %d rdev %d, want %o %d %d %d", rel, b.Mode, b.Uid, b.Gid, b.Rdev, a.Mode, a.Uid, a.Gid, a.Rdev)
		}
		if a.Mtim != b.Mtim {
			t.Errorf("%s: mtime %v, want %v", rel, b.Mtim, a.Mtim)
		}
	}
	var f, h unix.Stat_t
	must(t, unix.Lstat(filepath.Join(dst, "file"), &f))
	must(t, unix.Lstat(filepath.Join(dst, "sub", "hardlink"), &h))
	if f.Ino != h.Ino {
		t.Errorf("hard link not kept")
	}
	if target, _ := os.Readlink(filepath.Join(dst, "sub", "link")); target != "../file" {
		t.Errorf("symlink target %q", target)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(dst, "file"), "user.test", buf); err != nil || string(buf[:n]) != "x" {
		t.Errorf("xattr: %q %v", buf[:n], err)
	}
}

func TestPrepareMountsErrors(t *testing.T) {
	vs := Volumes{Root: t.TempDir()}
	rootfs := t.TempDir()
	_, _, err := vs.PrepareMounts(rootfs, []MountRequest{{Type: MountBind, Source: "/no/such/dir", Target: "/x"}}, nil)
	if err == nil || err.Error() != `invalid mount config for type "bind": bind source path does not exist: /no/such/dir` {
		t.Errorf("missing bind source: %v", err)
	}
	_, _, err = vs.PrepareMounts(rootfs, []MountRequest{{Type: MountVolume, Target: "/x"}, {Type: MountTmpfs, Target: "/x"}}, nil)
	if err == nil || err.Error() != "Duplicate mount point: /x" {
		t.Errorf("duplicate: %v", err)
	}
	_, _, err = vs.PrepareMounts(rootfs, []MountRequest{{Type: MountTmpfs, Target: "/x"}}, map[string]string{"/x/": ""})
	if err == nil {
		t.Errorf("duplicate of --tmpfs accepted")
	}
	// A failure after an anonymous volume was made removes it.
	_, _, err = vs.PrepareMounts(rootfs, []MountRequest{{Type: MountVolume, Target: "/a"}, {Type: MountBind, Source: "/no/such", Target: "/b"}}, nil)
	if err == nil {
		t.Fatal("missing bind source accepted")
	}
	if list, _ := vs.List(); len(list) != 0 {
		t.Errorf("anonymous volume left after a failure: %v", list)
	}
	// -v creates a missing host directory.
	host := filepath.Join(t.TempDir(), "new", "dir")
	r, err := ParseVolumeFlag(host+":/d:ro", "/")
	must(t, err)
	mounts, _, err := vs.PrepareMounts(rootfs, []MountRequest{r}, nil)
	if err != nil || len(mounts) != 1 || !slices.Equal(mounts[0].Options, []string{"rbind", "rprivate", "ro"}) {
		t.Errorf("-v bind: %+v %v", mounts, err)
	}
	if fi, err := os.Stat(host); err != nil || !fi.IsDir() {
		t.Errorf("-v did not create %s: %v", host, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWithImageVolumes(t *testing.T) {
	user := []MountRequest{{Type: MountBind, Source: "/host", Target: "/b/"}}
	got := WithImageVolumes(user, map[string]struct{}{
		"/a": {}, "/b": {}, "/c": {}, "relative": {}, "/": {}, "/a/sub": {},
	}, map[string]string{"/c": ""})
	var targets []string
	for _, r := range got[1:] {
		if r.Type != MountVolume || r.Source != "" {
			t.Errorf("image volume %+v is not an anonymous volume", r)
		}
		targets = append(targets, r.Target)
	}
	if strings.Join(targets, " ") != "/a /a/sub" {
		t.Errorf("image volumes added: %q, want /a /a/sub (b is the user's bind, c a tmpfs; relative and / skipped)", targets)
	}
}

// TestSeedVolumeSymlinkStaysInRoot: an image whose volume path is a
// symlink to an absolute host path seeds from inside the rootfs, never
// from the host directory the link names.
func TestSeedVolumeSymlinkStaysInRoot(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "secret"), []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	root, data := t.TempDir(), t.TempDir()
	if err := os.Symlink(host, filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	if err := seedVolume(root, "/data", data); err != nil {
		t.Fatalf("seedVolume: %v", err)
	}
	if ents, _ := os.ReadDir(data); len(ents) != 0 {
		t.Fatalf("the volume was seeded from the host directory the link names: %v", ents)
	}
	// The same link's target inside the rootfs is what seeds it.
	if err := os.MkdirAll(filepath.Join(root, host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, host, "inside"), []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := seedVolume(root, "/data", data); err != nil {
		t.Fatalf("seedVolume: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "inside")); err != nil || string(b) != "image" {
		t.Errorf("seeded from inside the rootfs: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(data, "secret")); err == nil {
		t.Error("the host's file was copied into the volume")
	}
}
