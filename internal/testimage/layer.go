// Package testimage builds small, real OCI images in-process for tests: a
// runnable busybox image, extra layers from a file map (including hostile or
// edge-case entries), multi-platform indexes and images carrying a static Go
// helper program. Everything is deterministic, so digests are stable between
// runs.
package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the fixed time used for file mtimes, history and config creation
// times, so that images built twice have the same digests.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one entry of a layer. The entry type comes from Mode:
//   - ModeDir: a directory;
//   - ModeSymlink: a symlink to Linkname;
//   - ModeDevice (block) or ModeDevice|ModeCharDevice (char), with Devmajor/Devminor;
//   - ModeNamedPipe: a FIFO;
//   - otherwise a regular file with Content, or a hard link to Linkname when
//     Linkname is set.
//
// Permission bits and ModeSetuid/ModeSetgid/ModeSticky are kept.
// Whiteout turns the entry into an overlay-style deletion marker of its path
// (dir/.wh.name); Opaque emits the directory and its dir/.wh..wh..opq marker.
type File struct {
	Mode     os.FileMode
	Content  []byte
	Linkname string
	Uid, Gid int
	Whiteout bool
	Opaque   bool

	Devmajor, Devminor int64
	// Xattrs become PAXRecords "SCHILY.xattr.<name>".
	Xattrs map[string]string
}

// LayerTar builds an uncompressed tar of files, in sorted path order (so
// parents come before their children). Paths are written exactly as given,
// without cleaning, so tests can build hostile names such as "../x" or "/abs";
// parent directories are not added implicitly.
func LayerTar(files map[string]File) ([]byte, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		hdrs, err := headers(name, files[name])
		if err != nil {
			return nil, err
		}
		for _, h := range hdrs {
			if err := tw.WriteHeader(h); err != nil {
				return nil, fmt.Errorf("writing tar header %q: %w", h.Name, err)
			}
			if h.Typeflag == tar.TypeReg {
				if _, err := tw.Write(files[name].Content); err != nil {
					return nil, fmt.Errorf("writing tar content %q: %w", h.Name, err)
				}
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing tar: %w", err)
	}
	return buf.Bytes(), nil
}

// headers returns the tar headers for one map entry (two for an opaque dir).
func headers(name string, f File) ([]*tar.Header, error) {
	base := tar.Header{
		Uid:     f.Uid,
		Gid:     f.Gid,
		ModTime: Epoch,
		Format:  tar.FormatPAX,
	}
	if f.Whiteout {
		h := base
		h.Name = path.Join(path.Dir(name), ".wh."+path.Base(name))
		h.Typeflag = tar.TypeReg
		h.Mode = 0o644
		return []*tar.Header{&h}, nil
	}

	h := base
	h.Name = name
	h.Mode = tarMode(f.Mode)
	if len(f.Xattrs) > 0 {
		h.PAXRecords = map[string]string{}
		for k, v := range f.Xattrs {
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	switch {
	case f.Mode&os.ModeDir != 0 || f.Opaque:
		h.Typeflag = tar.TypeDir
		if f.Mode&os.ModePerm == 0 && f.Opaque {
			h.Mode = 0o755
		}
	case f.Mode&os.ModeSymlink != 0:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = f.Linkname
	case f.Mode&os.ModeCharDevice != 0:
		h.Typeflag = tar.TypeChar
		h.Devmajor, h.Devminor = f.Devmajor, f.Devminor
	case f.Mode&os.ModeDevice != 0:
		h.Typeflag = tar.TypeBlock
		h.Devmajor, h.Devminor = f.Devmajor, f.Devminor
	case f.Mode&os.ModeNamedPipe != 0:
		h.Typeflag = tar.TypeFifo
	case f.Linkname != "":
		h.Typeflag = tar.TypeLink
		h.Linkname = f.Linkname
	default:
		h.Typeflag = tar.TypeReg
		h.Size = int64(len(f.Content))
	}
	if !f.Opaque {
		return []*tar.Header{&h}, nil
	}
	opq := base
	opq.Name = path.Join(name, ".wh..wh..opq")
	opq.Typeflag = tar.TypeReg
	opq.Mode = 0o644
	return []*tar.Header{&h, &opq}, nil
}

// tarMode converts an os.FileMode to the tar header's Unix mode bits.
func tarMode(m os.FileMode) int64 {
	mode := int64(m.Perm())
	if m&os.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// LayerFromTar wraps an uncompressed tar as an OCI gzip layer. It compresses
// once, deterministically, so the layer's digest is stable.
func LayerFromTar(tarBytes []byte) (v1.Layer, error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("creating gzip writer: %w", err)
	}
	if _, err := zw.Write(tarBytes); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	l := &memLayer{tar: tarBytes, gz: gz.Bytes()}
	if l.digest, _, err = v1.SHA256(bytes.NewReader(l.gz)); err != nil {
		return nil, fmt.Errorf("hashing layer: %w", err)
	}
	if l.diffID, _, err = v1.SHA256(bytes.NewReader(l.tar)); err != nil {
		return nil, fmt.Errorf("hashing layer: %w", err)
	}
	return l, nil
}

// memLayer is a gzip layer held in memory. ggcr's tarball layers carry an
// empty annotation map into the manifest struct, which makes validate.Image
// fail on every image built with them.
type memLayer struct {
	tar, gz        []byte
	digest, diffID v1.Hash
}

func (l *memLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)     { return int64(len(l.gz)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) {
	return types.OCILayer, nil
}
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.tar)), nil
}

// WithLayer appends a layer made of files to base, with an OCI gzip layer media
// type and a history entry at Epoch.
func WithLayer(base v1.Image, files map[string]File) (v1.Image, error) {
	tb, err := LayerTar(files)
	if err != nil {
		return nil, err
	}
	return withTarLayer(base, tb, "testimage.WithLayer")
}

func withTarLayer(base v1.Image, tb []byte, createdBy string) (v1.Image, error) {
	l, err := LayerFromTar(tb)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     l,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: createdBy},
	})
	if err != nil {
		return nil, fmt.Errorf("appending layer: %w", err)
	}
	return img, nil
}

// WithRandomFile appends a layer holding one file of size pseudo-random bytes
// (incompressible, the same for the same seed) at name: a big image for
// download tests.
func WithRandomFile(base v1.Image, name string, size int, seed uint64) (v1.Image, error) {
	data := make([]byte, size)
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	if _, err := rand.NewChaCha8(s).Read(data); err != nil {
		return nil, fmt.Errorf("generating random data: %w", err)
	}
	tb, err := LayerTar(map[string]File{name: {Mode: 0o644, Content: data}})
	if err != nil {
		return nil, err
	}
	return withTarLayer(base, tb, "testimage.WithRandomFile")
}
