package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hako-run/hako/internal/atomicfile"
)

// Tag gives the image src the additional reference dst.
func (s *Store) Tag(src, dst string) error {
	img, err := s.Get(src)
	if err != nil {
		return err
	}
	ref, err := ParseReference(dst, s.Insecure...)
	if err != nil {
		return err
	}
	if strings.Contains(FullName(ref), "@") {
		return fmt.Errorf("refusing to create a tag with a digest reference %q: give a name:tag", dst)
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
	img, err := s.Get(nameOrID)
	if err != nil {
		return nil, err
	}
	res := &RemoveResult{}
	byName := false
	var drop []string
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
			return nil, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortID(img.ID))
		}
		drop = img.Names
	}
	deleting := len(drop) == len(img.Names)
	dangling := false // untagged but kept: a container still uses it
	if deleting && inUse != nil {
		used, err := inUse()
		if err != nil {
			return nil, err
		}
		if used[img.ID] {
			if !force || !byName {
				return nil, fmt.Errorf("conflict: unable to delete %s - image is being used by a container; remove the container first", shortID(img.ID))
			}
			deleting, dangling = false, true // Docker: untag, keep it as <none>
		}
	}
	if err := s.updateIndex(func(idx *v1.IndexManifest) error {
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
		return nil
	}); err != nil {
		return nil, err
	}
	for _, n := range drop {
		if ref, err := ParseReference(n, s.Insecure...); err == nil {
			res.Untagged = append(res.Untagged, FamiliarName(ref))
		}
	}
	if !deleting {
		return res, nil
	}
	res.Deleted = append(res.Deleted, img.ID.String())
	collected, err := s.GC(inUse)
	if err != nil {
		return res, err
	}
	res.Deleted = append(res.Deleted, collected...)
	return res, nil
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
	removeAbandoned(s.blobs)
	removeAbandoned(s.layers)
	removeAbandoned(s.tmp)

	keepBlobs := map[string]bool{}
	keepLayers := map[string]bool{}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	for _, d := range idx.Manifests {
		img, err := s.loadImage(d)
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
