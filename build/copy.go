package build

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
)

type copyFlags struct {
	from, chown, chmod, text string
	add, parents, link       bool
	exclude                  []string
}

func readIgnoreFile(r io.Reader) ([]string, error) { return ignorefile.ReadAll(r) }

// copy runs COPY or ADD: the sources (from the context, a stage or an
// image) are written into one tar, its owners and modes as the flags say,
// spooled to a temp file and hashed; the hash is the step's input in the
// cache key. On a miss the tar is extracted into an overlay of the stage's
// layers mounted for this process alone (every path resolved inside the
// rootfs, rootfs.ExtractCopy) and the upper directory becomes the layer.
func (b *builder) copy(ctx context.Context, i int, st *state, sd instructions.SourcesAndDest, f copyFlags) error {
	if len(sd.SourceContents) > 0 {
		return errors.New("here-documents in COPY and ADD are not supported by hako build")
	}
	if f.parents || len(f.exclude) > 0 {
		return errors.New("COPY --parents and --exclude are not supported by hako build")
	}
	var mode *int64
	if f.chmod != "" {
		m, err := strconv.ParseUint(f.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("invalid --chmod %q: give an octal mode such as 755", f.chmod)
		}
		mm := int64(m)
		mode = &mm
	}
	src, err := b.source(ctx, i, f.from)
	if err != nil {
		return err
	}
	defer src.close()

	dest := sd.DestPath
	destIsDir := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
	dest = st.workdir(dest)
	var matches []string
	for _, p := range sd.SourcePaths {
		if f.add && (strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "git@")) {
			return fmt.Errorf("ADD from a URL (%s) is not supported by hako build: download it in a RUN or into the context", p)
		}
		m, err := src.glob(p)
		if err != nil {
			return err
		}
		if len(m) == 0 {
			return fmt.Errorf("%s: %q not found in %s", strings.ToUpper(map[bool]string{true: "add", false: "copy"}[f.add]), p, src.what)
		}
		matches = append(matches, m...)
	}
	if len(matches) > 1 && !destIsDir {
		return fmt.Errorf("when using COPY with more than one source file, the destination must be a directory and end with a /")
	}

	spool, err := os.OpenFile(atomicfile.TmpName(filepath.Join(b.o.Store.Root(), "tmp"), "build-copy"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the copy spool: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	bw := bufio.NewWriter(spool)
	sw := &spoolWriter{tw: tar.NewWriter(bw), h: sha256.New(), mode: mode}
	// Each source goes where Docker puts it: a directory's contents into
	// dest, a file to dest/NAME when dest is a directory, else to dest.
	var archives []string
	anyDir := false
	for _, m := range matches {
		isDir, err := src.isDir(m)
		if err != nil {
			return err
		}
		anyDir = anyDir || isDir
		target := dest
		if !isDir {
			if f.add {
				if ok, err := src.isArchive(m); err != nil {
					return err
				} else if ok {
					archives = append(archives, m)
					continue
				}
			}
			if destIsDir || len(matches) > 1 || b.destIsDir(st, dest) {
				target = path.Join(dest, path.Base(m))
			}
		}
		if err := src.write(sw, m, isDir, strings.TrimPrefix(target, "/")); err != nil {
			return err
		}
	}
	for _, m := range archives {
		if err := src.unpack(sw, m, strings.TrimPrefix(dest, "/")); err != nil {
			return err
		}
	}
	if err := sw.tw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	sum := hex.EncodeToString(sw.h.Sum(nil))
	key := cacheKey(st.id(), "copy", f.text, f.from, f.chown, f.chmod, dest, sum)
	return b.commit(ctx, st, f.text, key, st.cfg, func() (func(io.Writer) error, func(), error) {
		return b.applyCopy(st, spool, dest, destIsDir || anyDir || len(matches) > 1 || len(archives) > 0, f.chown)
	})
}

// destIsDir tells whether dest is a directory in the stage's image.
func (b *builder) destIsDir(st *state, dest string) bool {
	if st.img == nil || len(st.img.Config.RootFS.DiffIDs) == 0 || dest == "/" {
		return dest == "/"
	}
	m, err := mountLayers(b.o.Store, st.img, "")
	if err != nil {
		return false
	}
	defer m.close()
	d, err := rootfs.OpenInRoot(m.root, dest, unix.O_PATH)
	if err != nil {
		return false
	}
	defer d.Close()
	fi, err := d.Stat()
	return err == nil && fi.IsDir()
}

// applyCopy extracts the spooled tar into an overlay of the stage's
// layers and returns the writer of the upper directory's diff.
func (b *builder) applyCopy(st *state, spool *os.File, dest string, destDir bool, chown string) (func(io.Writer) error, func(), error) {
	work, err := os.MkdirTemp(filepath.Join(b.o.Store.Root(), "tmp"), fmt.Sprintf(".tmp-%d-build-", os.Getpid()))
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(work) }
	upper := filepath.Join(work, "upper")
	if err := os.Mkdir(upper, 0o755); err != nil {
		cleanup()
		return nil, nil, err
	}
	root := upper
	var m *mounted
	if st.img != nil && len(st.img.Config.RootFS.DiffIDs) > 0 {
		if m, err = mountLayers(b.o.Store, st.img, work); err != nil {
			cleanup()
			return nil, nil, err
		}
		root = m.root
	}
	err = func() error {
		if m != nil {
			defer m.close()
		}
		uid, gid, err := resolveChown(root, chown)
		if err != nil {
			return err
		}
		dir := dest
		if !destDir {
			dir = path.Dir(dest)
		}
		if _, err := rootfs.MkdirAllInRoot(root, dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return err
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(chownTar(spool, pw, uid, gid)) }()
		err = rootfs.ExtractCopy(root, pr)
		pr.CloseWithError(io.ErrClosedPipe)
		return err
	}()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if m != nil {
		return m.diff, cleanup, nil
	}
	return func(w io.Writer) error { return rootfs.WriteDiff(w, upper) }, cleanup, nil
}

// chownTar copies the tar r to w with every entry owned by uid:gid (-1:
// as it is).
func chownTar(r io.Reader, w io.Writer, uid, gid int) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		if uid >= 0 {
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = uid, gid, "", ""
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// resolveChown turns --chown USER[:GROUP] into ids, names looked up in the
// rootfs's /etc/passwd and /etc/group. "" gives -1, -1: the tar's owners.
func resolveChown(root, chown string) (int, int, error) {
	if chown == "" {
		return -1, -1, nil
	}
	u, g, hasGroup := strings.Cut(chown, ":")
	uid, err := strconv.Atoi(u)
	gid := -1
	if err != nil {
		users, perr := readDB(root, "/etc/passwd", func(r io.Reader) (any, error) {
			return user.ParsePasswdFilter(r, func(e user.User) bool { return e.Name == u })
		})
		list, _ := users.([]user.User)
		if perr != nil || len(list) == 0 {
			return 0, 0, fmt.Errorf("--chown: no user %q in the image's /etc/passwd", u)
		}
		uid, gid = list[0].Uid, list[0].Gid
	} else {
		gid = uid
	}
	if hasGroup {
		n, err := strconv.Atoi(g)
		if err != nil {
			groups, gerr := readDB(root, "/etc/group", func(r io.Reader) (any, error) {
				return user.ParseGroupFilter(r, func(e user.Group) bool { return e.Name == g })
			})
			list, _ := groups.([]user.Group)
			if gerr != nil || len(list) == 0 {
				return 0, 0, fmt.Errorf("--chown: no group %q in the image's /etc/group", g)
			}
			n = list[0].Gid
		}
		gid = n
	}
	return uid, gid, nil
}

func readDB(root, p string, parse func(io.Reader) (any, error)) (any, error) {
	f, err := rootfs.OpenRegularInRoot(root, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f)
}

// spoolWriter gathers the entries of a COPY into one tar and hashes what
// decides the result (names, types, modes, owners, links and contents;
// not modification times, so a touched file stays cached).
type spoolWriter struct {
	tw   *tar.Writer
	h    hash.Hash
	mode *int64 // --chmod
}

// add copies the tar r's entries under prefix (names relative to it) into
// the spool. keep, when set, drops entries it refuses (.dockerignore; the
// names it gets are the tar's).
func (sw *spoolWriter) add(r io.Reader, prefix string, keep func(name string) bool) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(path.Clean("/"+hdr.Name), "/"), "/")
		if keep != nil && !keep(rel) {
			continue
		}
		hdr.Name = path.Join(prefix, rel)
		if hdr.Name == "" || hdr.Name == "." {
			continue
		}
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = path.Join(prefix, strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/"))
		}
		if sw.mode != nil {
			hdr.Mode = *sw.mode
		}
		fmt.Fprintf(sw.h, "%s\x00%c\x00%o\x00%d\x00%d\x00%s\x00%d\x00%d:%d\n", hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Linkname, hdr.Size, hdr.Devmajor, hdr.Devminor)
		if err := sw.tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(io.MultiWriter(sw.tw, sw.h), tr); err != nil {
			return err
		}
	}
}

// source is where COPY reads: the build context, or the rootfs of a stage
// or an image (mounted read-only for this process alone).
type source struct {
	what    string // for errors: "the build context", "stage builder"…
	root    string
	context bool
	ignore  func(rel string) bool
	close   func()
}

func (b *builder) source(ctx context.Context, i int, from string) (*source, error) {
	if from == "" {
		if b.o.ContextDir == "" {
			return nil, errors.New("COPY and ADD need a build context: none was given")
		}
		s := &source{what: "the build context", root: b.o.ContextDir, context: true, close: func() {}}
		if b.ignore != nil {
			pm := b.ignore
			s.ignore = func(rel string) bool {
				m, err := pm.MatchesOrParentMatches(rel)
				return err == nil && m
			}
		}
		return s, nil
	}
	var img *image.Image
	what := "image " + from
	if j, ok := b.stageRef(from, i); ok {
		img = b.built[j].img
		what = "stage " + from
	} else {
		var err error
		img, err = b.o.Store.Resolve(ctx, from, image.ResolveOptions{Pull: image.PullMissing, Platform: &b.target,
			Notice: func(msg string) { fmt.Fprintln(b.o.Out, msg) }})
		if err != nil {
			return nil, fmt.Errorf("COPY --from=%s: %w", from, err)
		}
	}
	if img == nil || len(img.Config.RootFS.DiffIDs) == 0 {
		return nil, fmt.Errorf("COPY --from=%s: it has no files", from)
	}
	m, err := mountLayers(b.o.Store, img, "")
	if err != nil {
		return nil, err
	}
	return &source{what: what, root: m.root, close: m.close}, nil
}

// glob expands the source pattern p inside the source's root: every
// directory is opened with rootfs.OpenInRoot, so no symlink leads out of
// it. A context entry .dockerignore excludes is not found.
func (s *source) glob(p string) ([]string, error) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		p = "."
	}
	parts := strings.Split(p, "/")
	cur := []string{""}
	for _, part := range parts {
		var next []string
		for _, dir := range cur {
			if part == "." {
				next = append(next, dir)
				continue
			}
			if !hasMeta(part) {
				next = append(next, path.Join(dir, part))
				continue
			}
			names, err := s.readDir(dir)
			if err != nil {
				continue
			}
			for _, n := range names {
				if ok, err := path.Match(part, n); err != nil {
					return nil, fmt.Errorf("bad pattern %q: %w", p, err)
				} else if ok {
					next = append(next, path.Join(dir, n))
				}
			}
		}
		cur = next
	}
	var out []string
	for _, m := range cur {
		if s.ignore != nil && m != "" && s.ignore(m) {
			continue
		}
		f, err := rootfs.OpenInRoot(s.root, nonEmpty(m), unix.O_PATH)
		if err != nil {
			continue
		}
		_, excluded := s.realRel(f)
		f.Close()
		if excluded {
			continue
		}
		out = append(out, m)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// realRel is where the open entry f lies in the context, its symlinks
// resolved ("" for the context itself), and whether .dockerignore excludes
// it there: Docker's builder never receives an excluded file, whatever
// link of the context leads to it. Where that cannot be told, it is
// excluded.
func (s *source) realRel(f *os.File) (string, bool) {
	if s.ignore == nil {
		return "", false
	}
	root, err := filepath.Abs(s.root)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return "", true
	}
	p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return "", true
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", true
	}
	if rel == "." {
		return "", false
	}
	rel = filepath.ToSlash(rel)
	return rel, s.ignore(rel)
}

func nonEmpty(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func (s *source) readDir(dir string) ([]string, error) {
	f, err := rootfs.OpenInRoot(s.root, nonEmpty(dir), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

func (s *source) isDir(rel string) (bool, error) {
	f, err := rootfs.OpenInRoot(s.root, nonEmpty(rel), unix.O_PATH)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// write adds the source entry rel (a directory: its contents) to the
// spool under target.
func (s *source) write(sw *spoolWriter, rel string, isDir bool, target string) error {
	f, err := rootfs.OpenInRoot(s.root, nonEmpty(rel), unix.O_PATH)
	if err != nil {
		return err
	}
	defer f.Close()
	name := path.Base(target)
	prefix := path.Dir(target)
	if isDir {
		name, prefix = "", target
	}
	var keep func(string) bool
	if s.ignore != nil {
		real, excluded := s.realRel(f)
		if excluded {
			return fmt.Errorf("copying %s from %s: it is excluded by .dockerignore", rel, s.what)
		}
		keep = func(n string) bool {
			full := n
			if isDir {
				full = path.Join(real, n)
			} else {
				full = real
			}
			return !s.ignore(full)
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rootfs.WriteCopy(pw, f, "", name, rootfs.CopyOptions{})) }()
	err = sw.add(pr, prefix, keep)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return fmt.Errorf("copying %s from %s: %w", rel, s.what, err)
	}
	return nil
}

// isArchive tells whether the file rel is a tar archive (plain, gzip,
// bzip2, xz or zstd), which ADD unpacks; only a regular file can be one.
func (s *source) isArchive(rel string) (bool, error) {
	f, err := rootfs.OpenRegularInRoot(s.root, rel)
	if errors.Is(err, rootfs.ErrNotRegular) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	r, done, err := rootfs.Decompress(f)
	if err != nil {
		return false, nil
	}
	defer done()
	_, err = tar.NewReader(r).Next()
	return err == nil, nil
}

// unpack adds the entries of the archive rel under dest, owners kept.
func (s *source) unpack(sw *spoolWriter, rel, dest string) error {
	f, err := rootfs.OpenRegularInRoot(s.root, rel)
	if err != nil {
		return err
	}
	defer f.Close()
	r, done, err := rootfs.Decompress(f)
	if err != nil {
		return err
	}
	defer done()
	if err := sw.add(r, dest, nil); err != nil {
		return fmt.Errorf("unpacking %s: %w", rel, err)
	}
	return nil
}

// mounted is an image's rootfs mounted for this process alone.
type mounted struct {
	root  string
	close func()
	// diff writes the changes made under root (work given): the overlay's
	// upper dir, or with vfs the copy against the image's top tree.
	diff func(io.Writer) error
}

// mountLayers mounts img's layers: read-only when work is "", else with
// work/upper as the upper directory (its changes) and work/work.
func mountLayers(s *image.Store, img *image.Image, work string) (*mounted, error) {
	lowers := img.LayerDirs()
	if s.Driver() == rootfs.DriverVFS {
		return copyLayers(s, img, lowers[len(lowers)-1], work)
	}
	slices.Reverse(lowers) // top first
	var upper, wdir, target string
	var err error
	if work == "" {
		if target, err = os.MkdirTemp(filepath.Join(s.Root(), "tmp"), fmt.Sprintf(".tmp-%d-build-ro-", os.Getpid())); err != nil {
			return nil, err
		}
	} else {
		upper, wdir, target = filepath.Join(work, "upper"), filepath.Join(work, "work"), filepath.Join(work, "merged")
		for _, d := range []string{wdir, target} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return nil, err
			}
		}
	}
	f, err := rootfs.MountPrivate(lowers, upper, wdir, target)
	if err != nil {
		if work == "" {
			os.Remove(target)
		}
		return nil, err
	}
	return &mounted{root: fmt.Sprintf("/proc/self/fd/%d", f.Fd()), close: func() {
		f.Close()
		if work == "" {
			os.Remove(target)
		}
	}, diff: func(w io.Writer) error { return rootfs.WriteDiff(w, upper) }}, nil
}

// copyLayers is mountLayers for the vfs driver, where no overlay can be
// mounted: the image's top layer is already its full tree, read in place
// when work is "" (every path is opened inside it, nothing writes), else
// copied to work/merged, whose changes are its difference from that tree.
func copyLayers(s *image.Store, img *image.Image, top, work string) (*mounted, error) {
	ctx := context.Background()
	if err := s.EnsureLayers(ctx, img); err != nil {
		return nil, err
	}
	if work == "" {
		return &mounted{root: top, close: func() {}}, nil
	}
	merged := filepath.Join(work, "merged")
	if err := rootfs.CopyTree(ctx, top, merged); err != nil {
		return nil, err
	}
	return &mounted{root: merged, close: func() {},
		diff: func(w io.Writer) error { return rootfs.WriteChanges(w, top, merged) }}, nil
}
