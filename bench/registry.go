package main

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hako-run/hako/internal/testregistry"
)

// registry is Debian's docker-registry serving from a temp dir on loopback.
type registry struct{ *testregistry.Registry }

// startRegistry starts docker-registry with its data under dir and waits
// until it answers.
func startRegistry(ctx context.Context, dir string) (*registry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := testregistry.Start(dir)
	if err != nil {
		return nil, err
	}
	return &registry{r}, nil
}

func (r *registry) stop() { r.Stop() }

// push uploads img as 127.0.0.1:PORT/repo:latest and returns that reference.
func (r *registry) push(ctx context.Context, repo string, img v1.Image) (string, error) {
	ref := r.Addr + "/" + repo + ":latest"
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", ref, err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	return ref, nil
}
