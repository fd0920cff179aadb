package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/hako-run/hako"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/runtime"
)

// BuildLabel marks the containers that run a build's RUN steps.
const BuildLabel = "io.hako.build"

// run runs a RUN instruction in a container of the stage's image (its
// env, workdir and user; the ARGs in scope added to its env) and commits
// the container's changes as one layer.
func (b *builder) run(ctx context.Context, st *state, c *instructions.RunCommand) error {
	if len(c.Files) > 0 {
		return errors.New("RUN with a here-document is not supported by hako build")
	}
	if len(c.FlagsUsed) > 0 {
		return fmt.Errorf("RUN --%s is not supported by hako build", c.FlagsUsed[0])
	}
	if st.img == nil || len(st.img.Config.RootFS.DiffIDs) == 0 {
		return errors.New("RUN needs a filesystem to run in: the stage has no layer (FROM scratch)")
	}
	if err := canRun(st.platform); err != nil {
		return err
	}
	argv := st.withShell(c.ShellDependantCmdLine)
	// The ARGs ENV does not set reach the command's environment; Docker
	// puts them in the history as "|N K=V … cmd".
	var argEnv []string
	for _, k := range sortedKeys(st.args) {
		if !hasEnv(st.cfg.Env, k) {
			argEnv = append(argEnv, k+"="+st.args[k])
		}
	}
	for _, k := range sortedKeys(b.o.BuildArgs) {
		if predefinedArg(k) && !hasEnv(st.cfg.Env, k) && !hasEnv(argEnv, k) {
			argEnv = append(argEnv, k+"="+b.o.BuildArgs[k])
		}
	}
	createdBy := "RUN " + strings.Join(argv, " ")
	if len(argEnv) > 0 {
		createdBy = fmt.Sprintf("RUN |%d %s %s", len(argEnv), strings.Join(argEnv, " "), strings.Join(argv, " "))
	}
	key := cacheKey(st.id(), "run", createdBy)
	return b.commit(ctx, st, createdBy, key, st.cfg, func() (func(io.Writer) error, func(), error) {
		return b.runContainer(ctx, st, argv, argEnv)
	})
}

// runContainer runs argv in a container of st's image and returns the
// writer of its changes and the removal of the container.
func (b *builder) runContainer(ctx context.Context, st *state, argv, env []string) (func(io.Writer) error, func(), error) {
	root := b.o.Store.Root()
	so := runtime.SpecOptions{Entrypoint: &argv, Env: env}
	cfg := runtime.Config{
		Root: root, RunRoot: b.o.RunRoot, Options: so, Cgroups: b.o.Cgroups,
		Stdio: runtime.Stdio{Stdout: b.o.Out, Stderr: b.o.Out},
		// What a killed build leaves is recognisable in ps -a.
		Labels: map[string]string{BuildLabel: "true"},
	}
	switch b.o.Network {
	case "host":
		cfg.Options.HostNetwork = true
	case "bridge":
		cfg.Bridge = &runtime.BridgeOptions{}
	}
	ctr, err := hako.Create(ctx, hako.Options{
		Store: b.o.Store, Image: st.id().String(), Container: cfg,
		Resolve: image.ResolveOptions{Pull: image.PullNever},
		Warn:    b.o.Warn,
	})
	if err != nil {
		return nil, nil, err
	}
	id := ctr.ID
	fmt.Fprintf(b.o.Out, " ---> Running in %s\n", id[:12])
	remove := func() {
		info, err := runtime.FindContainer(root, id)
		if err == nil {
			err = runtime.Remove(root, b.o.RunRoot, b.o.Cgroups, info, true, true)
		}
		if err != nil && b.o.Warn != nil {
			b.o.Warn(fmt.Sprintf("removing the build container %s: %v", id[:12], err))
		}
	}
	code, err := ctr.Run()
	if err == nil && code != 0 {
		err = fmt.Errorf("the command '%s' returned a non-zero code: %d", strings.Join(argv, " "), code)
	}
	if err != nil {
		remove()
		return nil, nil, err
	}
	stopped, unlock, err := runtime.LockStopped(root, id)
	if err != nil {
		remove()
		return nil, nil, err
	}
	diff := hako.ContainerDiff(ctx, b.o.Store, stopped, st.img)
	return diff, func() { unlock(); remove() }, nil
}

// canRun refuses a RUN for a platform the host cannot execute: another
// architecture needs a binfmt_misc handler (qemu-user) registered.
func canRun(p v1.Platform) error {
	host := image.HostPlatform()
	if p.Architecture == "" || image.RunsOn(p, host) {
		return nil
	}
	if q := qemuArch(p); q != "" {
		if raw, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-" + q); err == nil && strings.HasPrefix(string(raw), "enabled") {
			return nil
		}
	}
	return fmt.Errorf("cannot RUN for %s on this %s host: no binfmt_misc handler runs its programs (install qemu-user-binfmt, or build for %s)",
		image.PlatformString(p), image.PlatformString(host), image.PlatformString(host))
}

// qemuArch is qemu's name of a Go architecture, as binfmt_misc entries
// (qemu-<name>) use it.
func qemuArch(p v1.Platform) string {
	switch p.Architecture {
	case "amd64":
		return "x86_64"
	case "386":
		return "i386"
	case "arm64":
		return "aarch64"
	case "arm":
		return "arm"
	case "ppc64le", "s390x", "riscv64", "mips64el", "loong64":
		if p.Architecture == "loong64" {
			return "loongarch64"
		}
		return p.Architecture
	}
	return ""
}
