package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPush: a pulled image pushed unchanged to a registry that needs a
// login keeps its manifest digest, a second push skips every layer, a push
// to another repository of that registry mounts the layers instead of
// sending them, and hako (fresh store) and podman pull what was pushed.
func TestPush(t *testing.T) {
	reg := authRegistry(t)
	env := dockerHome(t)
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	ref := reg + "/tools/box:1"
	s.mustHako(t, "tag", busybox.ref, ref)

	_, errOut, code := s.hakoEnv(t, env, nil, "push", ref)
	wantOneError(t, "push before login", errOut, code)
	if !strings.Contains(errOut, "hako login") {
		t.Errorf("push before login: stderr %q, want a hint to log in", errOut)
	}
	if _, errOut, code := s.hakoEnv(t, env, strings.NewReader(authPassword), "login", "-u", authUser, "--password-stdin", reg); code != 0 {
		t.Fatalf("login: %s", errOut)
	}

	out, errOut, code := s.hakoEnv(t, env, nil, "push", ref)
	if code != 0 {
		t.Fatalf("push: exit %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "The push refers to repository ["+reg+"/tools/box]" {
		t.Errorf("push's first line %q", lines[0])
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "1: digest: "+busybox.manifest.String()+" size: ") {
		t.Errorf("push's last line %q, want the pulled manifest digest %s", last, busybox.manifest)
	}
	short := busybox.layers[0].Hex[:12]
	if !strings.Contains(out, short+": Pushed") {
		t.Errorf("first push output lacks %q:\n%s", short+": Pushed", out)
	}
	r, _ := name.ParseReference(ref)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	desc, err := remote.Head(r, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: authUser, Password: authPassword}))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != busybox.manifest {
		t.Errorf("registry has %s at %s, want the pulled digest %s", desc.Digest, ref, busybox.manifest)
	}

	out, _, code = s.hakoEnv(t, env, nil, "push", ref)
	if code != 0 || !strings.Contains(out, short+": Layer already exists") || strings.Contains(out, "Pushed") {
		t.Errorf("second push: exit %d, want every layer skipped:\n%s", code, out)
	}

	// Another repository of the same registry: the layer is mounted from
	// tools/box (distribution answers HEAD for a blob only in a repository
	// linked to it, so it was not there before), not sent again.
	other := reg + "/other/box:2"
	s.mustHako(t, "tag", ref, other)
	out, errOut, code = s.hakoEnv(t, env, nil, "push", other)
	if code != 0 || strings.Contains(out, "Pushed") || !strings.Contains(out, "2: digest: "+busybox.manifest.String()) {
		t.Errorf("push to another repository: exit %d, stderr %s, want no layer sent:\n%s", code, errOut, out)
	}

	_, errOut, code = s.hakoEnv(t, env, nil, "push", reg+"/tools/box:nope")
	wantOneError(t, "push of an unknown tag", errOut, code)
	if !strings.Contains(errOut, "An image does not exist locally with the tag") {
		t.Errorf("push of an unknown tag: %q", errOut)
	}

	fresh := newStore(t)
	if _, errOut, code := fresh.hakoEnv(t, env, nil, "pull", other); code != 0 {
		t.Fatalf("pull of the pushed image into a fresh store: %s", errOut)
	}
	if out, _, code := fresh.hakoEnv(t, env, nil, "run", "--rm", other, "echo", "pushed"); code != 0 || out != "pushed\n" {
		t.Errorf("run of the pushed image: exit %d, stdout %q", code, out)
	}

	// podman pulls what hako pushed, with the same digest.
	removePodmanCacheAfter(t)
	podRoot, podRun := t.TempDir(), t.TempDir()
	t.Cleanup(func() {
		exec.Command("podman", "--root", podRoot, "--runroot", podRun, "--storage-driver", "vfs", "system", "reset", "-f").Run()
		os.RemoveAll(podRoot)
	})
	pout, err := exec.Command("podman", "--root", podRoot, "--runroot", podRun, "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "none", "pull", "--tls-verify=false",
		"--creds", authUser+":"+authPassword, ref).CombinedOutput()
	if err != nil {
		t.Fatalf("podman pull: %v\n%s", err, pout)
	}
	pout, err = exec.Command("podman", "--root", podRoot, "--runroot", podRun, "--storage-driver", "vfs",
		"image", "inspect", "--format", "{{.Digest}} {{.ID}}", ref).CombinedOutput()
	if err != nil || strings.TrimSpace(string(pout)) != busybox.manifest.String()+" "+busybox.config.Hex {
		t.Errorf("podman sees %q (%v), want digest %s and ID %s", pout, err, busybox.manifest, busybox.config.Hex)
	}
}

// removePodmanCacheAfter removes podman's blob cache in /var/lib/containers,
// which it keeps there whatever --root says, at the test's end if the test
// made it.
func removePodmanCacheAfter(t *testing.T) {
	if _, err := os.Stat("/var/lib/containers"); os.IsNotExist(err) {
		t.Cleanup(func() { os.RemoveAll("/var/lib/containers") })
	}
}
