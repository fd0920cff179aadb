package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hako-run/hako/internal/atomicfile"
)

// copyBuffers are reused across layer copies; 1 MiB keeps syscalls few.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// errCorrupt marks content that does not match its digest: fetching it
// again from the same place will not help.
var errCorrupt = errors.New("content does not match its digest")

// writeBlob stores the content of r as blob want. The content is hashed as it
// is written to a temporary file; only a complete blob with the right digest
// (and size, when size >= 0) is renamed to its final name.
func (s *Store) writeBlob(want v1.Hash, size int64, r io.Reader) error {
	if want.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 digests are supported", want)
	}
	tmp := atomicfile.TmpName(s.blobs, want.Hex)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating blob: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), r, *buf)
	copyBuffers.Put(buf)
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", want, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return fmt.Errorf("blob %s: %w (it hashes to sha256:%s)", want, errCorrupt, got)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("blob %s: %w (%d bytes, the manifest says %d)", want, errCorrupt, n, size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing blob %s: %w", want, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing blob %s: %w", want, err)
	}
	if err := os.Rename(tmp, s.blobPath(want)); err != nil {
		return fmt.Errorf("storing blob %s: %w", want, err)
	}
	ok = true
	return nil
}

// writeBlobBytes stores small content (manifests, configs) as a blob.
func (s *Store) writeBlobBytes(data []byte) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return v1.Hash{}, err
	}
	if s.hasBlob(h, int64(len(data))) {
		return h, nil
	}
	return h, s.writeBlob(h, int64(len(data)), bytes.NewReader(data))
}
