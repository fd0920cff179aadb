package image

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Status values of a push's Events, Docker's words.
const (
	StatusPreparing = "Preparing"
	StatusPushing   = "Pushing"
	StatusPushed    = "Pushed"
	StatusHasLayer  = "Layer already exists"
)

// PushResult tells what a push wrote.
type PushResult struct {
	Repo   string  // the repository as Docker names it in "The push refers to …"
	Tag    string  // the tag pushed
	Digest v1.Hash // the manifest's digest, the same as the stored one
	Size   int64   // the manifest's size
}

// maxUploads bounds concurrent layer uploads.
const maxUploads = 3

// PushRepo is the repository a push of refStr goes to, as Docker shows it.
func (s *Store) PushRepo(refStr string) (string, error) {
	ref, err := ParseReference(refStr, s.Insecure...)
	if err != nil {
		return "", err
	}
	return repoName(ref.Context()), nil
}

// Push uploads the image tagged refStr to its registry: the stored
// manifest and compressed blobs byte for byte, so the digest is the one
// the image was pulled or made with. Blobs the registry has are skipped;
// a blob of an image pulled from another repository of the same registry
// is mounted from there where the registry allows it.
func (s *Store) Push(ctx context.Context, refStr string, progress Progress) (*PushResult, error) {
	if progress == nil {
		progress = func(Event) {}
	}
	ref, err := ParseReference(refStr, s.Insecure...)
	if err != nil {
		return nil, err
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return nil, fmt.Errorf("cannot push %s: push a tag, not a digest", refStr)
	}
	use, err := s.lockUse(false)
	if err != nil {
		return nil, err
	}
	defer use()
	stored, err := s.Get(FullName(tag))
	if err != nil || !contains(stored.Names, FullName(tag)) {
		return nil, fmt.Errorf("An image does not exist locally with the tag: %s", FamiliarName(tag))
	}
	img, err := layout.Path(s.images).Image(stored.Manifest.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading %s from the store: %w", FamiliarName(tag), err)
	}
	ropts, err := s.remoteOptions(tag.Context())
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(append(ropts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading %s's layers: %w", FamiliarName(tag), err)
	}
	mountFrom := s.mountSource(stored, tag.Context())
	for i := len(layers) - 1; i >= 0; i-- {
		d, err := layers[i].Digest()
		if err != nil {
			return nil, err
		}
		size, err := layers[i].Size()
		if err != nil {
			return nil, err
		}
		progress(Event{Layer: shortID(d), Status: StatusPreparing, Total: size})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxUploads)
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		size, err := l.Size()
		if err != nil {
			return nil, err
		}
		if !s.hasBlob(d, size) {
			return nil, fmt.Errorf("layer %s of %s is not in the store", d, FamiliarName(tag))
		}
		id := shortID(d)
		cl := &countedLayer{Layer: l, onProgress: func(n int64) {
			progress(Event{Layer: id, Status: StatusPushing, Current: n, Total: size})
		}}
		var up v1.Layer = cl
		if mountFrom != nil {
			up = &remote.MountableLayer{Layer: cl, Reference: mountFrom}
		}
		g.Go(func() error {
			if err := pusher.Upload(gctx, tag.Context(), up); err != nil {
				return fmt.Errorf("pushing layer %s: %w", id, registryError(err))
			}
			status := StatusPushed
			if !cl.opened {
				status = StatusHasLayer
				s.debugf("layer %s: the registry has it (or mounted it from %v)", d, mountFrom)
			}
			progress(Event{Layer: id, Status: status, Current: size, Total: size})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// The layers are there now: Write uploads the config and puts the
	// stored manifest.
	if err := remote.Write(tag, img, remote.Reuse(pusher)); err != nil {
		return nil, fmt.Errorf("pushing %s: %w", FamiliarName(tag), registryError(err))
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	return &PushResult{Repo: repoName(tag.Context()), Tag: tag.TagStr(), Digest: stored.Manifest.Digest, Size: int64(len(raw))}, nil
}

// mountSource is another repository of the same registry that the image
// came from, whose blobs the registry may mount instead of receiving them.
func (s *Store) mountSource(img *Image, target name.Repository) name.Reference {
	for _, n := range append(append([]string{}, img.Names...), img.RepoDigests...) {
		ref, err := ParseReference(n, s.Insecure...)
		if err != nil {
			continue
		}
		if ref.Context().RegistryStr() == target.RegistryStr() && ref.Context().RepositoryStr() != target.RepositoryStr() {
			return ref
		}
	}
	return nil
}

// countedLayer reports the bytes of its compressed stream as they are
// read, and whether it was read at all (a blob the registry had is not).
type countedLayer struct {
	v1.Layer
	onProgress func(int64)
	opened     bool
}

func (l *countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	l.opened = true
	return &countedReadCloser{countingReader{r: rc, onProgress: l.onProgress}, rc}, nil
}

type countedReadCloser struct {
	countingReader
	io.Closer
}
