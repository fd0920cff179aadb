package testimage

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// entries reads every tar header (and regular file content) of the image's
// layer i.
func entries(t *testing.T, img v1.Image, i int) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[i].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			data[h.Name] = b
		}
	}
	return hdrs, data
}

func TestBusybox(t *testing.T) {
	img, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s / %s, want OCI", m.MediaType, m.Config.MediaType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Fatalf("layers %+v, want one %s", m.Layers, types.OCILayer)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if !cf.Created.Time.Equal(Epoch) || len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "sh" ||
		len(cf.Config.Env) != 1 || !strings.HasPrefix(cf.Config.Env[0], "PATH=") {
		t.Errorf("config %+v created %v", cf.Config, cf.Created)
	}

	hdrs, data := entries(t, img, 0)
	bb := hdrs["bin/busybox"]
	if bb == nil || bb.Typeflag != tar.TypeReg || bb.Mode&0o111 == 0 {
		t.Fatalf("bin/busybox header %+v, want an executable file", bb)
	}
	host, _ := os.ReadFile(BusyboxPath)
	if !bytes.Equal(data["bin/busybox"], host) {
		t.Error("bin/busybox differs from the host's")
	}
	for _, name := range []string{"bin/sh", "bin/ls", "bin/cat", "usr/bin/id", "bin/mount"} {
		h := hdrs[name]
		if h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/bin/busybox" {
			t.Errorf("%s: %+v, want symlink to /bin/busybox", name, h)
		}
	}
	if h := hdrs["tmp"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp: %+v, want mode 1777", h)
	}
	if h := hdrs["home/hako"]; h == nil || h.Uid != 1000 || h.Gid != 1000 {
		t.Errorf("home/hako: %+v, want owner 1000:1000", h)
	}
	if !strings.Contains(string(data["etc/passwd"]), "hako:x:1000:1000:") ||
		!strings.Contains(string(data["etc/group"]), "audio:x:29:hako") ||
		!strings.Contains(string(data["etc/passwd"]), "nobody:x:65534:") {
		t.Errorf("passwd/group: %q %q", data["etc/passwd"], data["etc/group"])
	}
}

// TestBusyboxDeterministic: two builds from scratch give the same digest.
func TestBusyboxDeterministic(t *testing.T) {
	a, err := buildBusybox()
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildBusybox()
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("digests differ: %s %s", da, db)
	}
}

// TestBusyboxRuns extracts the layer with the host's tar and runs a shell
// command in it through chroot: the image really is runnable.
func TestBusyboxRuns(t *testing.T) {
	img, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layers, _ := img.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	untar := exec.Command("tar", "-x", "-p", "--same-owner", "-C", dir)
	untar.Stdin = rc
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	out, err := exec.Command("chroot", dir, "/bin/sh", "-c", "id -u hako; ls /bin/busybox").CombinedOutput()
	if err != nil {
		t.Fatalf("chroot: %v: %s", err, out)
	}
	if string(out) != "1000\n/bin/busybox\n" {
		t.Errorf("output %q", out)
	}
}

func TestLayerTarKinds(t *testing.T) {
	files := map[string]File{
		"d":         {Mode: os.ModeDir | 0o750, Uid: 7, Gid: 8},
		"d/suid":    {Mode: os.ModeSetuid | 0o755, Content: []byte("x")},
		"d/link":    {Mode: os.ModeSymlink | 0o777, Linkname: "../etc"},
		"d/hard":    {Mode: 0o644, Linkname: "d/suid"},
		"gone":      {Whiteout: true},
		"sub/gone2": {Whiteout: true},
		"opq":       {Opaque: true},
		"null":      {Mode: os.ModeDevice | os.ModeCharDevice | 0o666, Devmajor: 1, Devminor: 3},
		"fifo":      {Mode: os.ModeNamedPipe | 0o600},
		"x":         {Mode: 0o644, Xattrs: map[string]string{"user.k": "v"}},
		"../escape": {Mode: 0o644, Content: []byte("evil")},
	}
	tb, err := LayerTar(files)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(tb))
	got := map[string]*tar.Header{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		order = append(order, h.Name)
	}
	checks := []struct {
		name string
		ok   func(h *tar.Header) bool
	}{
		{"d", func(h *tar.Header) bool {
			return h.Typeflag == tar.TypeDir && h.Mode == 0o750 && h.Uid == 7 && h.Gid == 8
		}},
		{"d/suid", func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg && h.Mode == 0o4755 }},
		{"d/link", func(h *tar.Header) bool { return h.Typeflag == tar.TypeSymlink && h.Linkname == "../etc" }},
		{"d/hard", func(h *tar.Header) bool { return h.Typeflag == tar.TypeLink && h.Linkname == "d/suid" }},
		{".wh.gone", func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg }},
		{"sub/.wh.gone2", func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg }},
		{"opq", func(h *tar.Header) bool { return h.Typeflag == tar.TypeDir }},
		{"opq/.wh..wh..opq", func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg }},
		{"null", func(h *tar.Header) bool { return h.Typeflag == tar.TypeChar && h.Devmajor == 1 && h.Devminor == 3 }},
		{"fifo", func(h *tar.Header) bool { return h.Typeflag == tar.TypeFifo }},
		{"x", func(h *tar.Header) bool { return h.PAXRecords["SCHILY.xattr.user.k"] == "v" }},
		{"../escape", func(h *tar.Header) bool { return h.Size == 4 }},
	}
	for _, c := range checks {
		if h := got[c.name]; h == nil || !c.ok(h) {
			t.Errorf("%s: %+v", c.name, h)
		}
	}
	if len(got) != len(checks) {
		t.Errorf("entries %v", order)
	}
	again, _ := LayerTar(files)
	if !bytes.Equal(tb, again) {
		t.Error("LayerTar is not deterministic")
	}
}

func TestWithLayer(t *testing.T) {
	base, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := WithLayer(base, map[string]File{"etc": {Mode: os.ModeDir | 0o755}, "etc/hello": {Mode: 0o600, Content: []byte("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if len(m.Layers) != 2 || m.Layers[1].MediaType != types.OCILayer || m.MediaType != types.OCIManifestSchema1 {
		t.Fatalf("manifest %+v", m)
	}
	cf, _ := img.ConfigFile()
	if len(cf.RootFS.DiffIDs) != 2 || len(cf.History) != 2 || cf.Config.Cmd[0] != "sh" {
		t.Errorf("config %+v", cf)
	}
	_, data := entries(t, img, 1)
	if string(data["etc/hello"]) != "hi" {
		t.Errorf("etc/hello = %q", data["etc/hello"])
	}
}

func TestMultiArch(t *testing.T) {
	host, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := MultiArch(host)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s", im.MediaType)
	}
	want := map[string]bool{HostPlatform().String(): true, "linux/arm64/v8": true, "linux/arm/v7": true, "linux/arm/v6": true, "linux/s390x": true, "unknown/unknown": true}
	seen := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if d.Platform == nil || !want[d.Platform.String()] {
			t.Errorf("unexpected entry %+v", d)
			continue
		}
		delete(want, d.Platform.String())
		if seen[d.Digest] {
			t.Errorf("duplicate digest %s", d.Digest)
		}
		seen[d.Digest] = true
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if cf.Platform().String() != d.Platform.String() {
			t.Errorf("config platform %s in entry %s", cf.Platform(), d.Platform)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing platforms %v", want)
	}
	hd, _ := host.Digest()
	if im.Manifests[0].Digest != hd {
		t.Errorf("first entry %s, want host image %s", im.Manifests[0].Digest, hd)
	}
}

func TestRandomFile(t *testing.T) {
	base, _ := Base(HostPlatform())
	a, err := WithRandomFile(base, "blob", 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := WithRandomFile(base, "blob", 1<<20, 1)
	c, _ := WithRandomFile(base, "blob", 1<<20, 2)
	da, _ := a.Digest()
	db, _ := b.Digest()
	dc, _ := c.Digest()
	if da != db || da == dc {
		t.Errorf("digests %s %s %s: want same seed equal, other seed different", da, db, dc)
	}
	l, _ := a.Layers()
	if sz, _ := l[0].Size(); sz < 1<<20 {
		t.Errorf("compressed size %d, want incompressible", sz)
	}
}

func TestGoProgram(t *testing.T) {
	base, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	src := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from helper\") }\n"
	img, err := GoProgram(base, "/usr/local/bin/helper", src)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	hdrs, data := entries(t, img, 1)
	if h := hdrs["usr/local/bin/helper"]; h == nil || h.Mode != 0o755 {
		t.Fatalf("helper header %+v", h)
	}
	if h := hdrs["usr/local"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("usr/local: %+v", h)
	}
	bin := filepath.Join(t.TempDir(), "helper")
	if err := os.WriteFile(bin, data["usr/local/bin/helper"], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).Output()
	if err != nil || string(out) != "hello from helper\n" {
		t.Errorf("running helper: %v %q", err, out)
	}
	if out, _ := exec.Command("file", bin).Output(); len(out) > 0 && !strings.Contains(string(out), "statically linked") {
		t.Errorf("helper not static: %s", out)
	}
}
