package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	// maxCachedDirs bounds the open directory fds kept between entries.
	maxCachedDirs = 256
)

// extractor applies tar entries under one root directory fd. Every change is made with an *at
// syscall on a parent directory fd resolved inside the root, on a single final name that is
// never followed.
type extractor struct {
	ctx  context.Context
	root int
	buf  []byte
	dirs map[string]int // directory fds by layer path, resolved inside root
	// metas are the owner group and setgid bit of the directories in dirs
	// (and "."): what a node made in one inherits.
	metas map[string]dirMeta
	// euid and egid own what this process creates; umask is the process's
	// (-1: unknown). With them a node is created with its final mode and
	// owner where it can be, and no chown or chmod follows (see made).
	euid, egid, umask int
	// inheritsACL: the tree may hold a default ACL, which decides a new
	// node's mode instead of the umask: every mode is set explicitly.
	inheritsACL bool
	stale       bool // something was removed: cached fds may point at deleted dirs
	times       map[string]times
	lowers      []string
	lowFDs      []int // O_PATH fds of lowers, opened on first use
	// implicit are directories made without an entry of their own and
	// without a lower to copy metadata from: FixImplicitDirs can give them
	// their lowers' metadata later, when layers are extracted in parallel.
	implicit map[string]bool
	// touched is set in flat mode (ApplyOptions.Flat): the paths this
	// layer's entries made, and their parents. A whiteout only removes
	// what the lowers put there (OCI: it applies to lower layers only).
	touched map[string]bool
}

type times struct{ atime, mtime unix.Timespec }

func newExtractor(ctx context.Context, dir string, lowers []string, buf []byte) (*extractor, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening layer directory %s: %w", dir, err)
	}
	x := &extractor{
		ctx:    ctx,
		root:   fd,
		buf:    buf,
		dirs:   map[string]int{},
		metas:  map[string]dirMeta{},
		times:  map[string]times{},
		lowers: lowers,
		euid:   unix.Geteuid(),
		egid:   unix.Getegid(),
		umask:  processUmask(),

		implicit: map[string]bool{},
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("reading layer directory %s: %w", dir, err)
	}
	x.metas["."] = dirMeta{gid: int(st.Gid), setgid: st.Mode&unix.S_ISGID != 0}
	// A default ACL on the layer directory (inherited from its parent)
	// would be inherited by everything made in it.
	if _, err := unix.Fgetxattr(fd, "system.posix_acl_default", nil); err != unix.ENODATA {
		x.inheritsACL = true
	}
	return x, nil
}

func (x *extractor) close() {
	x.dropDirs()
	for _, fd := range x.lowFDs {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	unix.Close(x.root)
}

func (x *extractor) dropDirs() {
	for p, fd := range x.dirs {
		unix.Close(fd)
		delete(x.dirs, p)
		delete(x.metas, p)
	}
	x.stale = false
}

// cleanName turns a tar name into a path relative to the layer root ("." is the root).
// A leading "/" is dropped; a name that climbs out with ".." is refused.
func cleanName(name string) (string, bool) {
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// apply extracts one entry; r holds its contents.
func (x *extractor) apply(hdr *tar.Header, r io.Reader) error {
	// Cached fds are only dropped between entries, so an fd in use is never closed.
	if x.stale || len(x.dirs) > maxCachedDirs {
		x.dropDirs()
	}
	name, ok := cleanName(hdr.Name)
	if !ok {
		return fmt.Errorf("%w: entry %q escapes the layer directory", errRefused, hdr.Name)
	}
	if err := x.applyEntry(name, hdr, r); err != nil {
		if errors.Is(err, errRefused) {
			return err
		}
		return fmt.Errorf("extracting %q: %w", hdr.Name, err)
	}
	return nil
}

func (x *extractor) applyEntry(name string, hdr *tar.Header, r io.Reader) error {
	if hdr.Uid < 0 || hdr.Gid < 0 || int64(hdr.Uid) >= math.MaxUint32 || int64(hdr.Gid) >= math.MaxUint32 {
		return fmt.Errorf("invalid owner %d:%d", hdr.Uid, hdr.Gid)
	}
	if name == "." {
		return x.applyRoot(hdr)
	}
	parent, base := path.Dir(name), path.Base(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		if x.touched != nil {
			return x.flatWhiteout(hdr, parent, base)
		}
		return x.whiteout(hdr, parent, base)
	}
	if x.touched != nil {
		for p := name; p != "."; p = path.Dir(p) {
			x.touched[p] = true
		}
	}
	pfd, err := x.dir(parent, true)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(pfd, name, base, hdr)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		return x.file(pfd, parent, base, hdr, r)
	case tar.TypeSymlink:
		return x.symlink(pfd, base, hdr)
	case tar.TypeLink:
		return x.hardlink(pfd, name, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return x.mknod(pfd, base, hdr)
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}

// applyRoot applies a "./" entry's metadata to the layer directory itself.
func (x *extractor) applyRoot(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: entry %q replaces the layer directory with type %q", errRefused, hdr.Name, hdr.Typeflag)
	}
	if err := x.setFdMeta(x.root, hdr, made{}); err != nil {
		return err
	}
	x.metas["."] = headerDirMeta(hdr)
	x.times["."] = headerTimes(hdr)
	return nil
}

// dir returns an fd of the layer directory p, resolved inside the root. With create, missing
// directories are made, taking their metadata from the lowers.
func (x *extractor) dir(p string, create bool) (int, error) {
	if p == "." {
		return x.root, nil
	}
	if fd, ok := x.dirs[p]; ok {
		return fd, nil
	}
	fd, err := openInRoot(x.root, p, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == unix.ENOENT && create {
		fd, err = x.implicitDir(p)
	}
	if err != nil {
		return -1, fmt.Errorf("opening directory %q: %w", p, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("reading directory %q: %w", p, err)
	}
	x.dirs[p] = fd
	x.metas[p] = dirMeta{gid: int(st.Gid), setgid: st.Mode&unix.S_ISGID != 0}
	return fd, nil
}

// implicitDir creates directory p, which the layer implies without an entry of its own.
func (x *extractor) implicitDir(p string) (int, error) {
	pfd, err := x.dir(path.Dir(p), true)
	if err != nil {
		return -1, err
	}
	base := path.Base(p)
	if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
		if err == unix.EEXIST {
			// openat2 saw nothing there, mkdir sees something: a dangling symlink.
			return -1, errors.New("a symlink on the way points to nothing inside the layer")
		}
		return -1, err
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	st, found, err := x.lowerDir(p)
	if err == nil {
		err = x.setImplicitMeta(fd, p, st, found)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (x *extractor) setImplicitMeta(fd int, p string, st unix.Stat_t, found bool) error {
	if !found {
		x.implicit[p] = true
		return unix.Fchmod(fd, 0o755)
	}
	if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	x.times[p] = times{atime: st.Atim, mtime: st.Mtim}
	return nil
}

// lowerDir finds directory p in the nearest lower that has something at p. Lowers are read
// without following any symlink. A non-directory at p hides the lowers below it, as in overlay.
func (x *extractor) lowerDir(p string) (unix.Stat_t, bool, error) {
	var st unix.Stat_t
	for i := range x.lowers {
		lfd, err := x.lowerFD(i)
		if err != nil {
			return st, false, err
		}
		fd, err := unix.Openat2(lfd, p, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return st, false, nil // a symlink or file on the way: overlay would not merge
		}
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err != nil {
			return st, false, fmt.Errorf("reading lower %s: %w", x.lowers[i], err)
		}
		return st, st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
	}
	return st, false, nil
}

func (x *extractor) lowerFD(i int) (int, error) {
	if x.lowFDs == nil {
		x.lowFDs = make([]int, len(x.lowers))
		for j := range x.lowFDs {
			x.lowFDs[j] = -1
		}
	}
	if x.lowFDs[i] < 0 {
		fd, err := unix.Open(x.lowers[i], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("opening lower %s: %w", x.lowers[i], err)
		}
		x.lowFDs[i] = fd
	}
	return x.lowFDs[i], nil
}

// clear removes whatever is at base in pfd, without following symlinks, to make room for a
// new entry.
func (x *extractor) clear(pfd int, base string) error {
	x.stale = true
	if err := removeAllAt(pfd, base); err != nil {
		return fmt.Errorf("replacing existing entry: %w", err)
	}
	return nil
}

// create runs mk, and when something already exists at base, removes it and runs mk again.
func (x *extractor) create(pfd int, base string, mk func() error) error {
	err := mk()
	if err == unix.EEXIST {
		if err = x.clear(pfd, base); err != nil {
			return err
		}
		err = mk()
	}
	return err
}

func (x *extractor) mkdir(pfd int, name, base string, hdr *tar.Header) error {
	m, perm := x.newNode(path.Dir(name), hdr, 0o700)
	err := unix.Mkdirat(pfd, base, perm)
	if err == unix.EEXIST {
		m = made{} // an existing directory keeps nothing of its own
		// A directory over a directory merges; over anything else it replaces.
		var st unix.Stat_t
		if err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err = x.clear(pfd, base); err == nil {
				err = unix.Mkdirat(pfd, base, 0o700)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening new directory: %w", err)
	}
	if err := x.setFdMeta(fd, hdr, m); err != nil {
		unix.Close(fd)
		return err
	}
	// Later entries are likely to go inside: keep the fd.
	if old, ok := x.dirs[name]; ok {
		unix.Close(old)
	}
	x.dirs[name] = fd
	x.metas[name] = headerDirMeta(hdr)
	x.times[name] = headerTimes(hdr)
	delete(x.implicit, name) // its own entry decides its metadata
	return nil
}

func (x *extractor) file(pfd int, parent, base string, hdr *tar.Header, r io.Reader) error {
	if hdr.Size < 0 {
		return fmt.Errorf("negative size %d", hdr.Size)
	}
	m, perm := x.newNode(parent, hdr, 0o600)
	fd := -1
	err := x.create(pfd, base, func() (err error) {
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating file: %w", err)
	}
	defer unix.Close(fd)
	if err := x.copyData(fd, r, hdr.Size, isSparse(hdr)); err != nil {
		return err
	}
	if err := x.setFdMeta(fd, hdr, m); err != nil {
		return err
	}
	ts := headerTimes(hdr)
	if err := futimens(fd, ts); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// copyData writes size bytes from r to fd. For sparse entries, all-zero chunks become holes,
// so a tiny sparse entry cannot fill the disk.
func (x *extractor) copyData(fd int, r io.Reader, size int64, sparse bool) error {
	var done int64
	for done < size {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		chunk := x.buf
		if rest := size - done; rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		n, err := io.ReadFull(r, chunk)
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("reading file data: %w", err)
		}
		if sparse && allZero(chunk[:n]) {
			if _, err := unix.Seek(fd, int64(n), io.SeekCurrent); err != nil {
				return fmt.Errorf("seeking: %w", err)
			}
		} else if err := writeAll(fd, chunk[:n]); err != nil {
			return fmt.Errorf("writing file data: %w", err)
		}
		done += int64(n)
	}
	if sparse {
		if err := unix.Ftruncate(fd, size); err != nil {
			return fmt.Errorf("truncating: %w", err)
		}
	}
	return nil
}

func (x *extractor) symlink(pfd int, base string, hdr *tar.Header) error {
	// The target is kept verbatim: absolute targets are normal in images.
	err := x.create(pfd, base, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) })
	if err != nil {
		return fmt.Errorf("creating symlink: %w", err)
	}
	return x.setAtMeta(pfd, base, hdr, false)
}

func (x *extractor) mknod(pfd int, base string, hdr *tar.Header) error {
	var kind uint32
	switch hdr.Typeflag {
	case tar.TypeChar:
		kind = unix.S_IFCHR
	case tar.TypeBlock:
		kind = unix.S_IFBLK
	default:
		kind = unix.S_IFIFO
	}
	if hdr.Devmajor < 0 || hdr.Devminor < 0 || hdr.Devmajor > math.MaxUint32 || hdr.Devminor > math.MaxUint32 {
		return fmt.Errorf("invalid device number %d,%d", hdr.Devmajor, hdr.Devminor)
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	err := x.create(pfd, base, func() error { return unix.Mknodat(pfd, base, kind|0o600, int(dev)) })
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	return x.setAtMeta(pfd, base, hdr, true)
}

// hardlink links name to another path of this layer. Its metadata is the target's: nothing is
// re-applied, so a link to a symlink can never chmod the symlink's target.
func (x *extractor) hardlink(pfd int, name, base string, hdr *tar.Header) error {
	target, ok := cleanName(hdr.Linkname)
	if !ok {
		return fmt.Errorf("%w: hardlink %q to %q escapes the layer directory", errRefused, hdr.Name, hdr.Linkname)
	}
	if target == "." || target == name {
		return fmt.Errorf("invalid hardlink target %q", hdr.Linkname)
	}
	tpfd, err := x.dir(path.Dir(target), false)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	tbase := path.Base(target)
	// Flags 0: a symlink at tbase is linked itself, never followed.
	err = x.create(pfd, base, func() error { return unix.Linkat(tpfd, tbase, pfd, base, 0) })
	if err != nil {
		return fmt.Errorf("hardlink to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// whiteout turns ".wh.NAME" into a 0/0 char device at NAME and ".wh..wh..opq" into the opaque
// xattr on its directory, as overlayfs expects.
func (x *extractor) whiteout(hdr *tar.Header, parent, base string) error {
	pfd, err := x.dir(parent, true)
	if err != nil {
		return err
	}
	if base == opaqueMarker {
		if err := unix.Fsetxattr(pfd, opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("marking %q opaque: %w", parent, err)
		}
		return nil
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." || strings.HasPrefix(target, whiteoutPrefix) {
		return fmt.Errorf("invalid whiteout %q", hdr.Name)
	}
	err = x.create(pfd, target, func() error { return unix.Mknodat(pfd, target, unix.S_IFCHR, 0) })
	if err != nil {
		return fmt.Errorf("creating whiteout: %w", err)
	}
	if err := unix.Fchownat(pfd, target, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown whiteout: %w", err)
	}
	return nil
}

// dirMeta is what a node made in a directory inherits from it: with the setgid bit, the
// directory's group, and for a directory the bit itself.
type dirMeta struct {
	gid    int
	setgid bool
}

func headerDirMeta(hdr *tar.Header) dirMeta {
	return dirMeta{gid: hdr.Gid, setgid: hdr.Mode&unix.S_ISGID != 0}
}

// made says what a node this extraction has just created already has of its entry's
// metadata (newNode): what it has is not set again.
type made struct{ owner, mode bool }

// newNode returns the permission bits to create an entry's node with in the directory
// parent, and what the new node will then have of the entry's metadata, so that a file
// owned by the extracting user with a plain mode takes no chown and no chmod. The owner is
// known when the entry's is this process's and the directory's group is its group too
// (a setgid directory or grpid mount hands down the directory's group); the mode when it
// has no setuid, setgid or sticky bit, the umask takes none of its bits, the directory is
// not setgid (a directory made in it would be), no default ACL can be inherited and the
// entry sets no xattrs (an ACL xattr changes the mode).
func (x *extractor) newNode(parent string, hdr *tar.Header, otherwise uint32) (made, uint32) {
	perm := uint32(hdr.Mode) & 0o777
	var m made
	dm, known := x.metas[parent]
	if known && dm.gid == x.egid && hdr.Uid == x.euid && hdr.Gid == x.egid {
		m.owner = true
	}
	if known && !dm.setgid && uint32(hdr.Mode)&0o7777 == perm && x.umask >= 0 && perm&uint32(x.umask) == 0 &&
		!x.inheritsACL && x.touched == nil && !hasXattrs(hdr) {
		m.mode = true
	}
	if !m.mode {
		perm = otherwise // set explicitly after chown and xattrs
	}
	return m, perm
}

// setFdMeta applies owner, xattrs and mode, in that order: chown clears setuid bits and
// security.capability, so it must come first. What m says the node has is skipped.
func (x *extractor) setFdMeta(fd int, hdr *tar.Header, m made) error {
	if !m.owner {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	for _, xa := range layerXattrs(hdr) {
		if err := unix.Fsetxattr(fd, xa.name, []byte(xa.value), 0); err != nil && !ignorableXattrErr(xa.name, err) {
			return fmt.Errorf("setting xattr %s: %w", xa.name, err)
		}
	}
	if !m.mode {
		if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	return nil
}

func hasXattrs(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			return true
		}
	}
	return false
}

// setAtMeta applies metadata to a symlink, device or fifo by name in pfd, never opening it.
// Symlinks keep their mode (Linux ignores it).
func (x *extractor) setAtMeta(pfd int, base string, hdr *tar.Header, chmod bool) error {
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if xattrs := layerXattrs(hdr); len(xattrs) > 0 {
		// lsetxattr on the name inside the parent's magic link: the final name is not followed.
		p := fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base)
		for _, xa := range xattrs {
			if err := unix.Lsetxattr(p, xa.name, []byte(xa.value), 0); err != nil && !ignorableXattrErr(xa.name, err) {
				return fmt.Errorf("setting xattr %s: %w", xa.name, err)
			}
		}
	}
	if chmod {
		// The node was just created by us, in a tree nothing else writes to: not a symlink.
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode)&0o7777, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	ts := headerTimes(hdr)
	if err := unix.UtimesNanoAt(pfd, base, []unix.Timespec{ts.atime, ts.mtime}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// finish sets directory times, deepest first (creating children changes a parent's mtime),
// and syncs the filesystem once.
func (x *extractor) finish() error {
	if x.stale {
		x.dropDirs()
	}
	paths := make([]string, 0, len(x.times))
	for p := range x.times {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return depth(paths[i]) > depth(paths[j]) })
	for _, p := range paths {
		if err := x.setDirTimes(p); err != nil {
			return fmt.Errorf("setting times of %q: %w", p, err)
		}
	}
	if err := unix.Syncfs(x.root); err != nil {
		return fmt.Errorf("syncing layer: %w", err)
	}
	return nil
}

func (x *extractor) setDirTimes(p string) error {
	fd, cached := x.dirs[p]
	if p == "." {
		fd, cached = x.root, true
	}
	if !cached {
		var err error
		fd, err = openInRoot(x.root, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
			return nil // replaced or removed by a later entry
		}
		if err != nil {
			return err
		}
		defer unix.Close(fd)
	}
	return futimens(fd, x.times[p])
}

func depth(p string) int {
	if p == "." {
		return -1
	}
	return strings.Count(p, "/")
}

func headerTimes(hdr *tar.Header) times {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return times{atime: timespec(at), mtime: timespec(hdr.ModTime)}
}

// timespec converts a header time; on 32-bit arm a time past 2038 does not
// fit and becomes the latest one that does.
func timespec(t time.Time) unix.Timespec {
	ts, err := unix.TimeToTimespec(t)
	if err != nil {
		ts, _ = unix.TimeToTimespec(time.Unix(math.MaxInt32, 0))
	}
	return ts
}

type xattr struct{ name, value string }

// layerXattrs returns the xattrs of a PAX header that a layer may set. trusted.* (overlay's
// own whiteout and redirect markers among them) and user.overlay.* are dropped.
func layerXattrs(hdr *tar.Header) []xattr {
	var out []xattr
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if ok && allowedXattr(name) {
			out = append(out, xattr{name, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func allowedXattr(name string) bool {
	switch {
	case strings.HasPrefix(name, "user.overlay."):
		return false
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "security."),
		strings.HasPrefix(name, "system.posix_acl_"):
		return true
	}
	return false
}

// ignorableXattrErr reports user.* xattrs the filesystem or file type cannot hold
// (tmpfs on old kernels, device nodes); other namespaces must be kept.
func ignorableXattrErr(name string, err error) bool {
	return strings.HasPrefix(name, "user.") && (err == unix.ENOTSUP || err == unix.EPERM)
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
