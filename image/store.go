// Package image is hako's image half: references, pull, load and save, tags,
// and the store on disk — an OCI image layout of blobs and tags (images/)
// beside one extracted directory per layer chain (layers/, or vfs/ with the
// vfs storage driver: driver.go). It knows nothing of containers.
package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
)

// RefNameAnnotation holds an index.json entry's full reference.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// repoDigestAnnotation records the digest the registry knows the image by
// when that is an index rather than the stored manifest.
const repoDigestAnnotation = "run.hako.repo-digest"

// Store is an image store rooted at a directory (DESIGN.md, "On disk").
type Store struct {
	root   string
	images string    // OCI image layout
	blobs  string    // images/blobs/sha256
	layers string    // one extracted directory per chain ID (the driver's area)
	tmp    string    // spool space for load
	driver string    // storage driver (driver.go)
	spread sync.Once // layers is marked FS_TOPDIR_FL (spreadLayers)

	// Notice, when set, is what a user should read once: the root could
	// not hold overlay upper dirs, so the store fell back to vfs.
	Notice string

	// Insecure lists registries (host[:port]) reached over plain HTTP or
	// without verifying TLS, from hako's config file.
	Insecure []string

	// Debugf, when set, is told each step (platform choice, each layer's
	// download and extraction) so a learner can follow what happens.
	Debugf func(format string, args ...any)
}

// spreadLayers marks the layer area once before a layer is extracted into
// it, so that each layer's tree is placed away from its siblings' freed
// inodes (rootfs.SpreadTrees): a placement hint, never a reason to fail.
func (s *Store) spreadLayers() {
	s.spread.Do(func() {
		if err := rootfs.SpreadTrees(s.layers); err != nil {
			s.debugf("%v", err)
		}
	})
}

func (s *Store) debugf(format string, args ...any) {
	if s.Debugf != nil {
		s.Debugf(format, args...)
	}
}

// ErrNotFound is returned when no image matches a reference or ID.
var ErrNotFound = errors.New("no such image")

// Open opens (creating if needed) the store under root, with the storage
// driver the root was set up with (OpenDriver with "").
func Open(root string) (*Store, error) { return OpenDriver(root, "") }

// OpenDriver opens (creating if needed) the store under root with the
// storage driver driver (rootfs.DriverOverlay or DriverVFS). "" takes the
// one the root recorded, or for a new root overlay where the root can
// hold overlay upper dirs and vfs where it cannot (Notice says so). A
// driver other than the root's is refused.
func OpenDriver(root, driver string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store root %q: %w", root, err)
	}
	s := &Store{
		root:   abs,
		images: filepath.Join(abs, "images"),
		blobs:  filepath.Join(abs, "images", "blobs", "sha256"),
		tmp:    filepath.Join(abs, "tmp"),
	}
	for _, d := range []string{s.blobs, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating store directory: %w", err)
		}
	}
	if err := s.initLayout(); err != nil {
		return nil, err
	}
	if err := s.chooseDriver(driver); err != nil {
		return nil, err
	}
	s.layers = filepath.Join(abs, driverLayers[s.driver])
	if err := os.MkdirAll(s.layers, 0o700); err != nil {
		return nil, fmt.Errorf("creating store directory: %w", err)
	}
	return s, nil
}

// Root is the directory the store lives in.
func (s *Store) Root() string { return s.root }

func (s *Store) initLayout() error {
	layoutFile := filepath.Join(s.images, "oci-layout")
	if _, err := os.Stat(layoutFile); err == nil {
		return nil
	}
	lock, err := s.lockIndex()
	if err != nil {
		return err
	}
	defer lock()
	if _, err := os.Stat(filepath.Join(s.images, "index.json")); errors.Is(err, os.ErrNotExist) {
		empty := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
		data, _ := json.Marshal(empty)
		if err := atomicfile.Write(filepath.Join(s.images, "index.json"), data, 0o644); err != nil {
			return err
		}
	}
	return atomicfile.Write(layoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// lockIndex serialises read-modify-write of index.json between processes.
func (s *Store) lockIndex() (unlock func(), err error) {
	return atomicfile.Lock(filepath.Join(s.root, "index.lock"), true)
}

// Use keeps the store's content from being garbage-collected until the
// returned function is called: hold it from looking an image up until a
// container that uses the image has been recorded.
func (s *Store) Use() (release func(), err error) { return s.lockUse(false) }

// lockUse is held shared while content is being added or used, and
// exclusively by garbage collection, so nothing is collected mid-pull.
func (s *Store) lockUse(exclusive bool) (unlock func(), err error) {
	return atomicfile.Lock(filepath.Join(s.root, "gc.lock"), exclusive)
}

func (s *Store) readIndex() (*v1.IndexManifest, error) {
	data, err := os.ReadFile(filepath.Join(s.images, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the image index: %w", err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading the image index %s: %w", filepath.Join(s.images, "index.json"), err)
	}
	return idx, nil
}

// updateIndex applies fn to index.json under the index lock and writes the
// result atomically.
func (s *Store) updateIndex(fn func(*v1.IndexManifest) error) error {
	lock, err := s.lockIndex()
	if err != nil {
		return err
	}
	defer lock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.images, "index.json"), data, 0o644)
}

// setRef points the full reference name at the manifest desc, replacing
// whatever it named before.
func setRef(idx *v1.IndexManifest, refName string, desc v1.Descriptor) {
	ann := map[string]string{RefNameAnnotation: refName}
	if rd := desc.Annotations[repoDigestAnnotation]; rd != "" {
		ann[repoDigestAnnotation] = rd
	}
	desc.Annotations = ann
	desc.Platform = nil
	for i, d := range idx.Manifests {
		if d.Annotations[RefNameAnnotation] == refName {
			idx.Manifests[i] = desc
			return
		}
	}
	idx.Manifests = append(idx.Manifests, desc)
}

func (s *Store) blobPath(h v1.Hash) string {
	return filepath.Join(s.blobs, h.Hex)
}

func (s *Store) hasBlob(h v1.Hash, size int64) bool {
	fi, err := os.Stat(s.blobPath(h))
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

func (s *Store) readBlob(h v1.Hash) ([]byte, error) {
	data, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	return data, nil
}
