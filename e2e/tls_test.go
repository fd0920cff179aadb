package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/hako-run/hako/internal/testregistry"
)

// TestPushPullTLS: push and pull work against a registry that speaks HTTPS
// only (hako is built without net/http's HTTP/2, so this is TLS with
// HTTP/1.1), verifying the registry's certificate against the roots hako is
// given (SSL_CERT_FILE, as Go reads it); without them the pull fails (a
// loopback registry is insecure, as for Docker: after the failed handshake
// hako tries plain HTTP, which this registry answers with 400).
func TestPushPullTLS(t *testing.T) {
	r, err := testregistry.StartTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	env := append(os.Environ(), "SSL_CERT_FILE="+r.CAFile)

	s := newStore(t)
	s.mustHako(t, "pull", "-q", registry+"/busybox")
	ref := r.Addr + "/tls/box:1"
	s.mustHako(t, "tag", registry+"/busybox", ref)
	out, errOut, code := s.hakoEnv(t, env, nil, "push", ref)
	if code != 0 {
		t.Fatalf("push over TLS: exit %d, stderr %s", code, errOut)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); !strings.Contains(lines[len(lines)-1], busybox.manifest.String()) {
		t.Errorf("push over TLS: last line %q, want the manifest digest %s", lines[len(lines)-1], busybox.manifest)
	}

	fresh := newStore(t)
	if _, errOut, code := fresh.hakoEnv(t, env, nil, "pull", "-q", ref); code != 0 {
		t.Fatalf("pull over TLS: exit %d, stderr %s", code, errOut)
	}
	checkInspect(t, fresh.inspect(t, ref), busybox)
	checkBusyboxExtracted(t, fresh)

	// The same pull without the registry's certificate among the roots fails.
	other := newStore(t)
	_, errOut, code = other.hakoEnv(t, append(os.Environ(), "SSL_CERT_FILE="+os.DevNull), nil, "pull", ref)
	wantOneError(t, "pull over TLS from an untrusted registry", errOut, code)
}
