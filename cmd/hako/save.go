package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newSaveCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer interruptible(cmd)()
			s, err := openStore(g)
			if err != nil {
				return err
			}
			for _, a := range args {
				if _, err := s.Get(a); err != nil {
					return noSuchImage(err, a)
				}
			}
			if output == "" {
				if f, ok := cmd.OutOrStdout().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					return usageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
				}
				w := bufio.NewWriterSize(ctxWriter{cmd.Context(), cmd.OutOrStdout()}, 1<<20)
				if err := s.Save(w, args); err != nil {
					return err
				}
				return w.Flush()
			}
			return saveToFile(output, func(f *os.File) error {
				w := bufio.NewWriterSize(ctxWriter{cmd.Context(), f}, 1<<20)
				if err := s.Save(w, args); err != nil {
					return err
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	return cmd
}

// saveToFile writes a file through a temporary name, so a failed save never
// leaves a truncated archive under the name asked for.
func saveToFile(path string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving to %s: %w", path, err)
	}
	return nil
}
