package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerSpec describes one generated layer: its name in the cache and the
// function that writes its entries.
type layerSpec struct {
	name  string
	write func(tw *layerWriter) error
}

// imageSpec is a generated test image.
type imageSpec struct {
	about string
	// cacheKey changes whenever the generated content would change.
	cacheKey func() (string, error)
	layers   func() ([]layerSpec, error)
}

var imageSpecs = map[string]imageSpec{
	"mixed":      mixedImage(),
	"smallfiles": smallfilesImage(),
}

// imageOrder is the order images are generated and reported in.
var imageOrder = []string{"mixed", "smallfiles"}

// layerStats is stored next to each cached layer.
type layerStats struct {
	Files        int   `json:"files"`        // regular files
	Uncompressed int64 `json:"uncompressed"` // tar stream bytes
	Compressed   int64 `json:"compressed"`   // gzip blob bytes
}

// benchImage is a generated image, ready to push.
type benchImage struct {
	name   string
	about  string
	blobs  []string // cached .tar.gz layer blobs, base layer first
	stats  layerStats
	ref    string // set once pushed
	layers int
}

// buildImage returns the image's layers from the cache, generating the
// missing ones (two at a time, one per core on the reference machine).
func buildImage(cacheRoot, imgName string, spec imageSpec) (*benchImage, error) {
	key, err := spec.cacheKey()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cacheRoot, imgName+"-"+key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cache dir: %w", err)
	}
	specs, err := spec.layers()
	if err != nil {
		return nil, err
	}
	img := &benchImage{name: imgName, about: spec.about, layers: len(specs)}
	stats := make([]layerStats, len(specs))
	errs := make([]error, len(specs))
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, ls := range specs {
		path := filepath.Join(dir, fmt.Sprintf("%02d-%s.tar.gz", i, ls.name))
		img.blobs = append(img.blobs, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			stats[i], errs[i] = cachedLayer(path, ls)
		}()
	}
	wg.Wait()
	for i := range specs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		img.stats.Files += stats[i].Files
		img.stats.Uncompressed += stats[i].Uncompressed
		img.stats.Compressed += stats[i].Compressed
	}
	return img, nil
}

// cachedLayer returns the stats of a cached layer, writing it first if it is
// not in the cache. A layer is written to a temp name and renamed, so an
// interrupted run never leaves a truncated blob under the final name.
func cachedLayer(path string, ls layerSpec) (layerStats, error) {
	var st layerStats
	if data, err := os.ReadFile(path + ".json"); err == nil {
		if json.Unmarshal(data, &st) == nil {
			if fi, err := os.Stat(path); err == nil && fi.Size() == st.Compressed {
				return st, nil
			}
		}
	}
	fmt.Fprintf(os.Stderr, "bench: generating layer %s\n", path)
	st, err := writeLayer(path+".tmp", ls)
	if err != nil {
		os.Remove(path + ".tmp")
		return st, fmt.Errorf("generating layer %s: %w", ls.name, err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return st, fmt.Errorf("caching layer %s: %w", ls.name, err)
	}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(path+".json", data, 0o644); err != nil {
		return st, fmt.Errorf("caching layer stats %s: %w", ls.name, err)
	}
	return st, nil
}

func writeLayer(path string, ls layerSpec) (layerStats, error) {
	var st layerStats
	f, err := os.Create(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	counter := &countWriter{w: zw}
	lw := &layerWriter{tw: tar.NewWriter(counter), dirs: map[string]bool{}}
	if err := ls.write(lw); err != nil {
		return st, err
	}
	if err := lw.tw.Close(); err != nil {
		return st, err
	}
	if err := zw.Close(); err != nil {
		return st, err
	}
	if err := f.Sync(); err != nil {
		return st, err
	}
	fi, err := f.Stat()
	if err != nil {
		return st, err
	}
	return layerStats{Files: lw.files, Uncompressed: counter.n, Compressed: fi.Size()}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// layerWriter writes tar entries owned by root, creating parent directory
// entries on first use so every layer is a self-contained tree.
type layerWriter struct {
	tw    *tar.Writer
	dirs  map[string]bool
	files int
}

func (lw *layerWriter) dir(name string) error {
	if name == "." || name == "/" || name == "" || lw.dirs[name] {
		return nil
	}
	if err := lw.dir(filepath.Dir(name)); err != nil {
		return err
	}
	lw.dirs[name] = true
	return lw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: epoch})
}

func (lw *layerWriter) file(name string, mode int64, data []byte) error {
	if err := lw.dir(filepath.Dir(name)); err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	lw.files++
	_, err := lw.tw.Write(data)
	return err
}

func (lw *layerWriter) symlink(name, target string) error {
	if err := lw.dir(filepath.Dir(name)); err != nil {
		return err
	}
	return lw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch})
}

// image assembles an OCI image (OCI manifest, config and layer media types)
// from the cached blobs. Layers are used as they are, not recompressed.
func (b *benchImage) image() (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for _, p := range b.blobs {
		l, err := tarball.LayerFromFile(p, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("opening layer %s: %w", p, err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: types.OCILayer})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("appending layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Config.Cmd = []string{"/bin/true"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	return mutate.ConfigFile(img, cf)
}
