package e2e

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// fixtures holds real image archives written by other tools, copied from
// their projects with their upstream paths; see testdata/NOTICE.
const fixtures = "testdata"

func fixture(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(fixtures, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s: %v", rel, err)
	}
	return p
}

// TestLoadFixtures loads genuine archives written by other tools.
func TestLoadFixtures(t *testing.T) {
	t.Run("docker save archive (-i)", func(t *testing.T) {
		// Written by Docker 1.10: manifest.json, repositories, <id>/layer.tar.
		s := newStore(t)
		out := s.mustHako(t, "load", "-i", fixture(t, "containers-image/docker/archive/fixtures/almostempty.tar"))
		if !strings.Contains(out, "Loaded image: emptyimage:latest\n") {
			t.Errorf("load output %q, want \"Loaded image: emptyimage:latest\"", out)
		}
		id := "sha256:9d7f147c0d0c4d4538a04c7ef385809e56eb1aac7bf800fbe976612188025b68"
		rows := s.images(t)
		if r := findRows(rows, "emptyimage", "latest"); len(r) != 1 || r[0].ID != shortID(id) {
			t.Errorf("images: %+v, want emptyimage latest %s", rows, shortID(id))
		}
		ins := s.inspect(t, "emptyimage")
		if ins.Id != id || !slices.Equal(ins.RootFS.Layers, []string{"sha256:0b916d257bd406111a3fced53f81b47de9a30f7c7d514a89769b3483aaddca7e"}) {
			t.Errorf("inspect: Id %s RootFS %v", ins.Id, ins.RootFS)
		}
		if !slices.Contains(ins.RepoTags, "emptyimage:latest") {
			t.Errorf("RepoTags %q lack emptyimage:latest", ins.RepoTags)
		}
		if f := s.layerFiles(t, "emptyfile"); len(f) != 1 {
			t.Errorf("layers/*/emptyfile: %q, want one", f)
		}
	})

	t.Run("docker save archive on stdin", func(t *testing.T) {
		f, err := os.Open(fixture(t, "go-containerregistry/pkg/v1/tarball/testdata/test_image_1.tar"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s := newStore(t)
		out, errOut, code := s.hakoIn(t, f, "load")
		if code != 0 {
			t.Fatalf("hako load < test_image_1.tar: exit %d, stderr %q", code, errOut)
		}
		if !strings.Contains(out, "Loaded image: bazel/v1/tarball:test_image_1\n") {
			t.Errorf("load output %q", out)
		}
		rows := s.images(t)
		if r := findRows(rows, "bazel/v1/tarball", "test_image_1"); len(r) != 1 || r[0].ID != "6e0b05049ed9" {
			t.Errorf("images: %+v, want bazel/v1/tarball test_image_1 6e0b05049ed9", rows)
		}
		foo := s.layerFiles(t, "foo")
		if len(foo) != 1 {
			t.Fatalf("layers/*/foo: %q, want one", foo)
		}
		fi, err := os.Stat(foo[0])
		if b, _ := os.ReadFile(foo[0]); err != nil || fi.Mode().Perm() != 0o555 || len(b) != 4 {
			t.Errorf("foo: %v %q %v, want mode 0555 and 4 bytes", fi, b, err)
		}
	})

	t.Run("docker 25 archive without tags", func(t *testing.T) {
		// hello-world as Docker 25 saves it: an OCI layout plus manifest.json.
		s := newStore(t)
		out := s.mustHako(t, "load", "-i", fixture(t, "go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar"))
		id := "sha256:ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44"
		if !strings.Contains(out, "Loaded image ID: "+id+"\n") {
			t.Errorf("load output %q, want \"Loaded image ID: %s\"", out, id)
		}
		if ins := s.inspect(t, id); ins.Id != id {
			t.Errorf("inspect by ID: Id %s", ins.Id)
		}
		hello := s.layerFiles(t, "hello")
		if len(hello) != 1 {
			t.Fatalf("layers/*/hello: %q, want one", hello)
		}
		if fi, err := os.Stat(hello[0]); err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("hello: %v %v, want an executable", fi, err)
		}
	})

	t.Run("OCI layout directory", func(t *testing.T) {
		s := newStore(t)
		out := s.mustHako(t, "load", "-i", fixture(t, "go-containerregistry/pkg/v1/layout/testdata/test_index_one_image"))
		id := "sha256:381d958b555884ba59574ab5c066e9f6116b5aec3567675aa13bec63331f0810"
		if !strings.Contains(out, id) {
			t.Errorf("load output %q does not name the untagged image %s", out, id)
		}
		ins := s.inspect(t, id)
		if ins.Id != id || ins.Architecture != "amd64" ||
			!slices.Equal(ins.RootFS.Layers, []string{"sha256:59cd31f50f7442a662d7c31b7a12079ade16892bfb465b33da49918e7d13e747"}) {
			t.Errorf("inspect: %+v", ins)
		}
	})
}

// TestLoadOCILayoutTar loads an OCI layout tar whose index names the image.
func TestLoadOCILayoutTar(t *testing.T) {
	dir := t.TempDir()
	const ref = "127.0.0.1:5000/ocitest:v1"
	p, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(busybox.img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref,
		"io.containerd.image.name":          ref,
	})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "oci.tar")
	tarDir(t, filepath.Join(dir, "layout"), archive)

	s := newStore(t)
	out := s.mustHako(t, "load", "-i", archive)
	if !strings.Contains(out, "Loaded image: "+ref+"\n") {
		t.Errorf("load output %q, want \"Loaded image: %s\"", out, ref)
	}
	rows := s.images(t)
	if r := findRows(rows, "127.0.0.1:5000/ocitest", "v1"); len(r) != 1 || r[0].ID != shortID(busybox.config.String()) {
		t.Errorf("images: %+v", rows)
	}
	checkInspect(t, s.inspect(t, ref), busybox)
	checkBusyboxExtracted(t, s)

	// The same layout as a directory into another store.
	s2 := newStore(t)
	s2.mustHako(t, "load", "-i", filepath.Join(dir, "layout"))
	checkInspect(t, s2.inspect(t, ref), busybox)
}

// tarDir writes the tree under dir as an uncompressed tar at dst.
func tarDir(t *testing.T, dir, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
