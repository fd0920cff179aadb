package image

import (
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image returns the stored image as a go-containerregistry image, whose
// blobs are read from the store as they are: digests stay the registry's.
func (img *Image) Image() (v1.Image, error) {
	return layout.Path(img.store.images).Image(img.Manifest.Digest)
}

// Save writes the named images as one docker-archive, as `docker save`
// does, readable by `docker load` and `podman load`. A reference names one
// tag; an image ID saves the image with all its tags.
func (s *Store) Save(w io.Writer, namesOrIDs []string) error {
	refs := map[name.Reference]v1.Image{}
	byDigest := map[v1.Hash]v1.Image{} // one object per image, so it is written once
	for _, n := range namesOrIDs {
		img, err := s.Get(n)
		if err != nil {
			return err
		}
		gimg, ok := byDigest[img.Manifest.Digest]
		if !ok {
			if gimg, err = img.Image(); err != nil {
				return fmt.Errorf("reading image %s: %w", n, err)
			}
			byDigest[img.Manifest.Digest] = gimg
		}
		var tags []string
		if ref, err := ParseReference(n, s.Insecure...); err == nil && contains(img.Names, FullName(ref)) {
			tags = []string{FullName(ref)}
		} else {
			tags = img.Tags()
		}
		if len(tags) == 0 {
			// Untagged: saved under its digest, loaded back without a tag.
			d, err := name.NewDigest("hako.invalid/untagged@" + img.Manifest.Digest.String())
			if err != nil {
				return err
			}
			refs[d] = gimg
			continue
		}
		for _, t := range tags {
			ref, err := ParseReference(t, s.Insecure...)
			if err != nil {
				return err
			}
			tag, ok := ref.(name.Tag)
			if !ok {
				continue // a digest name has no place in RepoTags
			}
			// RepoTags are written as Docker writes them (busybox:latest).
			familiar, err := name.NewTag(FamiliarName(tag), name.WeakValidation)
			if err != nil {
				return err
			}
			refs[familiar] = gimg
		}
	}
	if err := tarball.MultiRefWrite(refs, w); err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	return nil
}
