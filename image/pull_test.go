package image

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hako-run/hako/internal/testimage"
)

// flipper corrupts one byte of every layer blob it serves when on.
type flipper struct {
	next http.Handler
	on   bool
}

func (f *flipper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.on || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
		f.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if len(body) > 1000 { // a layer, not the config
		body[len(body)/2] ^= 0x01
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

func TestPullRefusesCorruptLayer(t *testing.T) {
	f := &flipper{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(f)
	defer srv.Close()
	img, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	refStr := strings.TrimPrefix(srv.URL, "http://") + "/busybox:latest"
	ref, err := name.ParseReference(refStr)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f.on = true
	if _, err := s.Pull(context.Background(), refStr, PullOptions{}); err == nil {
		t.Fatal("pull of a corrupted layer succeeded")
	}
	for _, dir := range []string{s.blobs, s.layers} {
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Errorf("%s holds %d entries after a refused pull", dir, len(entries))
		}
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Errorf("store lists %d images after a refused pull", len(imgs))
	}
	// The same store pulls the intact image afterwards.
	f.on = false
	res, err := s.Pull(context.Background(), refStr, PullOptions{})
	if err != nil {
		t.Fatalf("pull after the registry recovered: %v", err)
	}
	if _, err := os.Stat(filepath.Join(res.Image.LayerDirs()[0], "bin", "busybox")); err != nil {
		t.Errorf("extracted layer lacks bin/busybox: %v", err)
	}
}
