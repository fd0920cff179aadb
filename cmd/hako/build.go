package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hako-run/hako/build"
	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/network"
	"github.com/hako-run/hako/rootfs"
	"github.com/spf13/cobra"
)

type buildOptions struct {
	tags, buildArgs, labels []string
	file, target, network   string
	noCache, pull, quiet    bool
	platform                platformValue
}

func newBuildCommand(g *globalOptions) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | -",
		Short: "Build an image from a Dockerfile",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	stringArrayVarP(f, &o.tags, "tag", "t", nil, "name and optionally a tag (name:tag)")
	f.StringVarP(&o.file, "file", "f", "", "name of the Dockerfile (default PATH/Dockerfile; - reads it from stdin)")
	stringArrayVar(f, &o.buildArgs, "build-arg", nil, "set a build-time variable (KEY=VALUE, or KEY to take it from the environment)")
	f.StringVar(&o.target, "target", "", "the build stage to build (the last by default)")
	f.BoolVar(&o.noCache, "no-cache", false, "do not use the cache")
	f.BoolVar(&o.pull, "pull", false, "always pull the FROM images")
	f.Var(&o.platform, "platform", "build for this os/arch[/variant]")
	f.StringVar(&o.network, "network", "bridge", "network of the RUN containers: bridge (hako0), none or host")
	stringArrayVar(f, &o.labels, "label", nil, "set metadata on the image (KEY=VALUE)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the image ID")
	return cmd
}

func runBuild(cmd *cobra.Command, g *globalOptions, o buildOptions, ctxArg string) error {
	defer interruptible(cmd)()
	if !cmd.Flags().Changed("network") { // as run: the config file's default
		mode, err := network.DefaultMode()
		if err != nil {
			return err
		}
		o.network = mode
	}
	s, err := openStore(g)
	if err != nil {
		return err
	}
	for _, t := range o.tags {
		if _, err := image.ParseReference(t, s.Insecure...); err != nil {
			return usageError("invalid tag %q: %v", t, err)
		}
	}
	args, err := keyValues(o.buildArgs, "--build-arg", true)
	if err != nil {
		return err
	}
	labels, err := keyValues(o.labels, "--label", false)
	if err != nil {
		return err
	}
	if o.file == "-" && ctxArg == "-" {
		return usageError("invalid argument: can't use stdin for both the build context and the Dockerfile")
	}
	contextDir, dockerfile, name, cleanup, err := buildInputs(cmd.Context(), s, cmd.InOrStdin(), ctxArg, o.file)
	if err != nil {
		return err
	}
	defer cleanup()
	cg, err := cgroups.Detect()
	if err != nil {
		return fmt.Errorf("detecting cgroups: %w", err)
	}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	out := stdout
	if o.quiet {
		out = io.Discard
	}
	img, err := build.Build(cmd.Context(), build.Options{
		Store: s, RunRoot: g.runroot, ContextDir: contextDir,
		Dockerfile: dockerfile, DockerfileName: name,
		BuildArgs: args, Target: o.target, NoCache: o.noCache, Pull: o.pull,
		Platform: o.platform.p, Network: o.network, Labels: labels,
		Out: out, Cgroups: cg,
		Warn: func(msg string) { fmt.Fprintf(stderr, "[Warning] %s\n", msg) },
	})
	if err != nil {
		return err
	}
	for _, t := range o.tags {
		if err := s.Tag(img.ID.String(), t); err != nil {
			return err
		}
	}
	if o.quiet {
		fmt.Fprintln(stdout, img.ID)
		return nil
	}
	fmt.Fprintf(stdout, "Successfully built %s\n", img.ID.Hex[:12])
	for _, t := range o.tags {
		ref, _ := image.ParseReference(t, s.Insecure...)
		fmt.Fprintf(stdout, "Successfully tagged %s\n", image.FamiliarName(ref))
	}
	return nil
}

// keyValues parses KEY=VALUE flags; with fromEnv, a bare KEY takes its
// value from the environment (and is left out when unset), as Docker's
// --build-arg.
func keyValues(list []string, flag string, fromEnv bool) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, usageError("invalid %s %q: give KEY=VALUE", flag, kv)
		}
		if !ok {
			if !fromEnv {
				m[k] = ""
				continue
			}
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		m[k] = v
	}
	return m, nil
}

// buildInputs finds the context directory and the Dockerfile: CONTEXT a
// directory (the Dockerfile in it, or -f, - for stdin) or - (stdin: a tar
// of the context, or a Dockerfile alone and no context).
func buildInputs(ctx context.Context, s *image.Store, stdin io.Reader, ctxArg, file string) (dir string, dockerfile []byte, name string, cleanup func(), err error) {
	cleanup = func() {}
	name = "Dockerfile"
	if ctxArg == "-" {
		raw, err := io.ReadAll(stdin)
		if err != nil {
			return "", nil, "", cleanup, fmt.Errorf("reading the build context from stdin: %w", err)
		}
		if !isTar(raw) {
			return "", raw, name, cleanup, nil
		}
		tmp := filepath.Join(s.Root(), "tmp")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return "", nil, "", cleanup, err
		}
		dir, err = os.MkdirTemp(tmp, fmt.Sprintf(".tmp-%d-build-context-", os.Getpid()))
		if err != nil {
			return "", nil, "", cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		if _, err := rootfs.ApplyLayer(ctx, dir, bytes.NewReader(raw), rootfs.ApplyOptions{}); err != nil {
			cleanup()
			return "", nil, "", func() {}, fmt.Errorf("unpacking the build context: %w", err)
		}
		if file == "" {
			file = "Dockerfile"
		}
		f, err := rootfs.OpenRegularInRoot(dir, file) // not a FIFO or a device the tar made
		if err != nil {
			cleanup()
			return "", nil, "", func() {}, fmt.Errorf("the build context has no %s: %w", file, err)
		}
		defer f.Close()
		dockerfile, err = io.ReadAll(f)
		return dir, dockerfile, filepath.Base(file), cleanup, err
	}
	st, err := os.Stat(ctxArg)
	if err != nil || !st.IsDir() {
		return "", nil, "", cleanup, fmt.Errorf("unable to prepare context: path %q not found or not a directory", ctxArg)
	}
	switch file {
	case "-":
		dockerfile, err = io.ReadAll(stdin)
	case "":
		dockerfile, err = os.ReadFile(filepath.Join(ctxArg, "Dockerfile"))
	default:
		name = filepath.Base(file)
		dockerfile, err = os.ReadFile(file)
	}
	if err != nil {
		return "", nil, "", cleanup, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	return ctxArg, dockerfile, name, cleanup, nil
}

// isTar tells a tar (plain or compressed) from a Dockerfile.
func isTar(raw []byte) bool {
	r, done, err := rootfs.Decompress(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	defer done()
	_, err = tar.NewReader(r).Next()
	return err == nil
}
