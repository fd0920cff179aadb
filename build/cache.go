package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/internal/atomicfile"
)

// cacheDir holds the build cache under the store's root: one file per
// step, named by its key (the hash of parent image ID, resolved
// instruction and input content), holding the image ID the step made.
// Each file is written whole (atomicfile.Write: temp, fsync, rename), so
// no lock is needed: a reader sees an old entry, a new one or none, and two
// builds writing one key write equally valid IDs. An entry whose image was
// removed (rmi, prune) is a miss; the image itself is held against garbage
// collection by the build's shared gc.lock while the build runs.
const cacheDir = "build-cache"

type cache struct{ dir string }

// get returns the image a step with this key made, or nil.
func (c *cache) get(s *image.Store, key string) *image.Image {
	raw, err := os.ReadFile(filepath.Join(c.dir, key))
	if err != nil {
		return nil
	}
	id, err := v1.NewHash(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil
	}
	img, err := s.Get(id.String())
	if err != nil || img.ID != id {
		return nil
	}
	return img
}

// put records the image a step made.
func (c *cache) put(key string, id v1.Hash) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	if key == "" {
		return errors.New("empty cache key")
	}
	return atomicfile.Write(filepath.Join(c.dir, key), []byte(id.String()+"\n"), 0o600)
}
