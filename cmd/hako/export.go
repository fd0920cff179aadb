package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
	"github.com/hako-run/hako/runtime"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newExportCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Write a stopped container's filesystem as a tar archive",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer interruptible(cmd)()
			out := cmd.OutOrStdout()
			if output == "" {
				if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					return fmt.Errorf("cowardly refusing to save to a terminal. Use the -o flag or redirect")
				}
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			release, err := s.Use()
			if err != nil {
				return err
			}
			defer release()
			ctr, unlock, err := runtime.LockStopped(g.root, args[0])
			if err != nil {
				return err
			}
			defer unlock()
			img, err := s.Get(ctr.ImageID)
			if err != nil {
				return fmt.Errorf("the image of container %s: %w", args[0], err)
			}
			if ctr.VFS() { // the rootfs is a plain tree: written as it is
				if output == "" {
					return rootfs.WriteDiff(out, ctr.Rootfs())
				}
				return writeFileAtomic(output, func(w io.Writer) error { return rootfs.WriteDiff(w, ctr.Rootfs()) })
			}
			layers := append([]string{ctr.Upper()}, img.LayerDirs()...)
			slices.Reverse(layers[1:]) // nearest first below the upper dir
			// The mount targets every container had below its image
			// (/proc, /etc/hosts…), as Docker's export shows them.
			targets, err := runtime.TargetsLayer(g.root)
			if err != nil {
				return err
			}
			layers = append(layers, targets)
			scratch, err := os.MkdirTemp(filepath.Join(s.Root(), "tmp"), atomicfile.TmpPrefix+fmt.Sprint(os.Getpid())+"-export-")
			if err != nil {
				return err
			}
			defer os.Remove(scratch)
			if output == "" {
				return rootfs.WriteTree(out, layers, scratch)
			}
			return writeFileAtomic(output, func(w io.Writer) error { return rootfs.WriteTree(w, layers, scratch) })
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	return cmd
}

// writeFileAtomic writes path through a temporary file renamed into place,
// so a failed export leaves no half archive under the asked name.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp := atomicfile.TmpName(filepath.Dir(path), filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
