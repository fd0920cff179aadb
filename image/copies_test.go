package image

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/klauspost/compress/flate"
	"github.com/opencontainers/go-digest"
)

// TestThirdPartyCopyPatches runs the code the patches of the copies under
// third_party/ touch (HAKO.md in each): tables and regexps built on first
// use must accept and refuse what upstream's did.
func TestThirdPartyCopyPatches(t *testing.T) {
	// go-digest: the hex check per algorithm, and the format check of a
	// digest whose algorithm is not available.
	hex := strings.Repeat("a1", 32)
	for _, tc := range []struct {
		d    string
		want error
	}{
		{"sha256:" + hex, nil},
		{"sha256:" + strings.Repeat("A1", 32), digest.ErrDigestInvalidFormat},
		{"sha256:" + hex[:62], digest.ErrDigestInvalidLength},
		{"md5:" + hex, digest.ErrDigestUnsupported},
		{"MD5:" + hex, digest.ErrDigestInvalidFormat},
		{"sha256", digest.ErrDigestInvalidFormat},
	} {
		if _, err := digest.Parse(tc.d); !errors.Is(err, tc.want) {
			t.Errorf("digest.Parse(%q) = %v, want %v", tc.d, err, tc.want)
		}
	}

	// platforms: the OS and component regexps, and the arm64 variant table.
	p, err := platforms.Parse("linux/arm64/v8")
	if err != nil || p.OS != "linux" || p.Architecture != "arm64" || p.Variant != "v8" {
		t.Errorf("platforms.Parse(linux/arm64/v8) = %+v, %v", p, err)
	}
	for _, bad := range []string{"linux/arm 64", "li nux/amd64", "linux(x/amd64"} {
		if _, err := platforms.Parse(bad); err == nil {
			t.Errorf("platforms.Parse(%q) succeeded", bad)
		}
	}
	v9 := platforms.Only(platforms.MustParse("linux/arm64/v9.2"))
	if !v9.Match(platforms.MustParse("linux/arm64/v8.7")) || v9.Match(platforms.MustParse("linux/arm64/v8.8")) {
		t.Error("arm64 v9.2 must run v8.7 images and not v8.8 ones")
	}

	// go-containerregistry: plain HTTP for local registries only.
	for reg, want := range map[string]string{
		"localhost:5000": "http", "a.localhost": "http", "127.0.0.1:5000": "http", "[::1]:5000": "http",
		"::1": "http", "registry.example:5000": "https", "127.0.0.2": "https",
	} {
		r, err := name.NewRegistry(reg)
		if err != nil {
			t.Fatalf("NewRegistry(%q): %v", reg, err)
		}
		if got := r.Scheme(); got != want {
			t.Errorf("%s: scheme %s, want %s", reg, got, want)
		}
	}
	// ... and its version in the User-Agent.
	var ua string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { ua = r.UserAgent() }))
	defer srv.Close()
	resp, err := (&http.Client{Transport: transport.NewUserAgent(http.DefaultTransport, "hako")}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "hako go-containerregistry"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/google/go-containerregistry" {
				want += "/" + dep.Version // in hako's binary; test binaries list no deps
			}
		}
	}
	if ua != want {
		t.Errorf("User-Agent %q, want %q", ua, want)
	}

	// klauspost/compress: Huffman-only compression uses the offset encoder
	// built on first use.
	in := bytes.Repeat([]byte("hako hako 箱 "), 5000)
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.HuffmanOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(flate.NewReader(&z))
	if err != nil || !bytes.Equal(out, in) {
		t.Errorf("Huffman-only round trip: %d bytes back of %d, %v", len(out), len(in), err)
	}
}
