// Package rootfs turns image layers into directories and directories into container root
// filesystems: it extracts layer tars safely (with overlayfs whiteouts) and mounts overlays,
// or for the vfs storage driver applies each layer onto a full copy of the tree below it
// (vfs.go) and diffs a container's copy against its base (changes.go).
package rootfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// ApplyOptions tune ApplyLayer.
type ApplyOptions struct {
	// Lowers are the extracted directories of the layers below this one, nearest first.
	// A directory the layer implies without its own entry (a/b/f with no a/b/) takes owner,
	// mode (and times) from the nearest lower that has it, else root 0755.
	Lowers []string
	// Flat applies the layer onto dir holding the full tree of the layers
	// below it (the vfs driver): whiteouts delete what they name and an
	// opaque marker empties its directory of what the lowers put there,
	// instead of leaving overlay's marks. Lowers are not needed.
	Flat bool
}

// ApplyResult describes an applied layer.
type ApplyResult struct {
	DiffID  digest.Digest // sha256 of the uncompressed tar stream
	Size    int64         // uncompressed bytes
	Entries int           // tar entries applied
	// Implicit lists the directories the layer implies without entries of
	// their own that no lower had (parents first): made root 0755, they can
	// take their lowers' metadata later with FixImplicitDirs.
	Implicit []string
}

// copyBufPool holds the 1 MiB buffers file contents are copied through.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// ApplyLayer extracts the layer stream r into dir, an existing empty directory. r may be gzip,
// zstd or plain tar (detected by magic bytes). It reads r to EOF even after the tar end marker,
// so a digest-verifying reader underneath sees the whole blob. The tree is synced once (syncfs)
// before returning. On error the caller removes dir.
//
// Entry names are taken relative to dir (a leading "/" is dropped, as Docker does); a name or
// hardlink target that climbs out with ".." refuses the whole layer. Symlinks planted by earlier
// entries are resolved as if dir were the root (openat2 RESOLVE_IN_ROOT), so nothing is ever
// created, changed or linked outside dir.
func ApplyLayer(ctx context.Context, dir string, r io.Reader, opts ApplyOptions) (ApplyResult, error) {
	raw := bufio.NewReaderSize(r, 64<<10)
	dec, closeDec, err := decompressor(raw)
	if err != nil {
		return ApplyResult{}, err
	}
	defer closeDec()

	bufp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bufp)

	x, err := newExtractor(ctx, dir, opts.Lowers, *bufp)
	if err != nil {
		return ApplyResult{}, err
	}
	defer x.close()
	if opts.Flat {
		x.touched = map[string]bool{}
	}

	hw := &hashWriter{h: sha256.New()}
	ra := newReadAhead(dec, hw) // gunzip and hash run beside the extraction
	defer ra.stop()             // before closeDec (defers run last first)
	tr := tar.NewReader(ra)
	entries := 0
	for {
		if err := ctx.Err(); err != nil {
			return ApplyResult{}, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ApplyResult{}, fmt.Errorf("reading layer: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if err := x.apply(hdr, tr); err != nil {
			return ApplyResult{}, err
		}
		entries++
	}

	// Drain what follows the end marker: the DiffID covers it, and a verifying reader below
	// only checks the blob digest when it reaches EOF.
	if err := drain(ctx, io.Discard, ra, *bufp); err != nil { // ra hashes it
		return ApplyResult{}, err
	}
	if err := drain(ctx, io.Discard, raw, *bufp); err != nil {
		return ApplyResult{}, err
	}
	if err := x.finish(); err != nil {
		return ApplyResult{}, err
	}
	implicit := make([]string, 0, len(x.implicit))
	for p := range x.implicit {
		implicit = append(implicit, p)
	}
	sort.Slice(implicit, func(i, j int) bool { return depth(implicit[i]) < depth(implicit[j]) })
	return ApplyResult{
		DiffID:   digest.NewDigest(digest.SHA256, hw.h),
		Size:     hw.n,
		Entries:  entries,
		Implicit: implicit,
	}, nil
}

// decompressor picks gzip, zstd or plain tar by the stream's magic bytes.
func decompressor(br *bufio.Reader) (io.Reader, func(), error) {
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, nil, fmt.Errorf("reading layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("opening gzip layer: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("opening zstd layer: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// drain copies r to EOF into w, stopping when ctx is done (the tail can be gigabytes of padding).
func drain(ctx context.Context, w io.Writer, r io.Reader, buf []byte) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		w.Write(buf[:n]) // hashWriter and io.Discard never fail
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}
	}
}

// hashWriter hashes and counts the uncompressed stream.
type hashWriter struct {
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

// errRefused marks a layer refused because an entry would reach outside the layer directory.
var errRefused = errors.New("refusing layer")

// FixImplicitDirs gives the implicit directories of a layer extracted
// without its lowers (ApplyResult.Implicit) the owner, mode and times of the
// same directory in the nearest lower, as ApplyLayer would have with
// ApplyOptions.Lowers. Layers can then be extracted in parallel and fixed up
// bottom-up once the layers below them are complete. The tree is synced.
func FixImplicitDirs(dir string, implicit []string, lowers []string) error {
	if len(implicit) == 0 || len(lowers) == 0 {
		return nil
	}
	x, err := newExtractor(context.Background(), dir, lowers, nil)
	if err != nil {
		return err
	}
	defer x.close()
	for _, p := range implicit {
		st, found, err := x.lowerDir(p)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		fd, err := openInRoot(x.root, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
			continue // removed or replaced by a later entry of the layer
		}
		if err != nil {
			return fmt.Errorf("opening %q: %w", p, err)
		}
		err = x.setImplicitMeta(fd, p, st, true)
		if err == nil {
			err = futimens(fd, x.times[p])
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("fixing implicit directory %q: %w", p, err)
		}
	}
	if err := unix.Syncfs(x.root); err != nil {
		return fmt.Errorf("syncing layer: %w", err)
	}
	return nil
}
