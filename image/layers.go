package image

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
)

// ChainIDs returns the chain ID of each layer given the diff IDs bottom-up:
// a layer's identity together with everything below it, as containerd keys
// its snapshots. Two images share a layer directory only if they share all
// layers beneath it too.
func ChainIDs(diffIDs []v1.Hash) []v1.Hash {
	chain := make([]v1.Hash, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			chain[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(chain[i-1].String() + " " + d.String()))
		chain[i] = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sum)}
	}
	return chain
}

// LayerDir is the directory holding the extracted layer with this chain ID.
func (s *Store) LayerDir(chainID v1.Hash) string {
	return filepath.Join(s.layers, chainID.Hex)
}

func (s *Store) hasLayer(chainID v1.Hash) bool {
	fi, err := os.Stat(s.LayerDir(chainID))
	return err == nil && fi.IsDir()
}

// extracted is a layer tree complete under a temporary name, not yet
// stacked on its lowers.
type extracted struct {
	tmp string
	res rootfs.ApplyResult
}

// extractTemp applies the compressed layer stream r into a temporary
// directory, without its lowers so that layers can be extracted in parallel,
// and checks the content against the config's diff ID.
func (s *Store) extractTemp(ctx context.Context, chainID, diffID v1.Hash, r io.Reader) (*extracted, error) {
	s.spreadLayers()
	tmp := atomicfile.TmpName(s.layers, chainID.Hex[:12])
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("creating layer directory: %w", err)
	}
	res, err := rootfs.ApplyLayer(ctx, tmp, r, rootfs.ApplyOptions{})
	if err == nil && res.DiffID.String() != diffID.String() {
		err = fmt.Errorf("layer content hashes to %s, the image config says %s", res.DiffID, diffID)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("extracting layer %s: %w", shortID(diffID), err)
	}
	return &extracted{tmp: tmp, res: res}, nil
}

// commitLayer gives an extracted layer's implied directories their lowers'
// metadata (lowers nearest first, all complete), then renames the synced
// tree to its final name. Another process that got there first wins; its
// copy is as good as ours.
func (s *Store) commitLayer(x *extracted, chainID v1.Hash, lowers []string) error {
	defer os.RemoveAll(x.tmp) // gone after our rename; left over if another process won
	err := rootfs.FixImplicitDirs(x.tmp, x.res.Implicit, lowers)
	if err == nil {
		err = s.writeLayerSize(chainID, x.res.Size)
	}
	if err == nil {
		err = os.Rename(x.tmp, s.LayerDir(chainID))
		if err != nil && s.hasLayer(chainID) {
			err = nil // a concurrent pull stored it first
		}
	}
	if err != nil {
		return fmt.Errorf("storing layer %s: %w", shortID(chainID), err)
	}
	return atomicfile.SyncDir(s.layers)
}

// removeLayerDir deletes a layer directory so that a crash half-way never
// leaves a partial tree under the final name: rename first, then delete.
func (s *Store) removeLayerDir(chainHex string) error {
	doomed := atomicfile.TmpName(s.layers, "del-"+chainHex[:min(12, len(chainHex))])
	if err := os.Rename(filepath.Join(s.layers, chainHex), doomed); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(doomed)
}

// shortID is the 12-hex-digit form Docker prints.
func shortID(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.Hex
	}
	return h.Hex[:12]
}

// sizesDir keeps each layer's unpacked size (ROOT/layer-sizes/<chainid>),
// outside layers/, whose directories hold nothing but the trees overlay stacks.
func (s *Store) sizesDir() string { return filepath.Join(s.root, "layer-sizes") }

func (s *Store) writeLayerSize(chainID v1.Hash, size int64) error {
	if err := os.MkdirAll(s.sizesDir(), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.sizesDir(), chainID.Hex), []byte(strconv.FormatInt(size, 10)), 0o600)
}

// layerSize is the unpacked size of a layer, or -1 if it is not known.
func (s *Store) layerSize(chainID v1.Hash) int64 {
	data, err := os.ReadFile(filepath.Join(s.sizesDir(), chainID.Hex))
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return -1
	}
	return n
}
