package image

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Loaded names an image that Load stored: its reference, or its ID when the
// archive gave it none.
type Loaded struct {
	Name string // familiar reference, "" when untagged
	ID   v1.Hash
}

// LoadFile loads images from a docker-archive (as `docker save` writes it,
// possibly gzip or zstd compressed), an OCI image layout directory, or an
// OCI layout in a tar.
func (s *Store) LoadFile(ctx context.Context, p string, progress Progress) ([]Loaded, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("opening archive: %w", err)
	}
	if fi.IsDir() {
		return s.withUse(func() ([]Loaded, error) { return s.loadLayout(ctx, p, progress) })
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening archive: %w", err)
	}
	defer f.Close()
	return s.Load(ctx, f, progress)
}

// Load loads images from an archive stream (see LoadFile). The stream is
// spooled to a temporary file in the store, since archives are read out of
// order.
func (s *Store) Load(ctx context.Context, r io.Reader, progress Progress) ([]Loaded, error) {
	return s.withUse(func() ([]Loaded, error) {
		spool, err := s.spool(r)
		if err != nil {
			return nil, err
		}
		defer os.Remove(spool)
		names, err := tarNames(spool)
		if err != nil {
			return nil, err
		}
		switch {
		case names["manifest.json"]:
			return s.loadDockerArchive(ctx, spool, progress)
		case names["oci-layout"] && names["index.json"]:
			dir, err := s.unpackLayout(spool)
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			return s.loadLayout(ctx, dir, progress)
		}
		return nil, errors.New("the archive is neither a docker-archive (no manifest.json) nor an OCI image layout (no oci-layout and index.json)")
	})
}

func (s *Store) withUse(fn func() ([]Loaded, error)) ([]Loaded, error) {
	use, err := s.lockUse(false)
	if err != nil {
		return nil, err
	}
	defer use()
	atomicfile.RemoveAbandoned(s.blobs)
	atomicfile.RemoveAbandoned(s.layers)
	atomicfile.RemoveAbandoned(s.tmp)
	return fn()
}

// spool copies the stream, decompressed, to a temporary file.
func (s *Store) spool(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(4)
	var src io.Reader = br
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("reading archive: %w", err)
		}
		defer zr.Close()
		src = zr
	case len(magic) == 4 && string(magic) == "\x28\xb5\x2f\xfd":
		zr, err := zstd.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("reading archive: %w", err)
		}
		defer zr.Close()
		src = zr
	case len(magic) == 0:
		return "", errors.New("the archive is empty")
	}
	tmp := atomicfile.TmpName(s.tmp, "load.tar")
	if err := copyToFile(tmp, src); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("reading archive: %w", err)
	}
	return tmp, nil
}

// tarNames lists the regular files of a tar archive by cleaned name.
func tarNames(p string) (map[string]bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the archive is not a tar file: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			names[path.Clean(strings.TrimPrefix(h.Name, "./"))] = true
		}
	}
	if len(names) == 0 {
		return nil, errors.New("the archive is not a tar file with images in it")
	}
	return names, nil
}

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func (s *Store) loadDockerArchive(ctx context.Context, spool string, progress Progress) ([]Loaded, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(spool) }
	raw, err := extractTarFile(spool, "manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifest
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("reading the archive's manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return nil, errors.New("the archive's manifest.json lists no images")
	}
	var loaded []Loaded
	for _, e := range entries {
		var tag *name.Tag
		if len(e.RepoTags) > 0 {
			t, err := name.NewTag(e.RepoTags[0], name.WeakValidation)
			if err != nil {
				return loaded, fmt.Errorf("archive names an image %q: %w", e.RepoTags[0], err)
			}
			tag = &t
		} else if len(entries) > 1 {
			return loaded, fmt.Errorf("the archive holds several images and %s has no tag: hako can load untagged images only from single-image archives", e.Config)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return loaded, fmt.Errorf("reading image from the archive: %w", err)
		}
		manDesc, _, err := s.importImage(ctx, img, progress)
		if err != nil {
			return loaded, err
		}
		id, err := img.ConfigName()
		if err != nil {
			return loaded, err
		}
		got, err := s.nameImage(manDesc, id, e.RepoTags)
		loaded = append(loaded, got...)
		if err != nil {
			return loaded, err
		}
	}
	return loaded, nil
}

// nameImage records tags for a loaded image.
func (s *Store) nameImage(manDesc v1.Descriptor, id v1.Hash, tags []string) ([]Loaded, error) {
	var loaded []Loaded
	var refs []name.Reference
	for _, t := range tags {
		ref, err := ParseReference(t, s.Insecure...)
		if err != nil {
			return nil, fmt.Errorf("archive names an image %q: %w", t, err)
		}
		refs = append(refs, ref)
		loaded = append(loaded, Loaded{Name: FamiliarName(ref), ID: id})
	}
	if len(refs) == 0 {
		// An untagged image gets an index entry without a name, so that it
		// is listed (as <none>) and not collected.
		loaded = append(loaded, Loaded{ID: id})
		return loaded, s.updateIndex(func(idx *v1.IndexManifest) error {
			for _, d := range idx.Manifests {
				if d.Digest == manDesc.Digest {
					return nil
				}
			}
			manDesc.Annotations = nil
			idx.Manifests = append(idx.Manifests, manDesc)
			return nil
		})
	}
	return loaded, s.updateIndex(func(idx *v1.IndexManifest) error {
		for _, ref := range refs {
			setRef(idx, FullName(ref), manDesc)
		}
		return nil
	})
}

// extractTarFile returns one small file from a tar archive.
func extractTarFile(archive, want string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("reading %s from the archive: %w", want, err)
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) == want {
			return io.ReadAll(io.LimitReader(tr, 64<<20))
		}
	}
}

// unpackLayout extracts an OCI layout tar into a temporary directory. Only
// the layout's own files are taken: oci-layout, index.json and blobs.
func (s *Store) unpackLayout(spool string) (string, error) {
	dir := atomicfile.TmpName(s.tmp, "layout")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.Open(spool)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir, nil
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("reading the OCI layout: %w", err)
		}
		n := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if h.Typeflag != tar.TypeReg || !(n == "oci-layout" || n == "index.json" || isBlobPath(n)) {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		if err := copyToFile(dst, tr); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("reading the OCI layout: %w", err)
		}
	}
}

// isBlobPath accepts blobs/<alg>/<hex> and nothing else.
func isBlobPath(n string) bool {
	parts := strings.Split(n, "/")
	return len(parts) == 3 && parts[0] == "blobs" && parts[1] != "" && parts[2] != "" && !strings.HasPrefix(parts[1], ".") && !strings.HasPrefix(parts[2], ".")
}

// loadLayout imports every image of an OCI layout; of a multi-platform
// index, the child for this host.
func (s *Store) loadLayout(ctx context.Context, dir string, progress Progress) ([]Loaded, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout: %w", err)
	}
	var loaded []Loaded
	for _, d := range im.Manifests {
		var img v1.Image
		switch {
		case d.MediaType.IsImage():
			img, err = idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			var child v1.ImageIndex
			if child, err = idx.ImageIndex(d.Digest); err != nil {
				break
			}
			var cm *v1.IndexManifest
			if cm, err = child.IndexManifest(); err != nil {
				break
			}
			var pick v1.Descriptor
			if pick, err = chooseManifest(cm, HostPlatform()); err != nil {
				break
			}
			img, err = child.Image(pick.Digest)
		default:
			continue
		}
		if err != nil {
			return loaded, fmt.Errorf("reading image %s from the OCI layout: %w", shortID(d.Digest), err)
		}
		manDesc, _, err := s.importImage(ctx, img, progress)
		if err != nil {
			return loaded, err
		}
		id, err := img.ConfigName()
		if err != nil {
			return loaded, err
		}
		got, err := s.nameImage(manDesc, id, layoutRefNames(d))
		loaded = append(loaded, got...)
		if err != nil {
			return loaded, err
		}
	}
	if len(loaded) == 0 {
		return nil, errors.New("the OCI layout holds no image hako can load (no image manifests in its index.json)")
	}
	return loaded, nil
}

// layoutRefNames returns the image references a layout entry names: a
// full reference from containerd's or the OCI annotation; a bare OCI tag
// ("latest") names no repository and so no reference.
func layoutRefNames(d v1.Descriptor) []string {
	for _, key := range []string{"io.containerd.image.name", RefNameAnnotation} {
		if v := d.Annotations[key]; v != "" && strings.ContainsAny(v, "/:@") {
			return []string{v}
		}
	}
	return nil
}

// copyToFile writes r to a new file at p.
func copyToFile(p string, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
