package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/hako-run/hako/internal/testimage"
)

// TestRunImageVolume: a VOLUME the image declares becomes an anonymous
// volume seeded with the image's content there, kept with the container
// and removed with --rm; a user mount on the same path wins.
func TestRunImageVolume(t *testing.T) {
	ref := registry + "/with-volume:latest"
	pushVolumeImage(t, ref)
	s := runStore(t)
	s.mustHako(t, "pull", "-q", ref)

	out := s.mustRun(t, "--rm", ref, "sh", "-c", "cat /data/seeded; echo; grep -c ' /data ' /proc/self/mountinfo")
	if strings.TrimSpace(out) != "from-image\n1" {
		t.Errorf("image VOLUME /data: %q, want the seeded file on its own mount", out)
	}
	if v := strings.TrimSpace(s.mustHako(t, "volume", "ls", "-q")); v != "" {
		t.Errorf("volumes after --rm: %q, want the anonymous one removed", v)
	}
	s.mustRun(t, "--name", "keeps", ref, "true")
	if v := strings.Fields(s.mustHako(t, "volume", "ls", "-q")); len(v) != 1 || len(v[0]) != 64 {
		t.Errorf("volumes of a kept container: %q, want one anonymous volume", v)
	}
	out = s.mustRun(t, "--rm", "-v", "named:/data", ref, "sh", "-c", "ls /data")
	if strings.TrimSpace(out) != "seeded" {
		t.Errorf("-v named:/data over an image VOLUME: %q", out)
	}
	if v := strings.Fields(s.mustHako(t, "volume", "ls", "-q")); len(v) != 2 {
		t.Errorf("volumes: %q, want the kept anonymous one and named, no third", v)
	}
}

// pushVolumeImage pushes busybox with /data/seeded ("from-image") and
// VOLUME /data to ref.
func pushVolumeImage(t *testing.T, ref string) {
	t.Helper()
	img, err := testimage.WithLayer(busybox.img, map[string]testimage.File{
		"data/":       {Mode: os.ModeDir | 0o755},
		"data/seeded": {Mode: 0o644, Content: []byte("from-image")},
	})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config.DeepCopy()
	cfg.Volumes = map[string]struct{}{"/data": {}}
	if img, err = mutate.Config(img, *cfg); err != nil {
		t.Fatal(err)
	}
	push(t, ref, img)
}
