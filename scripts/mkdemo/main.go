// Command mkdemo writes the demo image — a static busybox from Debian's
// busybox-static — as a docker-archive, so the quick start needs no registry.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/hako-run/hako/internal/testimage"
)

func main() {
	out := flag.String("o", "demo.tar", "archive to write")
	tag := flag.String("t", "hako-demo:latest", "tag of the image")
	flag.Parse()
	if err := write(*out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "mkdemo:", err)
		os.Exit(1)
	}
}

func write(out, tagName string) error {
	img, err := testimage.Busybox()
	if err != nil {
		return fmt.Errorf("building the busybox image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg := cf.Config.DeepCopy()
	cfg.Labels = map[string]string{"org.opencontainers.image.description": "hako demo: static busybox"}
	if img, err = mutate.Config(img, *cfg); err != nil {
		return err
	}
	tag, err := name.NewTag(tagName)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}
