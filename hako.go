// Package hako makes and runs a container from an image in one call, the
// call `hako run` makes: find the image in the store (pulling it as the pull
// policy says), repair what killed runs left behind, and create the
// container, with the image held against garbage collection until the
// container's record names it.
//
// It is the one package that joins package image (references, pull, load,
// the store) and package runtime (containers); a program that needs only
// one of them imports that one alone.
//
// A program that runs containers must call runtime.Init first (from an init
// function of its main package): libcontainer starts each container by
// re-executing the program. A minimal one:
//
//	func init() { runtime.Init() }
//
//	func main() {
//		store, _ := image.Open("/var/lib/hako")
//		code, err := hako.Run(context.Background(), hako.Options{
//			Store: store,
//			Image: "busybox",
//			Container: runtime.Config{
//				RunRoot: "/run/hako",
//				Options: runtime.SpecOptions{Cmd: []string{"echo", "hello"}},
//				Stdio:   runtime.Stdio{Stdout: os.Stdout, Stderr: os.Stderr},
//			},
//		})
//		…
//	}
//
// examples/embed is a complete program.
package hako

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/runtime"
)

// Options say which image to make a container of, and how.
type Options struct {
	// Store holds the images. Required.
	Store *image.Store
	// Image is the reference as a user names it ("busybox",
	// "registry.example:5000/app:1.2"); it is recorded as the container's
	// image.
	Image string
	// Resolve says when to pull, for which platform, and who is told of a
	// pull and of a platform mismatch (image.Store.Resolve).
	Resolve image.ResolveOptions
	// Container is the container to make (runtime.Create). Its Image,
	// ImageID, ImageConfig and LayerDirs are filled in from the image (and
	// StorageDriver from the store), and
	// the image's VOLUMEs added to its Mounts as anonymous volumes; Root
	// defaults to the store's root and Cgroups to the host's (detected).
	Container runtime.Config
	// Warn, when set, is told what went wrong without stopping the
	// container: a failed repair of a killed run's leftovers.
	Warn func(msg string)
}

// Create makes the container opts describe, ready to Run: it holds the
// store against garbage collection, resolves the image, repairs the
// leftovers of killed runs (runtime.Repair), creates the container and
// releases the store. Nothing is left behind when it fails.
func Create(ctx context.Context, opts Options) (*runtime.Container, error) {
	if opts.Store == nil {
		return nil, errors.New("creating container: no image store")
	}
	Warm()
	cfg := opts.Container
	if cfg.RunRoot == "" {
		return nil, errors.New("creating container: no run root (hako's is /run/hako)")
	}
	if cfg.Root == "" {
		cfg.Root = opts.Store.Root()
	}
	if cfg.Cgroups == nil {
		cg, err := cgroups.Detect()
		if err != nil {
			return nil, fmt.Errorf("detecting cgroups: %w", err)
		}
		cfg.Cgroups = cg
	}
	// From the lookup until the record names the image, no rmi may
	// collect its layers.
	release, err := opts.Store.Use()
	if err != nil {
		return nil, err
	}
	defer release()
	img, err := opts.Store.Resolve(ctx, opts.Image, opts.Resolve)
	if err != nil {
		return nil, err
	}
	if err := opts.Store.EnsureLayers(ctx, img); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := runtime.Repair(cfg.Root, cfg.RunRoot, cfg.Cgroups); err != nil && opts.Warn != nil {
		opts.Warn(err.Error())
	}
	cfg.Image, cfg.ImageID = opts.Image, img.ID.String()
	cfg.ImageConfig, cfg.LayerDirs = img.RunConfig(), img.LayerDirs()
	cfg.StorageDriver = opts.Store.Driver()
	cfg.Mounts = runtime.WithImageVolumes(cfg.Mounts, cfg.ImageConfig.Volumes, cfg.Options.Tmpfs)
	return runtime.Create(cfg)
}

// Warm starts, once, a goroutine that builds what a run needs and does not
// depend on: encoding/json's encoders for the container's record and for
// what libcontainer encodes and decodes, and the cgroup mount points
// (runtime.WarmUp), so that work overlaps the image lookup and the rootfs
// on another CPU. Create calls it; hako run calls it first thing. The
// image's JSON is decoded right away by the lookup, so its field tables
// are left to the lookup (warming them too cost ~3 ms of CPU per run on a
// 2-vCPU guest, and no time).
var Warm = sync.OnceFunc(func() {
	go runtime.WarmUp()
})

// Run makes the container (Create) and runs it in the foreground
// (runtime.Container.Run), returning its exit code as `hako run` exits:
// 125 when hako failed (the error says why), 126 or 127 when the command
// could not be executed or found, else the command's own code (128+N when
// a signal N ended it).
func Run(ctx context.Context, opts Options) (int, error) {
	c, err := Create(ctx, opts)
	if err != nil {
		return runtime.ExitCannotRun, err
	}
	return c.Run()
}
