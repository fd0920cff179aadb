package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/rootfs"
	"github.com/hako-run/hako/runtime"
)

type cpOptions struct{ archive, follow bool }

// newCpCommand is docker cp: files between a container (running or not)
// and the host, or a tar stream with "-". Every path on the container's
// side is resolved inside its rootfs (openat2 RESOLVE_IN_ROOT), never
// through a symlink out of it; what goes in is extracted as a hostile
// layer would be.
func newCpCommand(g *globalOptions) *cobra.Command {
	var o cpOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  hako cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem.\n\n" +
			"Use '-' as the source to read a tar archive from stdin and extract it to a\n" +
			"directory destination in a container. Use '-' as the destination to stream\n" +
			"a tar archive of a container source to stdout.\n\n" +
			"hako cp reaches the container's root filesystem, not its volumes or bind\n" +
			"mounts: copy those from or to their host directories.",
		Args:                  exactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			defer interruptible(cmd)()
			return runCp(cmd, g, o, args[0], args[1])
		},
	}
	cmd.Flags().BoolVarP(&o.archive, "archive", "a", false, "archive mode (copy all uid/gid information)")
	cmd.Flags().BoolVarP(&o.follow, "follow-link", "L", false, "always follow symbol link in SRC_PATH")
	cmd.Flags().BoolP("quiet", "q", false, "suppress progress output during copy (hako prints none)")
	return cmd
}

// splitCpArg splits CONTAINER:PATH as Docker does: an absolute path, a
// path without ":" or one starting with "." is local.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	c, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(c, ".") {
		return "", arg
	}
	return c, p
}

// cpPath is a path as given, with what its ending asks for.
type cpPath struct {
	given     string
	clean     string
	name      string // its last element: the name of a copy
	contents  bool   // ends in "/.": the directory's contents, not itself
	assertDir bool   // ends in "/" or "/.": must be a directory
}

func parseCpPath(p string, inContainer bool) cpPath {
	c := cpPath{given: p}
	c.contents = p == "." || strings.HasSuffix(p, "/.")
	c.assertDir = c.contents || strings.HasSuffix(p, "/")
	if inContainer {
		c.clean = path.Clean("/" + p) // relative to the container's root, as Docker
	} else {
		c.clean = filepath.Clean(p)
	}
	c.name = filepath.Base(c.clean)
	return c
}

// opener opens a path of one side: the host's, or inside a container's rootfs.
type opener func(p string, flags int) (*os.File, error)

func hostOpener(p string, flags int) (*os.File, error) {
	return os.OpenFile(p, flags|unix.O_CLOEXEC, 0)
}

func rootOpener(root string) opener {
	return func(p string, flags int) (*os.File, error) { return rootfs.OpenInRoot(root, p, flags) }
}

// cpSource is an opened source: the entry base in dir ("" is dir itself).
type cpSource struct {
	dir   *os.File
	base  string
	isDir bool
	name  string // its name in the copy: the last element of the path given
}

// openSource opens p, following a symlink at its end only with follow or
// when p asserts a directory, as Docker does.
func openSource(open opener, p cpPath, follow bool) (*cpSource, error) {
	s := &cpSource{name: p.name}
	var st unix.Stat_t
	if follow || p.assertDir || p.clean == "/" || p.clean == "." {
		f, err := open(p.clean, unix.O_PATH)
		if err != nil {
			return nil, err
		}
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			f.Close()
			return nil, err
		}
		s.dir = f
	} else {
		f, err := open(filepath.Dir(p.clean), unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return nil, err
		}
		s.dir, s.base = f, filepath.Base(p.clean)
		if err := unix.Fstatat(int(f.Fd()), s.base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			f.Close()
			return nil, err
		}
	}
	s.isDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
	if p.assertDir && !s.isDir {
		s.dir.Close()
		return nil, fmt.Errorf("%s: not a directory", p.given)
	}
	return s, nil
}

// cpTarget decides, from Docker's rules, where a copy of src goes: into
// the directory into (the destination itself, or its parent), with the
// top entry named name ("" for a directory's contents).
func cpTarget(open opener, src *cpSource, srcPath, dst cpPath) (into *os.File, name string, err error) {
	f, err := open(dst.clean, unix.O_PATH)
	if err == nil {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			f.Close()
			return nil, "", err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if srcPath.contents || src.name == "/" {
				return f, "", nil
			}
			return f, src.name, nil
		}
		f.Close()
		if src.isDir {
			return nil, "", fmt.Errorf("cannot copy a directory to the file %s", dst.given)
		}
		if dst.assertDir {
			return nil, "", fmt.Errorf("%s: not a directory", dst.given)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	} else if dst.assertDir && !src.isDir {
		return nil, "", fmt.Errorf("no such directory: %s", dst.given)
	}
	parent, err := open(filepath.Dir(dst.clean), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, "", err
	}
	return parent, filepath.Base(dst.clean), nil
}

// fdPath names an open file from any thread and mount namespace.
func fdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

func runCp(cmd *cobra.Command, g *globalOptions, o cpOptions, srcArg, dstArg string) error {
	srcCtr, srcP := splitCpArg(srcArg)
	dstCtr, dstP := splitCpArg(dstArg)
	switch {
	case srcCtr != "" && dstCtr != "":
		return errors.New("copying between containers is not supported")
	case srcCtr == "" && dstCtr == "":
		return errors.New("must specify at least one container source")
	case srcP == "":
		return errors.New("source can not be empty")
	case dstP == "":
		return errors.New("destination can not be empty")
	}
	ref := srcCtr + dstCtr
	info, err := findContainer(g, ref)
	if err != nil {
		return err
	}
	ctrArg := srcP
	if dstCtr != "" {
		ctrArg = dstP
	}
	var rootf *os.File
	var resolve func(string) string // a path given in the container → in rootf
	if m, ok := runtime.MountAt(info, ctrArg); ok {
		// A mount lives in the container's mount namespace only: a bind
		// mount is reached through its host directory, as the root.
		st, err := os.Stat(m.Source)
		switch {
		case m.Type != "bind":
			return fmt.Errorf("%s is on the %s filesystem mounted at %s in container %s: hako cp reaches the container's root filesystem, volumes and bind mounts only", ctrArg, m.Type, m.Destination, ref)
		case err != nil:
			return fmt.Errorf("%s is on the bind mount of %s at %s in container %s: %w", ctrArg, m.Source, m.Destination, ref, err)
		case dstCtr != "" && m.ReadOnly:
			return fmt.Errorf("mounted volume is marked read-only: %s in container %s", m.Destination, ref)
		case !st.IsDir() && dstCtr != "":
			return fmt.Errorf("%s in container %s is the file %s bind-mounted from the host: hako cp cannot replace it, write to that file instead", m.Destination, ref, m.Source)
		}
		// A bind-mounted file is reached in its host directory.
		rootDir := m.Source
		if !st.IsDir() {
			rootDir = filepath.Dir(m.Source)
			if path.Clean("/"+ctrArg) != m.Destination { // below a file: nothing
				return fmt.Errorf("Could not find the file %s in container %s", ctrArg, ref)
			}
		}
		if rootf, err = os.OpenFile(rootDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("%s is on the bind mount of %s at %s in container %s, which hako cp cannot reach: %w", ctrArg, m.Source, m.Destination, ref, err)
		}
		defer rootf.Close()
		resolve = func(p string) string {
			if !st.IsDir() {
				return "/" + filepath.Base(m.Source)
			}
			return "/" + strings.TrimPrefix(p, m.Destination)
		}
	} else {
		if dstCtr != "" && info.Spec != nil && info.Spec.Root != nil && info.Spec.Root.Readonly {
			return fmt.Errorf("container rootfs is marked read-only: %s", ref) // Docker's words
		}
		var done func()
		if rootf, done, err = runtime.OpenRootfs(g.root, info); err != nil {
			return err
		}
		defer done()
		resolve = func(p string) string { return p }
	}
	inRoot := rootOpener(fdPath(rootf))
	ctrPath := parseCpPath(ctrArg, true)
	ctrPath.clean = path.Clean(resolve(ctrPath.clean))
	notFound := func(p string, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("Could not find the file %s in container %s", p, ref)
		}
		return err
	}
	if srcCtr != "" {
		return copyOut(cmd, o, inRoot, ctrPath, dstP, notFound)
	}
	return copyIn(cmd, o, inRoot, srcP, ctrPath, notFound)
}

// copyOut copies src out of the container to dst on the host (or stdout).
func copyOut(cmd *cobra.Command, o cpOptions, inRoot opener, src cpPath, dstArg string, notFound func(string, error) error) error {
	s, err := openSource(inRoot, src, o.follow)
	if err != nil {
		return notFound(src.given, err)
	}
	defer s.dir.Close()
	if dstArg == "-" {
		name := s.name
		if src.contents || name == "/" {
			name = ""
		}
		// A stream keeps the owners, as Docker's does.
		return rootfs.WriteCopy(cmd.OutOrStdout(), s.dir, s.base, name, rootfs.CopyOptions{KeepOwner: true})
	}
	into, name, err := cpTarget(hostOpener, s, src, parseCpPath(dstArg, false))
	if err != nil {
		return err
	}
	defer into.Close()
	return pipeCopy(s, name, o, fdPath(into))
}

// copyIn copies srcArg from the host (or a tar on stdin) into the container at dst.
func copyIn(cmd *cobra.Command, o cpOptions, inRoot opener, srcArg string, dst cpPath, notFound func(string, error) error) error {
	if srcArg == "-" {
		d, err := inRoot(dst.clean, unix.O_PATH|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOTDIR) {
			return fmt.Errorf("destination %q must be a directory", dst.given)
		}
		if err != nil {
			return notFound(dst.given, err)
		}
		defer d.Close()
		return rootfs.ExtractCopy(fdPath(d), cmd.InOrStdin())
	}
	srcPath := parseCpPath(srcArg, false)
	s, err := openSource(hostOpener, srcPath, o.follow)
	if err != nil {
		return err
	}
	defer s.dir.Close()
	into, name, err := cpTarget(inRoot, s, srcPath, dst)
	if err != nil {
		return notFound(path.Dir(dst.clean), err)
	}
	defer into.Close()
	return pipeCopy(s, name, o, fdPath(into))
}

// pipeCopy streams the source as a tar into ExtractCopy of dir.
func pipeCopy(s *cpSource, name string, o cpOptions, dir string) error {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(rootfs.WriteCopy(pw, s.dir, s.base, name, rootfs.CopyOptions{KeepOwner: o.archive}))
	}()
	err := rootfs.ExtractCopy(dir, pr)
	pr.CloseWithError(io.ErrClosedPipe)
	return err
}
