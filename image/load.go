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
	"slices"
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

// Skipped names a manifest that Load left out because it is no runnable
// image (an artifact, a signature, an attestation, another platform).
type Skipped struct {
	Digest v1.Hash
	Tag    string // the name the archive gave it, "" when none
	Reason string
}

func (s Skipped) String() string {
	tag := ""
	if s.Tag != "" {
		tag = " (tag " + s.Tag + ")"
	}
	return fmt.Sprintf("Skipping %s%s: %s", shortID(s.Digest), tag, s.Reason)
}

// LoadResult tells what Load stored and what it left out.
type LoadResult struct {
	Loaded  []Loaded
	Skipped []Skipped
}

// LoadFile loads images from a docker-archive (as `docker save` writes it,
// possibly gzip or zstd compressed), an OCI image layout directory, or an
// OCI layout in a tar. Manifests that are no runnable image are skipped;
// when nothing runnable is there, the error wraps ErrNoImage and the store
// is left as it was. The result is not nil, even with an error.
func (s *Store) LoadFile(ctx context.Context, p string, progress Progress) (*LoadResult, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return &LoadResult{}, fmt.Errorf("opening archive: %w", err)
	}
	if fi.IsDir() {
		return s.withUse(func(res *LoadResult) error { return s.loadLayout(ctx, p, progress, res) })
	}
	f, err := os.Open(p)
	if err != nil {
		return &LoadResult{}, fmt.Errorf("opening archive: %w", err)
	}
	defer f.Close()
	return s.Load(ctx, f, progress)
}

// Load loads images from an archive stream (see LoadFile). The stream is
// spooled to a temporary file in the store, since archives are read out of
// order.
func (s *Store) Load(ctx context.Context, r io.Reader, progress Progress) (*LoadResult, error) {
	return s.withUse(func(res *LoadResult) error {
		spool, err := s.spool(r)
		if err != nil {
			return err
		}
		defer os.Remove(spool)
		names, err := tarNames(spool)
		if err != nil {
			return err
		}
		switch {
		case names["manifest.json"]:
			return s.loadDockerArchive(ctx, spool, progress, res)
		case names["oci-layout"] && names["index.json"]:
			dir, err := s.unpackLayout(spool)
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			return s.loadLayout(ctx, dir, progress, res)
		}
		return errors.New("the archive is neither a docker-archive (no manifest.json) nor an OCI image layout (no oci-layout and index.json)")
	})
}

func (s *Store) withUse(fn func(*LoadResult) error) (*LoadResult, error) {
	res := &LoadResult{}
	use, err := s.lockUse(false)
	if err != nil {
		return res, err
	}
	defer use()
	atomicfile.RemoveAbandoned(s.blobs)
	atomicfile.RemoveAbandoned(s.layers)
	atomicfile.RemoveAbandoned(s.tmp)
	return res, fn(res)
}

// toLoad is an image Load has checked and will import, with its names.
type toLoad struct {
	img  v1.Image
	tags []string
}

// importAll imports the checked images and names them. Every image was
// read and checked first, so that an archive with nothing runnable or with
// a broken image fails before the store changes.
func (s *Store) importAll(ctx context.Context, todo []toLoad, progress Progress, res *LoadResult) error {
	for _, t := range todo {
		manDesc, _, err := s.importImage(ctx, t.img, progress)
		if err != nil {
			return err
		}
		id, err := t.img.ConfigName()
		if err != nil {
			return err
		}
		got, err := s.nameImage(manDesc, id, t.tags)
		for _, l := range got {
			// A layout may name one image twice (a tag and a digest tag).
			if !slices.Contains(res.Loaded, l) {
				res.Loaded = append(res.Loaded, l)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// noImage is the error for an archive whose manifests were all skipped.
func noImage(where string, res *LoadResult) error {
	if len(res.Skipped) == 0 {
		return fmt.Errorf("%w: %s lists no manifests", ErrNoImage, where)
	}
	return fmt.Errorf("%w: %s holds only artifacts, attestations or images for other platforms (%d skipped)", ErrNoImage, where, len(res.Skipped))
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

func (s *Store) loadDockerArchive(ctx context.Context, spool string, progress Progress, res *LoadResult) error {
	opener := func() (io.ReadCloser, error) { return os.Open(spool) }
	raw, err := extractTarFile(spool, "manifest.json")
	if err != nil {
		return err
	}
	var entries []dockerManifest
	if err := json.Unmarshal(raw, &entries); err != nil {
		return fmt.Errorf("reading the archive's manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return errors.New("the archive's manifest.json lists no images")
	}
	var todo []toLoad
	for _, e := range entries {
		var tag *name.Tag
		if len(e.RepoTags) > 0 {
			t, err := name.NewTag(e.RepoTags[0], name.WeakValidation)
			if err != nil {
				return fmt.Errorf("archive names an image %q: %w", e.RepoTags[0], err)
			}
			tag = &t
		} else if len(entries) > 1 {
			return fmt.Errorf("the archive holds several images and %s has no tag: hako can load untagged images only from single-image archives", e.Config)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return fmt.Errorf("reading image from the archive: %w", err)
		}
		var nr *NotRunnableError
		if _, err := readImage(img); errors.As(err, &nr) {
			d, _ := img.Digest()
			res.Skipped = append(res.Skipped, Skipped{Digest: d, Tag: strings.Join(e.RepoTags, ", "), Reason: nr.Reason})
			continue
		} else if err != nil {
			return fmt.Errorf("reading image %s from the archive: %w", e.Config, err)
		}
		todo = append(todo, toLoad{img: img, tags: e.RepoTags})
	}
	if len(todo) == 0 {
		return noImage("the archive", res)
	}
	return s.importAll(ctx, todo, progress, res)
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

// loadLayout imports every runnable image of an OCI layout; of a
// multi-platform index, the child for this host.
func (s *Store) loadLayout(ctx context.Context, dir string, progress Progress, res *LoadResult) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("reading the OCI layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading the OCI layout: %w", err)
	}
	var todo []toLoad
	for _, d := range im.Manifests {
		img, reason, err := layoutImage(idx, d)
		if err != nil {
			return fmt.Errorf("reading image %s from the OCI layout: %w", shortID(d.Digest), err)
		}
		if reason != "" {
			res.Skipped = append(res.Skipped, Skipped{Digest: d.Digest, Tag: d.Annotations[RefNameAnnotation], Reason: reason})
			continue
		}
		todo = append(todo, toLoad{img: img, tags: layoutRefNames(d)})
	}
	if len(todo) == 0 {
		return noImage("the OCI layout", res)
	}
	return s.importAll(ctx, todo, progress, res)
}

// layoutImage resolves one entry of a layout's index.json to the image to
// load, checked by readImage, or to the reason it is skipped.
func layoutImage(idx v1.ImageIndex, d v1.Descriptor) (v1.Image, string, error) {
	var img v1.Image
	switch reason := skipInIndex(d); {
	case d.MediaType.IsIndex() && !isArtifactType(d.ArtifactType):
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, "", err
		}
		cm, err := child.IndexManifest()
		if err != nil {
			return nil, "", err
		}
		if isArtifactType(cm.ArtifactType) {
			return nil, "an index of OCI artifacts (artifactType " + cm.ArtifactType + ")", nil
		}
		images := runnableChildren(cm)
		if len(images.Manifests) == 0 {
			return nil, "an index of artifacts or attestations, no image", nil
		}
		pick, err := chooseManifest(images, HostPlatform())
		if err != nil {
			return nil, "no image for " + PlatformString(HostPlatform()) + " in the index", nil
		}
		if img, err = child.Image(pick.Digest); err != nil {
			return nil, "", err
		}
	case reason != "":
		return nil, reason, nil
	default:
		var err error
		if img, err = idx.Image(d.Digest); err != nil {
			return nil, "", err
		}
	}
	var nr *NotRunnableError
	if _, err := readImage(img); errors.As(err, &nr) {
		return nil, nr.Reason, nil
	} else if err != nil {
		return nil, "", err
	}
	return img, "", nil
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
