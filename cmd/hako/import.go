package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/rootfs"
	"github.com/spf13/cobra"
)

func newImportCommand(g *globalOptions) *cobra.Command {
	var message string
	var changes []string
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|- [REPOSITORY[:TAG]]",
		Short: "Create a one-layer image from a tar archive (plain, gzip, zstd or bzip2)",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer interruptible(cmd)()
			src := args[0]
			if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
				return fmt.Errorf("importing from a URL is not supported: download it, then hako import FILE")
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			if ref != "" {
				if _, err := image.ParseReference(ref, s.Insecure...); err != nil {
					return err
				}
			}
			in := cmd.InOrStdin()
			if src != "-" {
				f, err := os.Open(src)
				if err != nil {
					return fmt.Errorf("opening the archive: %w", err)
				}
				defer f.Close()
				in = f
			}
			comment := message
			if comment == "" {
				comment = "Imported from -" // as Docker says: the CLI sends files as a stream
			}
			img, err := s.Commit(cmd.Context(), image.CommitOptions{
				Ref:     ref,
				Comment: comment,
				Changes: changes,
				Diff: func(w io.Writer) error {
					tr, done, err := rootfs.Decompress(in)
					if err != nil {
						return err
					}
					defer done()
					_, err = io.Copy(w, tr)
					return err
				},
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&message, "message", "m", "", "commit message for the imported image")
	stringArrayVarP(f, &changes, "change", "c", nil, "apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)")
	return cmd
}
