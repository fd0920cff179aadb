package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hako-run/hako"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/runtime"
	"github.com/spf13/cobra"
)

type commitOptions struct {
	message, author string
	changes         []string
	pause           bool
}

func newCommitCommand(g *globalOptions) *cobra.Command {
	var o commitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			return runCommit(cmd, g, o, args[0], ref)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.message, "message", "m", "", "commit message")
	f.StringVarP(&o.author, "author", "a", "", `author (e.g. "Jane <jane@example.com>")`)
	stringArrayVarP(f, &o.changes, "change", "c", nil, "apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)")
	f.BoolVarP(&o.pause, "pause", "p", true, "pause a running container while committing")
	return cmd
}

func runCommit(cmd *cobra.Command, g *globalOptions, o commitOptions, ctrRef, ref string) error {
	defer interruptible(cmd)()
	s, err := openStore(g)
	if err != nil {
		return err
	}
	if ref != "" {
		if _, err := image.ParseReference(ref, s.Insecure...); err != nil {
			return err
		}
	}
	if err := image.ApplyChanges(&v1.Config{}, o.changes); err != nil {
		return err
	}
	ctr, running, release, err := runtime.OpenCommit(g.root, ctrRef)
	if err != nil {
		return err
	}
	defer release()
	parent, err := v1.NewHash(ctr.ImageID)
	if err != nil {
		return fmt.Errorf("container %s names no image ID (%q)", ctrRef, ctr.ImageID)
	}
	parentImg, err := s.Get(parent.String())
	if err != nil {
		return fmt.Errorf("the image of container %s: %w", ctrRef, err)
	}
	diff := hako.ContainerDiff(cmd.Context(), s, ctr, parentImg)
	if running {
		if ctr.VFS() { // the base to compare with, before any freeze
			if err := s.EnsureLayers(cmd.Context(), parentImg); err != nil {
				return err
			}
		}
		diff = runningDiff(cmd.Context(), g.runroot, ctr, o.pause, diff)
	}
	pc := parentImg.Config.Config
	cc := ctr.CommitConfig(pc.Entrypoint, pc.Env, pc.WorkingDir)
	img, err := s.Commit(cmd.Context(), image.CommitOptions{
		Parent:    parent,
		Ref:       ref,
		Author:    o.author,
		Comment:   o.message,
		CreatedBy: strings.Join(cc.Cmd, " "), // as Docker: the container's Cmd
		Changes:   o.changes,
		Container: &image.ContainerConfig{Entrypoint: cc.Entrypoint, Cmd: cc.Cmd, Env: cc.Env, WorkingDir: cc.WorkingDir},
		Diff:      diff,
	})
	if err != nil && cmd.Context().Err() != nil {
		return fmt.Errorf("commit of container %s interrupted: no image made", ctrRef)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), img.ID)
	return nil
}

// runningDiff is diff for a running container: with pause, its processes
// are frozen for the diff's length (unless the user paused them) and
// thawed when it ends, failed or interrupted (Ctrl-C and SIGTERM cancel
// ctx, which ends the diff's writes; SIGHUP is held off meanwhile).
// Without pause the changes are read while they are being made.
func runningDiff(ctx context.Context, runRoot string, ctr *runtime.Stopped, pause bool, diff func(io.Writer) error) func(io.Writer) error {
	return func(w io.Writer) (err error) {
		if pause {
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			thaw, ferr := runtime.FreezeForCommit(runRoot, ctr)
			if ferr != nil {
				return ferr
			}
			defer func() { // err is the diff's: a thaw's failure comes second
				if terr := thaw(); err == nil {
					err = terr
				}
			}()
		}
		if err = holdForTest(ctx); err != nil {
			return err
		}
		return diff(ctxWriter{ctx, w})
	}
}

// holdForTest lets the end-to-end tests see a running container during
// its commit's diff: with HAKO_TEST_COMMIT_HOLD=FILE, commit creates FILE
// and waits until the test removes it.
func holdForTest(ctx context.Context) error {
	f := os.Getenv("HAKO_TEST_COMMIT_HOLD")
	if f == "" {
		return nil
	}
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		return err
	}
	for {
		if _, err := os.Stat(f); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
