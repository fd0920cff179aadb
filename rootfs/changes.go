package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// WriteChanges writes what changed from the tree base to the tree dir as an
// OCI layer (an uncompressed tar) to w, as WriteDiff does for an overlay
// upper dir: a vfs container's commit, dir being its rootfs and base its
// image's top layer (of which dir began as a copy). An entry is written
// when it is new, or its type, mode, owner, size, mtime, device number,
// symlink target or xattrs differ; a directory's unchanged content is not
// written again; an entry of base missing from dir is written as a
// ".wh.NAME" whiteout. skip is as for WriteDiff.
func WriteChanges(w io.Writer, base, dir string, skip ...string) error {
	skipped := map[string]bool{}
	for _, p := range skip {
		skipped[path.Clean(p)] = true
	}
	ch := &changes{base: base, dir: dir, gone: map[string]bool{}}
	if err := ch.walk("."); err != nil {
		return fmt.Errorf("writing the changes of %s: %w", dir, err)
	}
	sort.Strings(ch.rels) // parents sort before their children
	return writeEntries(w, dir, ch.rels, ch.gone, skipped)
}

type changes struct {
	base, dir string
	rels      []string        // entries to write, relative, slash-separated
	gone      map[string]bool // of those, the whiteouts
}

// walk compares the directory rel of both trees.
func (ch *changes) walk(rel string) error {
	names, err := readNames(filepath.Join(ch.dir, rel))
	if err != nil {
		return err
	}
	lowerNames, err := readNames(filepath.Join(ch.base, rel))
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) {
		return err
	}
	for n := range lowerNames {
		if _, ok := names[n]; !ok {
			p := path.Join(rel, n)
			ch.rels = append(ch.rels, p)
			ch.gone[p] = true
		}
	}
	for n := range names {
		p := path.Join(rel, n)
		var st, lst unix.Stat_t
		if err := unix.Lstat(filepath.Join(ch.dir, p), &st); err != nil {
			return err
		}
		lerr := unix.Lstat(filepath.Join(ch.base, p), &lst)
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if lerr != nil || lst.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT {
			// New, or of another type: written whole.
			ch.rels = append(ch.rels, p)
			if isDir {
				if err := ch.all(p); err != nil {
					return err
				}
			}
			continue
		}
		changed, err := ch.differs(p, &st, &lst)
		if err != nil {
			return err
		}
		if changed {
			ch.rels = append(ch.rels, p)
		}
		if isDir {
			if err := ch.walk(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// all adds everything below the new directory rel.
func (ch *changes) all(rel string) error {
	return filepath.WalkDir(filepath.Join(ch.dir, rel), func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(ch.dir, p)
		if err == nil && r != rel {
			ch.rels = append(ch.rels, filepath.ToSlash(r))
		}
		return err
	})
}

// differs compares an entry present in both trees with the same type.
func (ch *changes) differs(rel string, st, lst *unix.Stat_t) (bool, error) {
	if st.Mode != lst.Mode || st.Uid != lst.Uid || st.Gid != lst.Gid || st.Rdev != lst.Rdev ||
		st.Mtim != lst.Mtim || (st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Size != lst.Size) {
		return true, nil
	}
	p, lp := filepath.Join(ch.dir, rel), filepath.Join(ch.base, rel)
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		t, err := os.Readlink(p)
		if err != nil {
			return false, err
		}
		lt, err := os.Readlink(lp)
		if err != nil || t != lt {
			return true, nil
		}
	}
	x, err := readXattrs(p)
	if err != nil {
		return false, err
	}
	lx, err := readXattrs(lp)
	if err != nil {
		return false, err
	}
	return !maps.Equal(x, lx), nil
}

// readNames lists a directory as a set.
func readNames(dir string) (map[string]struct{}, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	set := make(map[string]struct{}, len(names))
	for _, n := range names {
		set[n] = struct{}{}
	}
	return set, nil
}

// writeWhiteout writes the whiteout of rel, which dir no longer has, with
// its parent's mtime (whole seconds) so the same tree gives the same bytes.
func writeWhiteout(tw *tar.Writer, dir, rel string) error {
	var st unix.Stat_t
	mtime := time.Unix(0, 0)
	if unix.Lstat(filepath.Join(dir, filepath.FromSlash(path.Dir(rel))), &st) == nil {
		mtime = time.Unix(int64(st.Mtim.Sec), 0) // int32 on 32-bit arm
	}
	d, b := path.Split(rel)
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: d + whiteoutPrefix + b, Mode: 0o600, ModTime: mtime, Format: tar.FormatPAX})
}
