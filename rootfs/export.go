package rootfs

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"
	"runtime"

	"golang.org/x/sys/unix"
)

// WriteTree writes the tree that layers (top first, each an extracted
// layer or an upper directory) make together as a tar to w: a container's
// root filesystem as `export` gives it. The overlay is mounted at scratch
// (an empty directory) in a mount namespace of one thread, so nothing is
// left mounted should hako die half way.
func WriteTree(w io.Writer, layers []string, scratch string) error {
	if len(layers) < 2 {
		return fmt.Errorf("exporting a tree needs at least two layers, got %d", len(layers))
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine, taking its
		// mount namespace with it.
		runtime.LockOSThread()
		errc <- writeTreePrivate(w, layers, scratch)
	}()
	return <-errc
}

func writeTreePrivate(w io.Writer, layers []string, scratch string) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unsharing the mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := Mount(layers, "", "", scratch); err != nil {
		return err
	}
	defer Unmount(scratch)
	// Mount may have had to mount from another thread (very many layers
	// on an old kernel), outside this namespace: refuse an empty view.
	var st unix.Statfs_t
	if err := unix.Statfs(scratch, &st); err != nil || st.Type != unix.OVERLAYFS_SUPER_MAGIC {
		return fmt.Errorf("the overlay of %d layers is not visible at %s", len(layers), scratch)
	}
	return WriteDiff(w, scratch)
}

// Decompress returns the tar inside r, which may be plain or compressed
// with gzip, zstd or bzip2 (what `import` accepts).
func Decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("BZh")) {
		return bzip2.NewReader(br), func() {}, nil
	}
	if head, _ := br.Peek(6); bytes.Equal(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
		return nil, nil, fmt.Errorf("xz-compressed archives are not supported: decompress it first (xz -d)")
	}
	return decompressor(br)
}
