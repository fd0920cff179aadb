package hako

import (
	"context"
	"io"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/rootfs"
	"github.com/hako-run/hako/runtime"
)

// ContainerDiff writes a container's changes as a layer (commit, build's
// RUN steps): a stopped one's, or a running one's that the caller froze
// (or reads live: commit --pause=false). Its overlay upper dir, or with
// vfs the difference between its rootfs copy and the full tree of its
// image's top layer (img nil or without layers: FROM scratch, everything
// is new).
func ContainerDiff(ctx context.Context, s *image.Store, ctr *runtime.Stopped, img *image.Image) func(io.Writer) error {
	if ctr.VFS() {
		var dirs []string
		if img != nil {
			dirs = img.LayerDirs()
		}
		if len(dirs) == 0 {
			return func(w io.Writer) error { return rootfs.WriteDiff(w, ctr.Rootfs(), ctr.MountStubs()...) }
		}
		return func(w io.Writer) error {
			if err := s.EnsureLayers(ctx, img); err != nil { // the base to compare with
				return err
			}
			return rootfs.WriteChanges(w, dirs[len(dirs)-1], ctr.Rootfs(), ctr.MountStubs()...)
		}
	}
	return func(w io.Writer) error { return rootfs.WriteDiff(w, ctr.Upper(), ctr.MountStubs()...) }
}
