package image

import (
	"strings"
	"testing"
)

func TestParseReferenceDefaults(t *testing.T) {
	cases := []struct{ in, full, familiar, scheme string }{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest", "https"},
		{"docker.io/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "https"},
		{"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "https"},
		{"jupyter/base-notebook", "docker.io/jupyter/base-notebook:latest", "jupyter/base-notebook:latest", "https"},
		{"ghcr.io/foo/bar", "ghcr.io/foo/bar:latest", "ghcr.io/foo/bar:latest", "https"},
		{"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest", "http"},
		{"127.0.0.2:5000/x:v1", "127.0.0.2:5000/x:v1", "127.0.0.2:5000/x:v1", "http"},
		{"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest", "http"},
		{"busybox@sha256:" + strings.Repeat("ab", 32), "docker.io/library/busybox@sha256:" + strings.Repeat("ab", 32), "busybox@sha256:" + strings.Repeat("ab", 32), "https"},
	}
	for _, c := range cases {
		ref, err := ParseReference(c.in)
		if err != nil {
			t.Errorf("ParseReference(%q): %v", c.in, err)
			continue
		}
		if got := FullName(ref); got != c.full {
			t.Errorf("FullName(%q) = %q, want %q", c.in, got, c.full)
		}
		if got := FamiliarName(ref); got != c.familiar {
			t.Errorf("FamiliarName(%q) = %q, want %q", c.in, got, c.familiar)
		}
		if got := ref.Context().Scheme(); got != c.scheme {
			t.Errorf("scheme of %q = %q, want %q", c.in, got, c.scheme)
		}
	}
}

func TestParseReferenceInsecureList(t *testing.T) {
	ref, err := ParseReference("myreg.lan:5000/x", "myreg.lan:5000")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Context().Scheme() != "http" {
		t.Fatalf("listed insecure registry uses %s", ref.Context().Scheme())
	}
}

func TestParseReferenceErrors(t *testing.T) {
	for _, in := range []string{"", "UPPER/Case", "busybox:", "a b", "busybox@sha256:123", "-x", "x:tag:tag", "0\n0", "a\tb", strings.Repeat("a", 240)} {
		_, err := ParseReference(in)
		if err == nil {
			t.Errorf("ParseReference(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "invalid reference format") {
			t.Errorf("ParseReference(%q) error %q is not one line starting with 'invalid reference format'", in, err)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"busybox", "docker.io/library/busybox:1", "localhost:5000/a/b@sha256:" + strings.Repeat("0", 64), "UPPER", "a//b", ":x", "0\n0", strings.Repeat("0", 248)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseReference(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		// A parsed reference round-trips through its full name.
		again, err := ParseReference(FullName(ref))
		if err != nil {
			t.Fatalf("full name %q of %q does not parse: %v", FullName(ref), s, err)
		}
		if FullName(again) != FullName(ref) {
			t.Fatalf("round trip changed %q to %q", FullName(ref), FullName(again))
		}
	})
}
