package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hako-run/hako/internal/atomicfile"
)

// Tag gives the image src the additional reference dst.
func (s *Store) Tag(src, dst string) error {
	ref, err := ParseReference(dst, s.Insecure...)
	if err != nil {
		return err
	}
	if strings.Contains(FullName(ref), "@") {
		return fmt.Errorf("refusing to create a tag with a digest reference %q: give a name:tag", dst)
	}
	// Held so that no garbage collection removes the image between the
	// lookup and the new index entry.
	release, err := s.lockUse(false)
	if err != nil {
		return err
	}
	defer release()
	img, err := s.Get(src)
	if err != nil {
		return err
	}
	return s.updateIndex(func(idx *v1.IndexManifest) error {
		setRef(idx, FullName(ref), img.Manifest)
		return nil
	})
}

// RemoveResult lists what Remove did, in Docker's words.
type RemoveResult struct {
	Untagged []string // familiar names
	Deleted  []string // image ID and layer chain IDs (sha256:…)
}

// InUse, when set, returns the image IDs that containers still use; such
// images are not deleted (nor their layers collected).
type InUse func() (map[v1.Hash]bool, error)

// Remove untags the image named by nameOrID and deletes it when no name is
// left (Docker's rmi). An image ID with names in several repositories needs
// force. Blobs and layer directories nothing uses any more are collected.
func (s *Store) Remove(nameOrID string, force bool, inUse InUse) (*RemoveResult, error) {
	if _, err := s.Get(nameOrID); err != nil {
		return nil, err // before asking about containers: the usual error first
	}
	used := map[v1.Hash]bool{}
	if inUse != nil {
		var err error
		if used, err = inUse(); err != nil {
			return nil, err
		}
	}
	res := &RemoveResult{}
	var deleted *Image
	// Decide on the index as it is under the lock: a tag a concurrent pull
	// or tag just added to the same image must not vanish with this one.
	err := s.updateIndex(func(idx *v1.IndexManifest) error {
		all, err := s.list(idx, nil)
		if err != nil {
			return err
		}
		img, err := find(all, nameOrID, s.Insecure)
		if err != nil {
			return err
		}
		drop, dangling, err := s.removal(img, nameOrID, force, used[img.ID])
		if err != nil {
			return err
		}
		deleting := len(drop) == len(img.Names) && !dangling
		kept := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			gone := contains(drop, d.Annotations[RefNameAnnotation]) ||
				(deleting && d.Digest == img.Manifest.Digest) // untagged entries too
			if !gone {
				kept = append(kept, d)
			}
		}
		if dangling {
			unnamed := img.Manifest
			unnamed.Annotations = nil
			kept = append(kept, unnamed)
		}
		idx.Manifests = kept
		for _, n := range drop {
			if ref, err := ParseReference(n, s.Insecure...); err == nil {
				res.Untagged = append(res.Untagged, FamiliarName(ref))
			}
		}
		if deleting {
			deleted = img
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if deleted == nil {
		return res, nil
	}
	res.Deleted = append(res.Deleted, deleted.ID.String())
	collected, err := s.GC(inUse)
	if err != nil {
		return res, err
	}
	res.Deleted = append(res.Deleted, collected...)
	return res, nil
}

// removal decides, as Docker's rmi does, which names of img go when the
// user removes nameOrID, and whether the image stays behind untagged
// (dangling) because a container uses it.
func (s *Store) removal(img *Image, nameOrID string, force, inUse bool) (drop []string, dangling bool, err error) {
	byName := false
	if ref, err := ParseReference(nameOrID, s.Insecure...); err == nil && contains(img.Names, FullName(ref)) {
		byName = true
		drop = []string{FullName(ref)}
		otherTags := 0
		for _, n := range img.Tags() {
			if n != FullName(ref) {
				otherTags++
			}
		}
		if otherTags == 0 { // the last tag: names by digest and the image go too
			drop = img.Names
		}
	}
	if !byName {
		if repos := repositories(img.Names); len(repos) > 1 && !force {
			return nil, false, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortID(img.ID))
		}
		drop = img.Names
	}
	if len(drop) == len(img.Names) && inUse {
		if !force || !byName {
			return nil, false, fmt.Errorf("conflict: unable to delete %s - image is being used by a container; remove the container first", shortID(img.ID))
		}
		return drop, true, nil // Docker: untag, keep it as <none>
	}
	return drop, false, nil
}

func repositories(names []string) map[string]bool {
	repos := map[string]bool{}
	for _, n := range names {
		if i := strings.LastIndexAny(n, "@:"); i > strings.LastIndex(n, "/") {
			n = n[:i]
		}
		repos[n] = true
	}
	return repos
}

// GC deletes blobs and layer directories that no image in the index (and no
// image a container uses) refers to, and leftovers of killed commands. It
// returns the chain IDs of the layers it deleted.
func (s *Store) GC(inUse InUse) ([]string, error) {
	lock, err := s.lockUse(true)
	if err != nil {
		return nil, err
	}
	defer lock()
	atomicfile.RemoveAbandoned(s.blobs)
	atomicfile.RemoveAbandoned(s.layers)
	atomicfile.RemoveAbandoned(s.tmp)

	keepBlobs := map[string]bool{}
	keepLayers := map[string]bool{}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var broken []v1.Hash
	for _, d := range idx.Manifests {
		img, err := s.loadImage(d)
		if errors.Is(err, os.ErrNotExist) {
			broken = append(broken, d.Digest)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("collecting garbage: %w", err)
		}
		keepBlobs[d.Digest.Hex] = true
		keepBlobs[img.ID.Hex] = true
		for _, l := range img.man.Layers {
			keepBlobs[l.Digest.Hex] = true
		}
		for _, c := range img.ChainIDs() {
			keepLayers[c.Hex] = true
		}
	}
	if len(broken) > 0 {
		// Entries whose blobs a power cut lost name nothing: drop them.
		if err := s.updateIndex(func(idx *v1.IndexManifest) error {
			kept := idx.Manifests[:0]
			for _, d := range idx.Manifests {
				if !slices.Contains(broken, d.Digest) {
					kept = append(kept, d)
				}
			}
			idx.Manifests = kept
			return nil
		}); err != nil {
			return nil, err
		}
	}
	// Images containers use stay whole even when untagged: their blobs are
	// kept by the config digests the containers record.
	if inUse != nil {
		used, err := inUse()
		if err != nil {
			return nil, err
		}
		if err := s.keepUsed(used, keepBlobs, keepLayers); err != nil {
			return nil, err
		}
	}
	var deleted []string
	layers, err := os.ReadDir(s.layers)
	if err != nil {
		return nil, err
	}
	for _, e := range layers {
		if strings.HasPrefix(e.Name(), ".") || keepLayers[e.Name()] {
			continue
		}
		if err := s.removeLayerDir(e.Name()); err != nil {
			return deleted, fmt.Errorf("removing layer %s: %w", e.Name(), err)
		}
		deleted = append(deleted, "sha256:"+e.Name())
	}
	sizes, _ := os.ReadDir(s.sizesDir())
	for _, e := range sizes {
		if !keepLayers[e.Name()] {
			os.Remove(filepath.Join(s.sizesDir(), e.Name()))
		}
	}
	blobs, err := os.ReadDir(s.blobs)
	if err != nil {
		return nil, err
	}
	for _, e := range blobs {
		if strings.HasPrefix(e.Name(), atomicfile.TmpPrefix) || keepBlobs[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(s.blobs, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return deleted, fmt.Errorf("removing blob %s: %w", e.Name(), err)
		}
	}
	return deleted, nil
}

// keepUsed marks what images in use (by config digest) need, finding their
// manifests among all stored manifest blobs.
func (s *Store) keepUsed(used map[v1.Hash]bool, keepBlobs, keepLayers map[string]bool) error {
	if len(used) == 0 {
		return nil
	}
	blobs, err := os.ReadDir(s.blobs)
	if err != nil {
		return err
	}
	for _, e := range blobs {
		fi, err := e.Info()
		if err != nil || fi.Size() > 1<<20 || strings.HasPrefix(e.Name(), atomicfile.TmpPrefix) {
			continue
		}
		h := v1.Hash{Algorithm: "sha256", Hex: e.Name()}
		img, err := s.loadImage(v1.Descriptor{Digest: h})
		if err != nil || !used[img.ID] {
			continue
		}
		keepBlobs[h.Hex] = true
		keepBlobs[img.ID.Hex] = true
		for _, l := range img.man.Layers {
			keepBlobs[l.Digest.Hex] = true
		}
		for _, c := range img.ChainIDs() {
			keepLayers[c.Hex] = true
		}
	}
	return nil
}
