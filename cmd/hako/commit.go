package main

import (
	"fmt"
	"strings"

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
		Short: "Create a new image from a stopped container's changes",
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
	f.BoolVarP(&o.pause, "pause", "p", true, "pause a running container while committing (only stopped containers are committed yet)")
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
	ctr, release, err := runtime.LockStopped(g.root, ctrRef)
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
		Diff:      hako.ContainerDiff(cmd.Context(), s, ctr, parentImg),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), img.ID)
	return nil
}
