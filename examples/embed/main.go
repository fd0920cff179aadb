// Command embed shows hako as a Go library, as an appliance would use it: it
// loads an image archive into a store, then runs one command in a container
// of that image with a host directory bind-mounted at /host (its working
// directory), and prints what the command prints. No registry, no network.
//
//	go run -tags seccomp ./examples/embed -root DIR -archive IMAGE.tar CMD…
//
// It exits with the command's exit code, or 125 when hako itself failed.
// It needs root, like hako.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/hako-run/hako"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/runtime"
)

// libcontainer starts each container by re-executing this program.
func init() { runtime.Init() }

func main() {
	root := flag.String("root", "", "directory for the image store and the containers (required)")
	runRoot := flag.String("runroot", "/run/hako", "directory for runtime state (a tmpfs)")
	archive := flag.String("archive", "", "image archive to load: docker save output or an OCI layout tar (required)")
	bind := flag.String("bind", ".", "host directory to mount at /host in the container")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s -root DIR -archive IMAGE.tar [-bind DIR] CMD [ARG...]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *root == "" || *archive == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(125)
	}
	code, err := run(*root, *runRoot, *archive, *bind, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
	}
	os.Exit(code)
}

func run(root, runRoot, archive, bind string, cmd []string) (int, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	store, err := image.Open(root)
	if err != nil {
		return 125, err
	}
	res, err := store.LoadFile(ctx, archive, nil)
	if err != nil {
		return 125, err
	}
	loaded := res.Loaded // Load fails with image.ErrNoImage when there is none
	ref := loaded[0].Name
	if ref == "" { // an untagged image: its ID names it
		ref = loaded[0].ID.String()
	}
	host, err := filepath.Abs(bind)
	if err != nil {
		return 125, err
	}
	return hako.Run(ctx, hako.Options{
		Store:   store,
		Image:   ref,
		Resolve: image.ResolveOptions{Pull: image.PullNever}, // offline: the archive is all there is
		Container: runtime.Config{
			RunRoot: runRoot,
			Options: runtime.SpecOptions{Cmd: cmd, WorkingDir: "/host"},
			Mounts:  []runtime.MountRequest{{Type: runtime.MountBind, Source: host, Target: "/host"}},
			Remove:  true,
			Stdio:   runtime.Stdio{Stdout: os.Stdout, Stderr: os.Stderr},
		},
		Warn: func(msg string) { fmt.Fprintln(os.Stderr, "embed: warning:", msg) },
	})
}
