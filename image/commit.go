package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
	"github.com/klauspost/compress/gzip"
)

// CommitOptions describe an image made from a parent image and one new layer.
type CommitOptions struct {
	Parent    v1.Hash  // the image ID the layer goes on; zero for a first layer (import)
	Ref       string   // the name to give it; "" leaves it untagged
	Author    string   // -a
	Comment   string   // -m
	CreatedBy string   // the history entry's "created by"
	Changes   []string // -c instructions
	// Container, when set, replaces the parent's command, environment and
	// working directory before the changes apply, as Docker's commit
	// takes them from the container.
	Container *ContainerConfig
	// Diff writes the new layer as an uncompressed tar. nil adds no layer:
	// the history entry is marked empty_layer (hako build's metadata steps).
	Diff func(io.Writer) error
	// Edit, when set, changes the new image's config last (hako build).
	Edit func(*v1.ConfigFile) error
	// Intermediate marks an untagged image as a build step's
	// (IntermediateAnnotation): `hako images` lists it only with -a.
	Intermediate bool
}

// IntermediateAnnotation marks the index entry of a build step's image.
const IntermediateAnnotation = "io.hako.build.intermediate"

// ContainerConfig is the part of a container's config a commit keeps.
type ContainerConfig struct {
	Entrypoint, Cmd, Env []string
	WorkingDir           string
}

// Commit adds an image: the parent's layers plus the layer Diff writes
// (gzipped without a timestamp, so the same diff gives the same digest),
// a config with the changes applied and a history entry, and a manifest of
// the parent's kind (OCI or Docker). It returns the new image.
func (s *Store) Commit(ctx context.Context, o CommitOptions) (*Image, error) {
	full := ""
	if o.Ref != "" {
		ref, err := ParseReference(o.Ref, s.Insecure...)
		if err != nil {
			return nil, err
		}
		full = FullName(ref)
	}
	use, err := s.lockUse(false)
	if err != nil {
		return nil, err
	}
	defer use()
	// A deep copy of the parent's config to change, or a new one.
	var cfg v1.ConfigFile
	var parentLayers []v1.Descriptor
	manType := types.DockerManifestSchema2
	if o.Parent == (v1.Hash{}) {
		p := HostPlatform()
		cfg = v1.ConfigFile{Architecture: p.Architecture, Variant: p.Variant, OS: p.OS, RootFS: v1.RootFS{Type: "layers"}}
	} else {
		parent, err := s.Get(o.Parent.String())
		if err != nil {
			return nil, fmt.Errorf("the container's image %s: %w", o.Parent, err)
		}
		if raw, err := json.Marshal(parent.Config); err != nil {
			return nil, err
		} else if err := json.Unmarshal(raw, &cfg); err != nil {
			return nil, err
		}
		parentLayers, manType = parent.man.Layers, parent.Manifest.MediaType
	}
	if c := o.Container; c != nil {
		cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.Config.Env, cfg.Config.WorkingDir = c.Entrypoint, c.Cmd, c.Env, c.WorkingDir
	}
	if err := ApplyChanges(&cfg.Config, o.Changes); err != nil {
		return nil, err
	}

	if o.Edit != nil {
		if err := o.Edit(&cfg); err != nil {
			return nil, err
		}
	}

	diffIDs := cfg.RootFS.DiffIDs
	var newLayers []v1.Descriptor
	if o.Diff != nil {
		blob, size, diffID, err := s.writeLayerBlob(o.Diff)
		if err != nil {
			return nil, err
		}
		diffIDs = append(diffIDs, diffID)
		chain := ChainIDs(diffIDs)
		top := chain[len(chain)-1]
		if !s.hasLayer(top) && s.driver == rootfs.DriverVFS {
			var parent *v1.Hash
			if len(chain) > 1 {
				parent = &chain[len(chain)-2]
			}
			if _, err := s.extractFlat(ctx, blob, top, diffID, parent); err != nil {
				return nil, err
			}
		} else if !s.hasLayer(top) {
			x, err := s.extractBlob(ctx, blob, top, diffID)
			if err != nil {
				return nil, err
			}
			if err := s.commitLayer(x, top, s.lowerDirs(chain[:len(chain)-1])); err != nil {
				return nil, err
			}
		}
		newLayers = append(newLayers, v1.Descriptor{Digest: blob, Size: size})
	}

	now := time.Now().UTC()
	cfg.Created = v1.Time{Time: now}
	cfg.Author = o.Author
	cfg.RootFS.DiffIDs = diffIDs
	cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: now}, Author: o.Author, CreatedBy: o.CreatedBy, Comment: o.Comment, EmptyLayer: o.Diff == nil})
	rawCfg, err := json.Marshal(&cfg)
	if err != nil {
		return nil, err
	}
	cfgDigest, err := s.writeBlobBytes(rawCfg)
	if err != nil {
		return nil, err
	}

	man := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2, Layers: append([]v1.Descriptor{}, parentLayers...)}
	cfgType, layerType := types.DockerConfigJSON, types.DockerLayer
	if manType == types.OCIManifestSchema1 {
		man.MediaType, cfgType, layerType = types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer
	}
	man.Config = v1.Descriptor{MediaType: cfgType, Digest: cfgDigest, Size: int64(len(rawCfg))}
	for _, l := range newLayers {
		l.MediaType = layerType
		man.Layers = append(man.Layers, l)
	}
	rawMan, err := json.Marshal(&man)
	if err != nil {
		return nil, err
	}
	manDigest, err := s.writeBlobBytes(rawMan)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(s.blobs); err != nil {
		return nil, fmt.Errorf("syncing blobs: %w", err)
	}
	desc := v1.Descriptor{MediaType: man.MediaType, Digest: manDigest, Size: int64(len(rawMan))}
	if err := s.updateIndex(func(idx *v1.IndexManifest) error {
		if full != "" {
			setRef(idx, full, desc)
			return nil
		}
		for _, d := range idx.Manifests {
			if d.Digest == manDigest {
				return nil
			}
		}
		if o.Intermediate {
			desc.Annotations = map[string]string{IntermediateAnnotation: "true"}
		}
		idx.Manifests = append(idx.Manifests, desc) // untagged, as Docker's <none>
		return nil
	}); err != nil {
		return nil, err
	}
	return s.Get(cfgDigest.String())
}

// writeLayerBlob gzips what diff writes into the blob store and returns
// the blob's digest and size and the layer's diff ID.
func (s *Store) writeLayerBlob(diff func(io.Writer) error) (blob v1.Hash, size int64, diffID v1.Hash, err error) {
	f, err := os.OpenFile(atomicfile.TmpName(s.tmp, "layer"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return blob, 0, diffID, fmt.Errorf("creating layer file: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	compressed := sha256.New()
	uncompressed := sha256.New()
	// No name and no time in the gzip header: the digest depends on the
	// content alone.
	zw, _ := gzip.NewWriterLevel(io.MultiWriter(f, compressed), gzip.DefaultCompression)
	pr, pw := io.Pipe()
	// Wait for diff to return whatever happens here: it may have a running
	// container frozen until then (commit), and must thaw it before hako
	// exits.
	done := make(chan struct{})
	go func() { defer close(done); pw.CloseWithError(diff(pw)) }()
	defer func() { <-done }()
	if _, err := io.Copy(io.MultiWriter(zw, uncompressed), pr); err != nil {
		pr.CloseWithError(err)
		return blob, 0, diffID, err
	}
	if err := zw.Close(); err != nil {
		return blob, 0, diffID, err
	}
	blob = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(compressed.Sum(nil))}
	diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(uncompressed.Sum(nil))}
	if size, err = f.Seek(0, io.SeekCurrent); err != nil {
		return blob, 0, diffID, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return blob, 0, diffID, err
	}
	if !s.hasBlob(blob, size) {
		if err := s.writeBlob(blob, size, f); err != nil {
			return blob, 0, diffID, err
		}
	}
	return blob, size, diffID, nil
}

// KeepVisible drops the intermediate mark of the image id (a build's
// result), so that `hako images` lists it even untagged, as Docker lists
// a build's untagged result as <none>.
func (s *Store) KeepVisible(id v1.Hash) error {
	img, err := s.Get(id.String())
	if err != nil {
		return err
	}
	return s.updateIndex(func(idx *v1.IndexManifest) error {
		for i, d := range idx.Manifests {
			if d.Digest == img.Manifest.Digest && d.Annotations[IntermediateAnnotation] != "" {
				delete(idx.Manifests[i].Annotations, IntermediateAnnotation)
				if len(idx.Manifests[i].Annotations) == 0 {
					idx.Manifests[i].Annotations = nil
				}
			}
		}
		return nil
	})
}
