package rootfs

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// overlayXattrPrefix marks overlayfs's own bookkeeping, never part of a layer.
const overlayXattrPrefix = "trusted.overlay."

// WriteDiff writes the changes an overlay upper directory holds as an OCI
// layer (an uncompressed tar) to w: files, directories, links and devices
// as they are, with modes, ownership (numeric), xattrs and hardlinks;
// overlay whiteouts (0/0 character devices or the trusted.overlay.whiteout
// xattr) as ".wh.NAME"; opaque directories (trusted.overlay.opaque=y) with
// a ".wh..wh..opq" entry. Entries are sorted and carry only their mtime
// (whole seconds), so the same upper directory gives the same bytes.
//
// skip lists paths (relative, slash-separated) that are no changes, such as
// the empty targets of bind mounts; a directory left holding nothing but
// skipped paths is left out too.
func WriteDiff(w io.Writer, upper string, skip ...string) error {
	skipped := map[string]bool{}
	for _, p := range skip {
		skipped[path.Clean(p)] = true
	}
	var rels []string
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the diff of %s: %w", upper, err)
	}
	return writeEntries(w, upper, rels, nil, skipped)
}

// writeEntries writes the entries rels of the tree at root (sorted,
// parents first) as a layer tar; those in gone are written as whiteouts.
func writeEntries(w io.Writer, upper string, rels []string, gone, skipped map[string]bool) error {
	// A directory is dropped when something below it was skipped and
	// nothing below it is kept.
	hasSkipped, hasKept := map[string]bool{}, map[string]bool{}
	for _, rel := range rels {
		mark := hasKept
		if skipped[rel] {
			mark = hasSkipped
		}
		for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
			mark[dir] = true
		}
	}
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{} // (dev, inode) → first path, for hardlinks
	for _, rel := range rels {
		if skipped[rel] || (hasSkipped[rel] && !hasKept[rel]) {
			continue
		}
		if gone[rel] {
			if err := writeWhiteout(tw, upper, rel); err != nil {
				return fmt.Errorf("writing the diff of %s: %w", upper, err)
			}
			continue
		}
		if err := writeDiffEntry(tw, upper, rel, links); err != nil {
			return fmt.Errorf("writing the diff of %s: %w", upper, err)
		}
	}
	return tw.Close()
}

func writeDiffEntry(tw *tar.Writer, upper, rel string, links map[[2]uint64]string) error {
	shown := filepath.Join(upper, filepath.FromSlash(rel))
	// A running container (commit --pause=false) may swap a parent
	// directory for a symlink after the walk: the parent is opened inside
	// the tree and the entry read through it, so that no metadata, link
	// target or xattr of a file outside the tree reaches the layer.
	parent, err := OpenInRoot(upper, path.Dir(rel), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer parent.Close()
	p := fmt.Sprintf("/proc/self/fd/%d/%s", parent.Fd(), path.Base(rel))
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: shown, Err: err}
	}
	mtime := time.Unix(int64(st.Mtim.Sec), 0) // int32 on 32-bit arm
	typ := st.Mode & unix.S_IFMT
	// Whiteouts first: overlay may share one inode among them, which
	// must not turn into hardlinks.
	if isWhiteout(p, &st) {
		dir, base := filepath.Split(rel)
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base, Mode: 0o600, ModTime: mtime, Format: tar.FormatPAX})
	}
	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: mtime,
		Format:  tar.FormatPAX,
	}
	xattrs, err := readXattrs(p)
	if err != nil {
		return err
	}
	opaque := false
	if typ == unix.S_IFDIR && xattrs[opaqueXattr] == "y" {
		opaque = true
	}
	for k, v := range xattrs {
		if strings.HasPrefix(k, overlayXattrPrefix) {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = v
	}
	switch typ {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case unix.S_IFREG:
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := links[key]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return tw.WriteHeader(hdr)
		}
		if st.Nlink > 1 {
			links[key] = rel
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if typ == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev)))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets do not go into images
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		// A running container (commit --pause=false) may swap a directory
		// for a symlink during the walk: the content is opened inside the
		// tree (in the parent opened above: openat2 is not needed, which
		// kernels before 5.6 lack), never through a final link, and must
		// be the file stat saw.
		fd, err := unix.Openat(int(parent.Fd()), path.Base(rel), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: shown, Err: err}
		}
		f := os.NewFile(uintptr(fd), shown)
		var fst unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &fst); err != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
			f.Close()
			return fmt.Errorf("%s changed while its layer was written", shown)
		}
		n, err := io.Copy(tw, io.LimitReader(f, hdr.Size))
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", shown, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("%s shrank while its layer was written", shown)
		}
	}
	if opaque {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel + "/" + opaqueMarker, Mode: 0o600, ModTime: mtime, Format: tar.FormatPAX})
	}
	return nil
}

// isWhiteout tells overlay's marks of a deleted entry: a 0/0 character
// device, or a file carrying trusted.overlay.whiteout.
func isWhiteout(p string, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		return st.Rdev == 0
	case unix.S_IFREG:
		_, err := unix.Lgetxattr(p, "trusted.overlay.whiteout", nil)
		return err == nil
	}
	return false
}

// readXattrs returns every extended attribute of p (not following links).
func readXattrs(p string) (map[string]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if err != nil || size == 0 {
		if err == unix.ENOTSUP {
			err = nil
		}
		return nil, err
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil, fmt.Errorf("listing xattrs of %s: %w", p, err)
	}
	names := strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00")
	sort.Strings(names)
	out := make(map[string]string, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		vsize, err := unix.Lgetxattr(p, n, nil)
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s of %s: %w", n, p, err)
		}
		v := make([]byte, vsize)
		if vsize > 0 {
			if vsize, err = unix.Lgetxattr(p, n, v); err != nil {
				return nil, fmt.Errorf("reading xattr %s of %s: %w", n, p, err)
			}
		}
		out[n] = string(v[:vsize])
	}
	return out, nil
}
