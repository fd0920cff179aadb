package image

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// A layer that fails ends the other downloads at once, even one whose
// registry connection has stalled.
func TestPullFailsFastWhenOneLayerFails(t *testing.T) {
	base, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimage.WithRandomFile(base, "big", 4<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	bad, _ := layers[0].Digest()
	stalled, _ := layers[1].Digest()
	stalledSize, _ := layers[1].Size()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var armed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case armed.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, bad.String()):
			http.Error(w, "broken", http.StatusNotFound)
		case armed.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, stalled.String()):
			w.Header().Set("Content-Length", strconv.FormatInt(stalledSize, 10))
			w.WriteHeader(http.StatusOK)
			w.Write(make([]byte, 1000))
			w.(http.Flusher).Flush()
			select { // a connection that stalls mid-body
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		default:
			reg.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	refStr := strings.TrimPrefix(srv.URL, "http://") + "/two:latest"
	ref, _ := name.ParseReference(refStr)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Pull(context.Background(), refStr, PullOptions{}); err == nil {
		t.Fatal("pull with a missing layer succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("pull took %s to fail: the stalled download was not ended", d)
	}
}

// After a power cut that lost a manifest blob index.json still names, the
// store keeps working: the entry is skipped, and GC drops it.
func TestIndexEntryWithLostBlob(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	other, err := testimage.WithRandomFile(img, "other", 1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for r, im := range map[string]v1.Image{host + "/lost:1": img, host + "/kept:1": other} {
		ref, _ := name.ParseReference(r)
		if err := remote.Write(ref, im); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(context.Background(), host+"/lost:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	lost, err := s.Get(host + "/lost:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.blobPath(lost.Manifest.Digest)); err != nil {
		t.Fatal(err)
	}
	if imgs, err := s.List(); err != nil || len(imgs) != 0 {
		t.Fatalf("List with a lost manifest blob: %d images, %v; want 0, no error", len(imgs), err)
	}
	// The store still pulls, and GC drops the dangling entry.
	if _, err := s.Pull(context.Background(), host+"/kept:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(nil); err != nil {
		t.Fatal(err)
	}
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range idx.Manifests {
		if d.Annotations[RefNameAnnotation] == host+"/lost:1" {
			t.Errorf("GC kept the index entry whose manifest blob is gone")
		}
	}
	if _, err := s.Get(host + "/kept:1"); err != nil {
		t.Errorf("the other image after GC: %v", err)
	}
}
