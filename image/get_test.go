package image

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hako-run/hako/internal/testimage"
)

// TestGetMatchesList checks that Get, which reads only the named image's
// manifest and config when the index holds the name, finds the same image,
// with the same names, repo digests and size, as a search of List does.
func TestGetMatchesList(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	bb, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	other, err := testimage.WithRandomFile(bb, "data", 1000, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		ref string
		img v1.Image
	}{{host + "/busybox:latest", bb}, {host + "/other:1", other}} {
		r, err := name.ParseReference(p.ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, p.img); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ref := range []string{host + "/busybox:latest", host + "/other:1"} {
		if _, err := s.Pull(ctx, ref, PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Tag(host+"/busybox:latest", "alias:2"); err != nil {
		t.Fatal(err)
	}
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	bbImg, err := find(all, host+"/busybox", nil)
	if err != nil {
		t.Fatal(err)
	}
	lookups := []string{
		host + "/busybox", host + "/busybox:latest", "alias:2", "docker.io/library/alias:2",
		host + "/other:1", bbImg.ID.String(), bbImg.ID.Hex[:12],
		host + "/busybox@" + bbImg.Manifest.Digest.String(),
		"missing:latest", host + "/other:2",
	}
	for _, ref := range lookups {
		want, wantErr := find(all, ref, nil)
		got, err := s.Get(ref)
		if (err != nil) != (wantErr != nil) || (err != nil && !errors.Is(err, ErrNotFound)) {
			t.Errorf("Get(%q): error %v, want %v", ref, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got.ID != want.ID || !slices.Equal(got.Names, want.Names) ||
			!slices.Equal(got.RepoDigests, want.RepoDigests) || got.Size != want.Size {
			t.Errorf("Get(%q) = %s %v %v %d, want %s %v %v %d", ref, got.ID, got.Names, got.RepoDigests, got.Size,
				want.ID, want.Names, want.RepoDigests, want.Size)
		}
		if len(got.LayerDirs()) != len(want.LayerDirs()) {
			t.Errorf("Get(%q): %d layer dirs, want %d", ref, len(got.LayerDirs()), len(want.LayerDirs()))
		}
	}
	if len(bbImg.Names) != 2 {
		t.Errorf("busybox has names %v, want its pulled name and alias:2", bbImg.Names)
	}
}
