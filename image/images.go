package image

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Image is an image in the store: one manifest with its config, and the
// references that name it.
type Image struct {
	ID       v1.Hash       // the config digest, as Docker's image ID
	Manifest v1.Descriptor // the stored manifest
	// Names are the full references naming this image (repo:tag, or
	// repo@digest for images pulled by digest), sorted.
	Names []string
	// RepoDigests are repo@digest of the manifest (or index) each
	// repository knows the image by.
	RepoDigests []string
	Config      *v1.ConfigFile
	// Size is the image's unpacked size in bytes, as `docker images` shows.
	// (The uncompressed tar size of its layers.)
	Size int64
	// Intermediate: a build step's image (its untagged index entry says
	// so), hidden from `hako images` without -a.
	Intermediate bool
	store        *Store
	man          *v1.Manifest
}

// Layers returns the extracted layer directories of the image, bottom
// layer first, ready to stack as overlay lower directories.
func (img *Image) LayerDirs() []string {
	chain := ChainIDs(img.Config.RootFS.DiffIDs)
	dirs := make([]string, len(chain))
	for i, c := range chain {
		dirs[i] = img.store.LayerDir(c)
	}
	return dirs
}

// ChainIDs returns the chain IDs of the image's layers, bottom first.
func (img *Image) ChainIDs() []v1.Hash { return ChainIDs(img.Config.RootFS.DiffIDs) }

// Tags are the repo:tag names of the image (digest-only names left out).
func (img *Image) Tags() []string {
	var tags []string
	for _, n := range img.Names {
		if !strings.Contains(n, "@") {
			tags = append(tags, n)
		}
	}
	return tags
}

// List returns every image in the store, newest first.
func (s *Store) List() ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	return s.list(idx, nil)
}

// list loads the images of idx whose manifest keep accepts (all with a nil
// keep), newest first. Only kept manifests and configs are read.
func (s *Store) list(idx *v1.IndexManifest, keep func(v1.Hash) bool) ([]*Image, error) {
	byManifest := map[string]*Image{}
	var out []*Image
	var err error
	for _, d := range idx.Manifests {
		if keep != nil && !keep(d.Digest) {
			continue
		}
		refName := d.Annotations[RefNameAnnotation]
		img, ok := byManifest[d.Digest.String()]
		if !ok {
			img, err = s.loadImage(d)
			if errors.Is(err, fs.ErrNotExist) {
				// Its blobs are gone (a power cut before they were durable):
				// not an image any more; the next GC drops the entry.
				s.debugf("index entry %s names a missing blob: skipped (%v)", d.Digest, err)
				continue
			}
			if err != nil {
				return nil, err
			}
			byManifest[d.Digest.String()] = img
			out = append(out, img)
		}
		if d.Annotations[IntermediateAnnotation] == "true" {
			img.Intermediate = true
		}
		if refName != "" {
			img.Names = append(img.Names, refName)
			if ref, err := name.ParseReference(refName, name.WeakValidation); err == nil {
				rd := d.Annotations[repoDigestAnnotation]
				if rd == "" {
					rd = d.Digest.String()
				}
				img.RepoDigests = appendUnique(img.RepoDigests, repoName(ref.Context())+"@"+rd)
			}
		}
	}
	for _, img := range out {
		sort.Strings(img.Names)
		sort.Strings(img.RepoDigests)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Config.Created.After(out[j].Config.Created.Time) })
	return out, nil
}

func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// loadImage reads a manifest and its config from the blob store.
func (s *Store) loadImage(d v1.Descriptor) (*Image, error) {
	raw, err := s.readBlob(d.Digest)
	if err != nil {
		return nil, err
	}
	man, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", d.Digest, err)
	}
	rawCfg, err := s.readBlob(man.Config.Digest)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("reading image config %s: %w", man.Config.Digest, err)
	}
	img := &Image{ID: man.Config.Digest, Manifest: d, Config: cfg, store: s, man: man}
	img.Manifest.Annotations = nil
	chain := ChainIDs(cfg.RootFS.DiffIDs)
	for i, l := range man.Layers {
		size := int64(-1)
		if i < len(chain) {
			size = s.layerSize(chain[i])
		}
		if size < 0 {
			size = l.Size // not extracted here: the compressed size is what we know
		}
		img.Size += size
	}
	return img, nil
}

// Get finds the image a user means: a reference (busybox, busybox:1.36,
// repo@sha256:…), a full image ID (sha256:…) or a unique prefix of one.
func (s *Store) Get(nameOrID string) (*Image, error) {
	start := time.Now()
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	img, err := s.get(idx, nameOrID)
	if err == nil {
		s.debugf("image %s is %s (lookup %s)", nameOrID, img.ID, time.Since(start).Round(time.Microsecond))
	}
	return img, err
}

func (s *Store) get(idx *v1.IndexManifest, nameOrID string) (*Image, error) {
	// The common case, a name the index holds, reads one manifest and one
	// config instead of every image's.
	if d, ok := namedManifest(idx, nameOrID, s.Insecure); ok {
		imgs, err := s.list(idx, func(h v1.Hash) bool { return h == d })
		if err != nil {
			return nil, err
		}
		return imgs[0], nil
	}
	all, err := s.list(idx, nil)
	if err != nil {
		return nil, err
	}
	return find(all, nameOrID, s.Insecure)
}

// namedManifest returns the manifest digest of the one index entry whose
// reference name is nameOrID's full name.
func namedManifest(idx *v1.IndexManifest, nameOrID string, insecure []string) (v1.Hash, bool) {
	ref, err := ParseReference(nameOrID, insecure...)
	if err != nil {
		return v1.Hash{}, false
	}
	full := FullName(ref)
	var found v1.Hash
	n := 0
	for _, d := range idx.Manifests {
		if d.Annotations[RefNameAnnotation] == full {
			if n > 0 && d.Digest != found {
				return v1.Hash{}, false // two images by one name: let find decide
			}
			found, n = d.Digest, n+1
		}
	}
	return found, n > 0
}

func find(all []*Image, nameOrID string, insecure []string) (*Image, error) {
	if ref, err := ParseReference(nameOrID, insecure...); err == nil {
		full := FullName(ref)
		for _, img := range all {
			for _, n := range img.Names {
				if n == full {
					return img, nil
				}
			}
			// repo@digest also finds an image stored under a tag of repo.
			if dig, ok := ref.(name.Digest); ok {
				for _, rd := range img.RepoDigests {
					if rd == repoName(dig.Context())+"@"+dig.DigestStr() {
						return img, nil
					}
				}
			}
		}
	}
	id := strings.TrimPrefix(nameOrID, "sha256:")
	if isHexPrefix(id) {
		var match *Image
		for _, img := range all {
			if strings.HasPrefix(img.ID.Hex, id) {
				if match != nil && match.ID != img.ID {
					return nil, fmt.Errorf("image ID prefix %q is ambiguous: give more digits", nameOrID)
				}
				match = img
			}
		}
		if match != nil {
			return match, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, nameOrID)
}

func isHexPrefix(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}
