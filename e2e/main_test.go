package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hako-run/hako/internal/testimage"
	"github.com/hako-run/hako/internal/testregistry"
)

// Set up once by TestMain.
var (
	hakoBin  string // absolute path of the binary under test
	registry string // "127.0.0.1:PORT" of the docker-registry started for the run
	busybox  pushed // testimage.Busybox() at registry/busybox:latest
)

// pushed is an image as it was pushed, with the facts tests compare against.
type pushed struct {
	ref      string // full reference it was pushed to
	img      v1.Image
	config   v1.Hash   // config digest: the image ID
	manifest v1.Hash   // manifest digest
	diffIDs  []v1.Hash // config rootfs.diff_ids
	layers   []v1.Hash // compressed layer digests
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: the end-to-end tests need root")
		return 1
	}
	var err error
	if hakoBin, err = findHako(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	unisolate, err := isolateNetwork()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer unisolate()
	stop, err := startRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer stop()
	img, err := testimage.Busybox()
	if err == nil {
		busybox, err = pushImage(registry+"/busybox:latest", img)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// findHako returns $HAKO_BIN, or builds bin/hako with `make build` in the
// repository root (the parent of this package's directory).
func findHako() (string, error) {
	if bin := os.Getenv("HAKO_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", "build")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make build: %w\n%s", err, out)
	}
	return filepath.Join(root, "bin", "hako"), nil
}

// startRegistry runs Debian's docker-registry on a free loopback port with a
// throwaway config and data directory. stop kills it by PID and removes them.
func startRegistry() (stop func(), err error) {
	dir, err := os.MkdirTemp("", "hako-e2e-registry-")
	if err != nil {
		return nil, err
	}
	r, err := testregistry.Start(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	registry = r.Addr
	return func() { r.Stop(); os.RemoveAll(dir) }, nil
}

// pushImage writes img to ref and records its digests.
func pushImage(ref string, img v1.Image) (pushed, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return pushed{}, fmt.Errorf("parsing %q: %w", ref, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return pushed{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	return describe(ref, img)
}

// describe collects the digests of img.
func describe(ref string, img v1.Image) (pushed, error) {
	p := pushed{ref: ref, img: img}
	var err error
	if p.config, err = img.ConfigName(); err != nil {
		return p, err
	}
	if p.manifest, err = img.Digest(); err != nil {
		return p, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return p, err
	}
	p.diffIDs = cf.RootFS.DiffIDs
	layers, err := img.Layers()
	if err != nil {
		return p, err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return p, err
		}
		p.layers = append(p.layers, d)
	}
	return p, nil
}

// push is pushImage for a test.
func push(t *testing.T, ref string, img v1.Image) pushed {
	t.Helper()
	p, err := pushImage(ref, img)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pushIndex writes idx to ref.
func pushIndex(t *testing.T, ref string, idx v1.ImageIndex) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("pushing index %s: %v", ref, err)
	}
}
