package image

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testrepo is regclient's test layout: images, multi-platform indexes and
// OCI artifacts (see testdata/NOTICE).
const testrepo = "testdata/regclient/testdata/testrepo"

func TestNotRunnable(t *testing.T) {
	imageCfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}`)
	layer := v1.Descriptor{MediaType: types.OCILayer}
	cases := []struct {
		name string
		man  v1.Manifest
		cfg  []byte
		want string // substring of the reason; "" for runnable
	}{
		{"image", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{layer}}, imageCfg, ""},
		{"docker image", v1.Manifest{Config: v1.Descriptor{MediaType: types.DockerConfigJSON}, Layers: []v1.Descriptor{{MediaType: types.DockerLayer}}}, imageCfg, ""},
		{"zstd image", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{{MediaType: types.OCILayerZStd}}}, imageCfg, ""},
		{"artifact", v1.Manifest{ArtifactType: "application/example.sbom", Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{layer}}, imageCfg, "artifactType application/example.sbom"},
		{"empty config", v1.Manifest{Config: v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json"}, Layers: []v1.Descriptor{layer}}, []byte("{}"), "application/vnd.oci.empty.v1+json"},
		{"helm chart", v1.Manifest{Config: v1.Descriptor{MediaType: "application/vnd.cncf.helm.config.v1+json"}, Layers: []v1.Descriptor{{MediaType: "application/tar+gzip"}}}, []byte("{}"), "helm"},
		{"cosign signature", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json"}}}, imageCfg, "cosign"},
		{"in-toto attestation", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{{MediaType: "application/vnd.in-toto+json"}}}, []byte("{}"), "in-toto"},
		{"config without rootfs", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{layer}}, []byte("{}"), "no root filesystem"},
	}
	for _, c := range cases {
		got := notRunnable(&c.man, c.cfg)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: reason %q, want %q", c.name, got, c.want)
		}
	}
}

// TestLoadTestrepo loads regclient's layout: the six multi-platform images
// for this host are stored, every artifact, referrer index and attestation
// is skipped with a reason, and none of their blobs reaches the store.
func TestLoadTestrepo(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the counts below are for the platforms every index of testrepo offers")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.LoadFile(context.Background(), testrepo, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(res.Loaded) != 6 {
		t.Errorf("loaded %d images, want 6 (b1 b2 b3 v1 v2 v3): %+v", len(res.Loaded), res.Loaded)
	}
	imgs, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 6 {
		t.Errorf("store lists %d images, want 6", len(imgs))
	}
	for _, img := range imgs {
		if !RunsOn(img.Platform(), HostPlatform()) {
			t.Errorf("image %s is for %s", img.ID, PlatformString(img.Platform()))
		}
	}
	reasons := map[string]string{}
	for _, sk := range res.Skipped {
		reasons[sk.Tag] = sk.Reason
		if !strings.HasPrefix(sk.String(), "Skipping "+shortID(sk.Digest)) {
			t.Errorf("skip line %q", sk)
		}
	}
	if len(res.Skipped) != 19 {
		t.Errorf("skipped %d manifests, want 19: %v", len(res.Skipped), res.Skipped)
	}
	for tag, want := range map[string]string{
		"a1":       "artifactType application/example.sbom",
		"a2":       "artifactType application/example.signature",
		"a-docker": "application/vnd.example.build-type+json",
		"ai":       "index of OCI artifacts",
		"loop":     "index of OCI artifacts",
		"sha256-dfae8f425735a5e3a72e40d6609e03079995511d48157c74d54801ff4430491e": "artifacts or attestations",
	} {
		if !strings.Contains(reasons[tag], want) {
			t.Errorf("tag %s: reason %q, want %q", tag, reasons[tag], want)
		}
	}
	// The SBOM's content and a3's layers are not image layers: never stored.
	for _, hex := range []string{
		"e9c3c1c06f1825ffa801eac2930fc97e8cecf63d41c7f5d92a8bb21d7ed288bc",
		"4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865",
	} {
		if _, err := os.Stat(s.blobPath(v1.Hash{Algorithm: "sha256", Hex: hex})); err == nil {
			t.Errorf("artifact blob %s was stored", hex[:12])
		}
	}
}

// filteredLayout copies testrepo with only the index.json entries keep
// accepts.
func filteredLayout(t *testing.T, keep func(v1.Descriptor) bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := os.CopyFS(dir, os.DirFS(testrepo)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatal(err)
	}
	var kept []v1.Descriptor
	for _, d := range im.Manifests {
		if keep(d) {
			kept = append(kept, d)
		}
	}
	im.Manifests = kept
	if raw, err = json.Marshal(im); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// storeIsEmpty fails the test when the store holds any blob, layer or image.
func storeIsEmpty(t *testing.T, s *Store) {
	t.Helper()
	for _, dir := range []string{s.blobs, s.layers} {
		var files []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if len(files) != 0 {
			t.Errorf("%s holds %q", dir, files)
		}
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Errorf("store lists %d images", len(imgs))
	}
}

func TestLoadArtifactsOnly(t *testing.T) {
	dir := filteredLayout(t, func(d v1.Descriptor) bool {
		switch d.Annotations[RefNameAnnotation] {
		case "a1", "a2", "a3", "ai", "a-docker", "loop":
			return true
		}
		return false
	})
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.LoadFile(context.Background(), dir, nil)
	if !errors.Is(err, ErrNoImage) {
		t.Fatalf("load of artifacts only: %v, want ErrNoImage", err)
	}
	if len(res.Skipped) != 6 || len(res.Loaded) != 0 {
		t.Errorf("loaded %v, skipped %v: want 6 skipped", res.Loaded, res.Skipped)
	}
	storeIsEmpty(t, s)
}

// TestLoadBrokenImageChangesNothing: an image whose config does not match
// its layers is an error, not a skip, and the good image beside it in the
// layout is not stored either.
func TestLoadBrokenImageChangesNothing(t *testing.T) {
	good, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	two, err := random.Image(100, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := two.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.RootFS.DiffIDs = cfg.RootFS.DiffIDs[:1]
	broken, err := mutate.ConfigFile(two, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []v1.Image{good, broken} {
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.LoadFile(context.Background(), dir, nil)
	if err == nil || errors.Is(err, ErrNoImage) || !strings.Contains(err.Error(), "2 layers but its config lists 1 diff IDs") {
		t.Fatalf("load of a broken image: %v (skipped %v)", err, res.Skipped)
	}
	if len(res.Loaded) != 0 {
		t.Errorf("loaded %v", res.Loaded)
	}
	storeIsEmpty(t, s)
}

// TestPullIndexSkipsArtifacts pulls an index whose first entries for this
// platform are an artifact and an attestation: the image is chosen. An
// index of artifacts only, and an artifact by tag, are refused with
// ErrNoImage and store nothing.
func TestPullIndexSkipsArtifacts(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := HostPlatform()
	img, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = host.OS, host.Architecture, host.Variant
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	sbom, err := mutate.Append(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.oci.empty.v1+json"),
		mutate.Addendum{Layer: static.NewLayer([]byte(`{"spdxVersion":"SPDX-2.3"}`), "application/spdx+json")})
	if err != nil {
		t.Fatal(err)
	}
	att, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer([]byte(`{"_type":"https://in-toto.io/Statement/v0.1"}`), "application/vnd.in-toto+json")})
	if err != nil {
		t.Fatal(err)
	}
	artifact := mutate.IndexAddendum{Add: sbom, Descriptor: v1.Descriptor{ArtifactType: "application/spdx+json", Platform: &host}}
	attestation := mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{attestationAnnotation: "attestation-manifest"},
	}}
	image := mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &host}}

	repo := strings.TrimPrefix(srv.URL, "http://") + "/app"
	push := func(tag string, t2 remote.Taggable) {
		ref, err := name.ParseReference(repo + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		switch x := t2.(type) {
		case v1.ImageIndex:
			err = remote.WriteIndex(ref, x)
		case v1.Image:
			err = remote.Write(ref, x)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	push("mixed", mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), artifact, attestation, image))
	push("artifacts", mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), artifact, attestation))
	push("sbom", sbom)

	for _, tag := range []string{"artifacts", "sbom"} {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pull(context.Background(), repo+":"+tag, PullOptions{}); !errors.Is(err, ErrNoImage) {
			t.Errorf("pull %s: %v, want ErrNoImage", tag, err)
		}
		storeIsEmpty(t, s)
	}

	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Pull(context.Background(), repo+":mixed", PullOptions{})
	if err != nil {
		t.Fatalf("pull of an index with artifacts: %v", err)
	}
	want, _ := img.ConfigName()
	if res.Image.ID != want {
		t.Errorf("pulled %s, want the image %s", res.Image.ID, want)
	}
}
