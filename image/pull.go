package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
	"golang.org/x/sync/errgroup"
)

// Event reports progress of a pull or load, one layer at a time.
type Event struct {
	Layer   string // the layer blob's short digest
	Status  string // Docker's words: Waiting, Downloading, Verifying, Extracting, Pull complete, Already exists
	Current int64  // bytes done, while downloading
	Total   int64  // the layer blob's size
}

// Progress receives events; it is called from several goroutines at once.
type Progress func(Event)

// Status values of Event.
const (
	StatusWaiting     = "Waiting"
	StatusDownloading = "Downloading"
	StatusDownloaded  = "Download complete"
	StatusExtracting  = "Extracting"
	StatusComplete    = "Pull complete"
	StatusExists      = "Already exists"
)

// PullOptions tune Pull.
type PullOptions struct {
	// Platform to pick from a multi-platform image; nil means HostPlatform.
	Platform *v1.Platform
	Progress Progress
}

// PullResult tells what a pull stored.
type PullResult struct {
	Image *Image
	Name  string // the full reference stored
	// Digest is the registry's digest of what the reference named (the
	// index for a multi-platform image).
	Digest v1.Hash
	// Fresh is false when the store already had every blob and layer.
	Fresh bool
}

// maxDownloads bounds concurrent layer downloads: enough to fill a link,
// few enough that extraction of the lowest layers is not starved.
const maxDownloads = 3

// Pull fetches an image from its registry into the store, verifies every
// blob and layer, and tags it with its reference.
func (s *Store) Pull(ctx context.Context, refStr string, opts PullOptions) (*PullResult, error) {
	ref, err := ParseReference(refStr, s.Insecure...)
	if err != nil {
		return nil, err
	}
	ropts, err := s.remoteOptions(ref.Context())
	if err != nil {
		return nil, err
	}
	ropts = append(ropts, remote.WithContext(ctx), remote.WithJobs(maxDownloads+1))
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", FamiliarName(ref), registryError(err))
	}
	want := HostPlatform()
	if opts.Platform != nil {
		want = *opts.Platform
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", FamiliarName(ref), err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("pulling %s: reading the index: %w", FamiliarName(ref), err)
		}
		if isArtifactType(im.ArtifactType) {
			return nil, fmt.Errorf("pulling %s: %w", FamiliarName(ref), &NotRunnableError{Reason: "an index of OCI artifacts (artifactType " + im.ArtifactType + ")"})
		}
		images := runnableChildren(im)
		if len(images.Manifests) == 0 {
			return nil, fmt.Errorf("pulling %s: %w", FamiliarName(ref), &NotRunnableError{Reason: "the index holds only artifacts or attestations"})
		}
		child, err := chooseManifest(images, want)
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", FamiliarName(ref), err)
		}
		s.debugf("index %s offers %d manifests; for %s hako picks %s (%s)", desc.Digest, len(im.Manifests), PlatformString(want), child.Digest, PlatformString(*child.Platform))
		img, err = remote.Image(ref.Context().Digest(child.Digest.String()), ropts...)
		if err != nil {
			return nil, fmt.Errorf("pulling %s for %s: %w", FamiliarName(ref), PlatformString(*child.Platform), registryError(err))
		}
	} else {
		if img, err = desc.Image(); err != nil {
			return nil, fmt.Errorf("pulling %s: %w", FamiliarName(ref), err)
		}
	}

	use, err := s.lockUse(false)
	if err != nil {
		return nil, err
	}
	defer use()
	atomicfile.RemoveAbandoned(s.blobs)
	atomicfile.RemoveAbandoned(s.layers)

	manDesc, fresh, err := s.importImage(ctx, img, opts.Progress)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", FamiliarName(ref), err)
	}
	if desc.Digest != manDesc.Digest {
		manDesc.Annotations = map[string]string{repoDigestAnnotation: desc.Digest.String()}
	}
	full := FullName(ref)
	if err := s.updateIndex(func(idx *v1.IndexManifest) error {
		setRef(idx, full, manDesc)
		return nil
	}); err != nil {
		return nil, err
	}
	stored, err := s.Get(full)
	if err != nil {
		return nil, err
	}
	return &PullResult{Image: stored, Name: full, Digest: desc.Digest, Fresh: fresh}, nil
}

// importImage copies an image's blobs into the store and extracts its
// layers: downloads run concurrently while layers are extracted bottom-up
// as soon as each is complete. It returns the stored manifest's descriptor
// and whether anything had to be fetched.
func (s *Store) importImage(ctx context.Context, img v1.Image, progress Progress) (v1.Descriptor, bool, error) {
	if progress == nil {
		progress = func(Event) {}
	}
	parts, err := readImage(img)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	man, rawMan, rawCfg, diffIDs := parts.man, parts.rawMan, parts.rawCfg, parts.diffIDs
	chain := ChainIDs(diffIDs)

	// Each layer downloads (a few at a time), extracts into a temporary
	// directory (one per CPU at a time, in parallel), then waits for the
	// layer below it to be complete, takes its implied directories' metadata
	// from the lowers and is renamed into place, bottom-up.
	var fresh atomic.Bool
	below := make([]chan struct{}, len(man.Layers)) // closed when layer i is in place
	g, gctx := errgroup.WithContext(ctx)
	downloads := make(chan struct{}, maxDownloads)
	extractions := make(chan struct{}, goruntime.NumCPU())
	for i, ld := range man.Layers {
		below[i] = make(chan struct{})
		id := shortID(ld.Digest)
		if !s.hasBlob(ld.Digest, ld.Size) {
			fresh.Store(true)
			progress(Event{Layer: id, Status: StatusWaiting, Total: ld.Size})
		}
		g.Go(func() error {
			if !s.hasBlob(ld.Digest, ld.Size) {
				if err := acquire(gctx, downloads); err != nil {
					return err
				}
				start := time.Now()
				err := s.downloadLayer(gctx, img, ld, func(n int64) {
					progress(Event{Layer: id, Status: StatusDownloading, Current: n, Total: ld.Size})
				})
				<-downloads
				if err != nil {
					return err
				}
				s.debugf("layer %s: %d bytes (%s) downloaded and verified in %s", ld.Digest, ld.Size, ld.MediaType, time.Since(start).Round(time.Millisecond))
				progress(Event{Layer: id, Status: StatusDownloaded, Current: ld.Size, Total: ld.Size})
			}
			// vfs layers are built on the full tree below them: after it.
			flat := s.driver == rootfs.DriverVFS
			need := !s.hasLayer(chain[i])
			var x *extracted
			if need && !flat {
				fresh.Store(true)
				if err := acquire(gctx, extractions); err != nil {
					return err
				}
				progress(Event{Layer: id, Status: StatusExtracting, Total: ld.Size})
				start := time.Now()
				var err error
				x, err = s.extractBlob(gctx, ld.Digest, chain[i], diffIDs[i])
				<-extractions
				if err != nil {
					return err
				}
				defer os.RemoveAll(x.tmp) // if a lower layer fails
				s.debugf("layer %d/%d: diff ID %s verified, %d entries extracted in %s", i+1, len(man.Layers), diffIDs[i], x.res.Entries, time.Since(start).Round(time.Millisecond))
			}
			if i > 0 {
				select {
				case <-below[i-1]:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			switch {
			case !need:
				s.debugf("layer %d/%d: chain ID %s already extracted at %s", i+1, len(man.Layers), chain[i], s.LayerDir(chain[i]))
				progress(Event{Layer: id, Status: StatusExists, Total: ld.Size})
			case flat:
				fresh.Store(true)
				if err := s.pullFlat(gctx, i, len(man.Layers), ld, chain, diffIDs[i], progress); err != nil {
					return err
				}
			default:
				if err := s.commitLayer(x, chain[i], s.lowerDirs(chain[:i])); err != nil {
					return err
				}
				s.debugf("layer %d/%d: chain ID %s stacked at %s", i+1, len(man.Layers), chain[i], s.LayerDir(chain[i]))
				progress(Event{Layer: id, Status: StatusComplete, Total: ld.Size})
			}
			close(below[i])
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return v1.Descriptor{}, false, err
	}
	if _, err := s.writeBlobBytes(rawCfg); err != nil {
		return v1.Descriptor{}, false, err
	}
	manDigest, err := s.writeBlobBytes(rawMan)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	// The blobs' names must be durable before index.json names them.
	if err := atomicfile.SyncDir(s.blobs); err != nil {
		return v1.Descriptor{}, false, fmt.Errorf("syncing blobs: %w", err)
	}
	return v1.Descriptor{MediaType: parts.mediaType, Digest: manDigest, Size: int64(len(rawMan))}, fresh.Load(), nil
}

// imageParts is what importImage needs of an image, read and checked.
type imageParts struct {
	rawMan    []byte
	man       *v1.Manifest
	mediaType types.MediaType
	rawCfg    []byte
	diffIDs   []v1.Hash
}

// readImage reads an image's manifest and config and checks them: a
// manifest that is no image (an artifact) gives a *NotRunnableError; an
// image whose config does not match its manifest is broken.
func readImage(img v1.Image) (*imageParts, error) {
	rawMan, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	man, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("fetching image config: %w", registryError(err))
	}
	cfgDigest, _, err := v1.SHA256(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, err
	}
	if cfgDigest != man.Config.Digest {
		return nil, fmt.Errorf("image config hashes to %s, the manifest says %s", cfgDigest, man.Config.Digest)
	}
	if reason := notRunnable(man, rawCfg); reason != "" {
		return nil, &NotRunnableError{Reason: reason}
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(man.Layers) {
		return nil, fmt.Errorf("image has %d layers but its config lists %d diff IDs", len(man.Layers), len(cfg.RootFS.DiffIDs))
	}
	return &imageParts{rawMan: rawMan, man: man, mediaType: mt, rawCfg: rawCfg, diffIDs: cfg.RootFS.DiffIDs}, nil
}

// downloadAttempts is how often a layer download that broke off is started
// again: go-containerregistry retries requests, not a body cut mid-way.
const downloadAttempts = 3

// downloadLayer stores one compressed layer blob, verified by digest.
func (s *Store) downloadLayer(ctx context.Context, img v1.Image, ld v1.Descriptor, onProgress func(int64)) error {
	var err error
	for attempt := 1; attempt <= downloadAttempts; attempt++ {
		if err = s.downloadLayerOnce(ctx, img, ld, onProgress); err == nil || ctx.Err() != nil || errors.Is(err, errCorrupt) {
			return err
		}
		s.debugf("layer %s: download attempt %d failed: %v", ld.Digest, attempt, err)
	}
	return err
}

func (s *Store) downloadLayerOnce(ctx context.Context, img v1.Image, ld v1.Descriptor, onProgress func(int64)) error {
	layer, err := img.LayerByDigest(ld.Digest)
	if err != nil {
		return fmt.Errorf("layer %s: %w", shortID(ld.Digest), err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return fmt.Errorf("downloading layer %s: %w", shortID(ld.Digest), registryError(err))
	}
	defer rc.Close()
	// When another layer fails, stop this download at once rather than
	// wait for the whole body (or forever, on a stalled connection).
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	err = s.writeBlob(ld.Digest, ld.Size, &countingReader{r: rc, onProgress: onProgress})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// extractBlob extracts a stored layer blob into a temporary directory.
func (s *Store) extractBlob(ctx context.Context, blob, chainID, diffID v1.Hash) (*extracted, error) {
	f, err := os.Open(s.blobPath(blob))
	if err != nil {
		return nil, fmt.Errorf("opening layer blob: %w", err)
	}
	defer f.Close()
	return s.extractTemp(ctx, chainID, diffID, f)
}

// lowerDirs are the directories of the layers with these chain IDs
// (bottom first), nearest first as overlay and extraction want them.
func (s *Store) lowerDirs(chain []v1.Hash) []string {
	dirs := make([]string, len(chain))
	for i, c := range chain {
		dirs[len(chain)-1-i] = s.LayerDir(c)
	}
	return dirs
}

// acquire takes a slot of a semaphore, or gives up when ctx ends.
func acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// countingReader reports the bytes read so far, at most every 256 KiB.
type countingReader struct {
	r          io.Reader
	n, last    int64
	onProgress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n-c.last >= 256<<10 || (err != nil && c.n != c.last) {
		c.last = c.n
		c.onProgress(c.n)
	}
	return n, err
}
