package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
)

// driverFile (ROOT/storage-driver) records the storage driver the root was
// set up with: its layer directories are in that driver's format, so every
// later command uses the same one.
const driverFile = "storage-driver"

// Layer areas of the drivers: overlay's layers/<chainid> hold one layer
// each, vfs/<chainid> the full tree of the chain up to that layer.
var driverLayers = map[string]string{rootfs.DriverOverlay: "layers", rootfs.DriverVFS: "vfs"}

// Driver is the store's storage driver: rootfs.DriverOverlay or
// rootfs.DriverVFS.
func (s *Store) Driver() string { return s.driver }

// DriverFor is the storage driver a store opened at root with want would
// use, found without creating or recording anything (hako info): the
// root's record, else want, else overlay when overlayOK (a probe's verdict
// on root) and vfs when not.
func DriverFor(root, want string, overlayOK bool) (string, error) {
	s := &Store{root: root}
	recorded, err := s.recordedDriver()
	switch {
	case err != nil:
		return "", err
	case recorded != "":
		return recorded, nil
	case want != "":
		return want, nil
	case overlayOK:
		return rootfs.DriverOverlay, nil
	}
	return rootfs.DriverVFS, nil
}

// chooseDriver decides the store's driver: the one the root recorded, else
// want, else overlay where the root can hold overlay upper dirs (a real
// probe mount) and vfs where it cannot, with a Notice saying so. The
// choice is recorded. A want that differs from the record is refused: the
// layers on disk are in the recorded driver's format.
func (s *Store) chooseDriver(want string) error {
	if want != "" && !rootfs.ValidDriver(want) {
		return fmt.Errorf("unknown storage driver %q: use overlay or vfs", want)
	}
	recorded, err := s.recordedDriver()
	if err != nil || recorded == "" {
		var unlock func()
		if unlock, err = s.lockIndex(); err != nil {
			return err
		}
		defer unlock()
		recorded, err = s.recordedDriver() // another process may have chosen meanwhile
	}
	if err != nil {
		return err
	}
	switch {
	case recorded != "" && want != "" && want != recorded:
		return fmt.Errorf("the storage root %s was set up with the %s storage driver, not %s: drop --storage-driver (and storage-driver from %s), or give another --root", s.root, recorded, want, ConfigFile)
	case recorded != "":
		s.driver = recorded
		return nil
	case want != "":
		s.driver = want
	default:
		start := time.Now()
		if perr := rootfs.ProbeOverlay(s.root); perr != nil {
			s.driver = rootfs.DriverVFS
			s.Notice = fmt.Sprintf("the storage root %s cannot hold overlay upper dirs (%v): using the vfs storage driver, which copies each layer and container in full", s.root, perr)
		} else {
			s.driver = rootfs.DriverOverlay
		}
		s.debugf("storage driver: %s, chosen by an overlay probe of %s in %s", s.driver, s.root, time.Since(start).Round(time.Millisecond))
	}
	return atomicfile.Write(filepath.Join(s.root, driverFile), []byte(s.driver+"\n"), 0o644)
}

// recordedDriver reads ROOT/storage-driver ("" when the root has none yet).
func (s *Store) recordedDriver() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.root, driverFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the storage driver: %w", err)
	}
	d := strings.TrimSpace(string(b))
	if !rootfs.ValidDriver(d) {
		return "", fmt.Errorf("%s names an unknown storage driver %q", filepath.Join(s.root, driverFile), d)
	}
	return d, nil
}

// extractFlat stores the vfs layer chainID: a copy of the full tree of the
// layer below (parent; none for the bottom layer) with the layer blob
// applied flat, checked against diffID, synced, then renamed into place
// from a .tmp-<pid>-… name. Another process that got there first wins.
func (s *Store) extractFlat(ctx context.Context, blob, chainID, diffID v1.Hash, parent *v1.Hash) (rootfs.ApplyResult, error) {
	s.spreadLayers()
	tmp := atomicfile.TmpName(s.layers, chainID.Hex[:12])
	defer os.RemoveAll(tmp) // gone after our rename; left over if we failed or lost
	res, err := s.applyFlat(ctx, tmp, blob, diffID, parent)
	if err != nil {
		return res, fmt.Errorf("extracting layer %s: %w", shortID(diffID), err)
	}
	err = s.writeLayerSize(chainID, res.Size)
	if err == nil {
		err = os.Rename(tmp, s.LayerDir(chainID))
		if err != nil && s.hasLayer(chainID) {
			err = nil // a concurrent pull stored it first
		}
	}
	if err == nil {
		err = atomicfile.SyncDir(s.layers)
	}
	if err != nil {
		return res, fmt.Errorf("storing layer %s: %w", shortID(chainID), err)
	}
	return res, nil
}

func (s *Store) applyFlat(ctx context.Context, dir string, blob, diffID v1.Hash, parent *v1.Hash) (rootfs.ApplyResult, error) {
	var err error
	if parent == nil {
		err = os.Mkdir(dir, 0o755)
	} else {
		err = rootfs.CopyTree(ctx, s.LayerDir(*parent), dir)
	}
	if err != nil {
		return rootfs.ApplyResult{}, err
	}
	f, err := os.Open(s.blobPath(blob))
	if err != nil {
		return rootfs.ApplyResult{}, fmt.Errorf("opening layer blob: %w", err)
	}
	defer f.Close()
	// ApplyLayer's syncfs covers the copy too.
	res, err := rootfs.ApplyLayer(ctx, dir, f, rootfs.ApplyOptions{Flat: true})
	if err == nil && res.DiffID.String() != diffID.String() {
		err = fmt.Errorf("layer content hashes to %s, the image config says %s", res.DiffID, diffID)
	}
	return res, err
}

// pullFlat builds the vfs layer i of a pull or load once the layer below
// it is in place, telling progress as an overlay extraction does.
func (s *Store) pullFlat(ctx context.Context, i, n int, ld v1.Descriptor, chain []v1.Hash, diffID v1.Hash, progress Progress) error {
	id := shortID(ld.Digest)
	progress(Event{Layer: id, Status: StatusExtracting, Total: ld.Size})
	var parent *v1.Hash
	if i > 0 {
		parent = &chain[i-1]
	}
	start := time.Now()
	res, err := s.extractFlat(ctx, ld.Digest, chain[i], diffID, parent)
	if err != nil {
		return err
	}
	s.debugf("layer %d/%d: diff ID %s verified, %d entries applied on a copy of the layer below, stored at %s in %s", i+1, n, diffID, res.Entries, s.LayerDir(chain[i]), time.Since(start).Round(time.Millisecond))
	progress(Event{Layer: id, Status: StatusComplete, Total: ld.Size})
	return nil
}

// EnsureLayers extracts from the stored blobs whatever layer directories
// of img are missing, bottom-up: a root that moved to vfs (its images
// extracted for overlay only, before it was set up on an overlay root) or
// lost a layer directory. Call it with the store in use (Use).
func (s *Store) EnsureLayers(ctx context.Context, img *Image) error {
	chain := img.ChainIDs()
	if len(chain) != len(img.man.Layers) {
		return fmt.Errorf("image %s has %d layers but its config lists %d diff IDs", shortID(img.ID), len(img.man.Layers), len(chain))
	}
	for i, c := range chain {
		if s.hasLayer(c) {
			continue
		}
		ld, diffID := img.man.Layers[i], img.Config.RootFS.DiffIDs[i]
		if !s.hasBlob(ld.Digest, ld.Size) {
			return fmt.Errorf("layer %s of image %s is neither extracted nor stored: pull or load the image again", shortID(ld.Digest), shortID(img.ID))
		}
		start := time.Now()
		if s.driver == rootfs.DriverVFS {
			var parent *v1.Hash
			if i > 0 {
				parent = &chain[i-1]
			}
			if _, err := s.extractFlat(ctx, ld.Digest, c, diffID, parent); err != nil {
				return err
			}
		} else {
			x, err := s.extractBlob(ctx, ld.Digest, c, diffID)
			if err != nil {
				return err
			}
			if err := s.commitLayer(x, c, s.lowerDirs(chain[:i])); err != nil {
				return err
			}
		}
		s.debugf("layer %d/%d: chain ID %s was missing, extracted from its blob at %s in %s", i+1, len(chain), c, s.LayerDir(c), time.Since(start).Round(time.Millisecond))
	}
	return nil
}
