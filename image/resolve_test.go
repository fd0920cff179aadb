package image

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hako-run/hako/internal/testimage"
)

// countingRegistry is an in-process registry that counts manifest requests,
// so a test sees whether Resolve went to the registry at all.
type countingRegistry struct {
	next      http.Handler
	manifests atomic.Int32
}

func (c *countingRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/manifests/") {
		c.manifests.Add(1)
	}
	c.next.ServeHTTP(w, r)
}

// resolveFixture serves busybox (the host's) at busybox:latest, an s390x
// image at s390x:latest and a multi-platform index at multi:latest.
func resolveFixture(t *testing.T) (host string, reg *countingRegistry) {
	t.Helper()
	reg = &countingRegistry{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	bb, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	s390x, err := testimage.PlatformImage(v1.Platform{OS: "linux", Architecture: "s390x"})
	if err != nil {
		t.Fatal(err)
	}
	multi, err := testimage.MultiArch(bb)
	if err != nil {
		t.Fatal(err)
	}
	put := func(ref string, w func(name.Reference) error) {
		r, err := name.ParseReference(host + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := w(r); err != nil {
			t.Fatal(err)
		}
	}
	put("busybox:latest", func(r name.Reference) error { return remote.Write(r, bb) })
	put("s390x:latest", func(r name.Reference) error { return remote.Write(r, s390x) })
	put("multi:latest", func(r name.Reference) error { return remote.WriteIndex(r, multi) })
	reg.manifests.Store(0) // count from here: only what Resolve asks
	return host, reg
}

// said collects what Resolve tells through Notice and Warn.
type said struct{ notices, warnings []string }

func (s *said) options(pull PullPolicy, p *v1.Platform) ResolveOptions {
	return ResolveOptions{
		Pull: pull, Platform: p,
		Notice: func(m string) { s.notices = append(s.notices, m) },
		Warn:   func(m string) { s.warnings = append(s.warnings, m) },
	}
}

func TestResolvePullPolicies(t *testing.T) {
	host, reg := resolveFixture(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := host + "/busybox:latest"

	var sd said
	if _, err := s.Resolve(ctx, ref, sd.options(PullNever, nil)); !errors.Is(err, ErrNotFound) || err.Error() != "No such image: "+ref {
		t.Errorf("never, not stored: %v, want ErrNotFound worded \"No such image: %s\"", err, ref)
	}
	if n := reg.manifests.Load(); n != 0 {
		t.Errorf("never asked the registry %d times", n)
	}

	img, err := s.Resolve(ctx, ref, sd.options("", nil)) // "" is missing
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Unable to find image '" + ref + "' locally"}; !equal(sd.notices, want) {
		t.Errorf("notices %q, want %q", sd.notices, want)
	}
	if len(img.LayerDirs()) == 0 || img.Platform().Architecture != testimage.HostPlatform().Architecture {
		t.Errorf("pulled image: %d layers, platform %s", len(img.LayerDirs()), PlatformString(img.Platform()))
	}

	// Stored now: missing and never take it without the registry.
	before := reg.manifests.Load()
	for _, p := range []PullPolicy{PullMissing, PullNever} {
		got, err := s.Resolve(ctx, ref, sd.options(p, nil))
		if err != nil || got.ID != img.ID {
			t.Errorf("%s, stored: %v, %v", p, got, err)
		}
	}
	if n := reg.manifests.Load() - before; n != 0 || len(sd.notices) != 1 || len(sd.warnings) != 0 {
		t.Errorf("stored image: %d registry requests, notices %q, warnings %q", n, sd.notices, sd.warnings)
	}

	// always goes to the registry, and says nothing.
	if got, err := s.Resolve(ctx, ref, sd.options(PullAlways, nil)); err != nil || got.ID != img.ID {
		t.Errorf("always: %v, %v", got, err)
	}
	if n := reg.manifests.Load() - before; n == 0 || len(sd.notices) != 1 {
		t.Errorf("always: %d registry requests, notices %q", n, sd.notices)
	}

	if _, err := s.Resolve(ctx, ref, sd.options("sometimes", nil)); err == nil ||
		err.Error() != `invalid pull option "sometimes": must be missing, always or never` {
		t.Errorf("bad policy: %v", err)
	}
}

func TestResolvePlatforms(t *testing.T) {
	host, reg := resolveFixture(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hostP := testimage.HostPlatform()
	s390x := v1.Platform{OS: "linux", Architecture: "s390x"}
	ref := host + "/s390x:latest"

	// A foreign image pulled without a platform is a single-platform image:
	// stored as it is; then run with a warning, as Docker does.
	var sd said
	if _, err := s.Resolve(ctx, ref, sd.options(PullMissing, &s390x)); err != nil {
		t.Fatal(err)
	}
	img, err := s.Resolve(ctx, ref, sd.options(PullMissing, nil))
	if err != nil {
		t.Fatal(err)
	}
	wantWarn := "The requested image's platform (linux/s390x) does not match the detected host platform (" +
		PlatformString(HostPlatform()) + ") and no specific platform was requested"
	if img.Platform().Architecture != "s390x" || !equal(sd.warnings, []string{wantWarn}) {
		t.Errorf("stored s390x, no platform asked: %s, warnings %q, want %q", PlatformString(img.Platform()), sd.warnings, wantWarn)
	}

	// Asked for the host's: never fails, missing pulls and finds the
	// registry has only s390x.
	wantErr := "image with reference " + ref + " was found but does not match the specified platform: wanted " +
		PlatformString(hostP) + ", actual: linux/s390x"
	before := reg.manifests.Load()
	if _, err := s.Resolve(ctx, ref, sd.options(PullNever, &hostP)); !errors.Is(err, ErrPlatformMismatch) || err.Error() != wantErr {
		t.Errorf("never, wrong platform: %v\nwant %s", err, wantErr)
	}
	if n := reg.manifests.Load() - before; n != 0 {
		t.Errorf("never asked the registry %d times", n)
	}
	sd.notices = nil
	if _, err := s.Resolve(ctx, ref, sd.options(PullMissing, &hostP)); !errors.Is(err, ErrPlatformMismatch) || err.Error() != wantErr {
		t.Errorf("missing, registry has only s390x: %v\nwant %s", err, wantErr)
	}
	if len(sd.notices) != 1 || reg.manifests.Load() == before {
		t.Errorf("missing, wrong platform stored: notices %q, want a pull", sd.notices)
	}

	// From an index: another platform stored, the host's asked for, pulled.
	multi := host + "/multi:latest"
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	if hostP.Architecture == "arm64" {
		arm64 = v1.Platform{OS: "linux", Architecture: "s390x"}
	}
	if img, err = s.Resolve(ctx, multi, sd.options(PullMissing, &arm64)); err != nil || !RunsOn(img.Platform(), arm64) {
		t.Fatalf("index, %s: %v", PlatformString(arm64), err)
	}
	if img, err = s.Resolve(ctx, multi, sd.options(PullMissing, &hostP)); err != nil || !RunsOn(img.Platform(), hostP) {
		t.Fatalf("index, %s after %s: %v", PlatformString(hostP), PlatformString(arm64), err)
	}
	if _, err := s.Resolve(ctx, multi, sd.options(PullNever, &hostP)); err != nil {
		t.Errorf("index, host's stored, never: %v", err)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }
