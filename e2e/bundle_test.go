package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBundle: hako bundle writes the OCI bundle of the container run would
// make, self-contained (the image's VOLUME and the generated files copied
// in), and Debian's runc runs it unchanged with the output hako run gives;
// no container is left behind.
func TestBundle(t *testing.T) {
	s := runStore(t)
	ref := registry + "/bundle-vol:latest"
	pushVolumeImage(t, ref)
	share := t.TempDir()
	if err := os.WriteFile(filepath.Join(share, "f"), []byte("shared"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-e", "X=1", "-w", "/tmp", "-u", "1000", "-v", share + ":/share:ro", ref}
	script := []string{"sh", "-c", "echo $X; pwd; id -u; cat /data/seeded /share/f; echo; grep Seccomp: /proc/self/status"}
	want := "1\n/tmp\n1000\nfrom-imageshared\nSeccomp:\t2\n"
	if out, errOut, code := s.hako(t, append(append([]string{"run", "--rm"}, flags...), script...)...); code != 0 || out != want {
		t.Fatalf("hako run: exit %d, %q, want %q; %s", code, out, want, errOut)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	out, errOut, code := s.hako(t, append(append(append([]string{"bundle"}, flags[:len(flags)-1]...), ref, dir, "--"), script...)...)
	if code != 0 || strings.TrimSpace(out) != dir {
		t.Fatalf("hako bundle: exit %d, %q; %s", code, out, errOut)
	}
	if ids := strings.TrimSpace(s.mustHako(t, "ps", "-aq")); ids != "" {
		t.Errorf("bundle left containers: %q", ids)
	}
	var spec struct {
		Root   struct{ Path string }
		Mounts []struct{ Destination, Source string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil || spec.Root.Path != "rootfs" {
		t.Fatalf("config.json: %v, root %q", err, spec.Root.Path)
	}
	for _, m := range spec.Mounts {
		if strings.HasPrefix(m.Source, s.root) {
			t.Errorf("mount %s still comes from hako's store: %s", m.Destination, m.Source)
		}
	}
	runcRoot := t.TempDir()
	cmd := exec.Command("runc", "--root", runcRoot, "run", "--bundle", dir, "hako-bundle-test")
	got, err := cmd.Output()
	if err != nil || string(got) != want {
		t.Errorf("runc run of the bundle: %v, %q, want %q", err, got, want)
	}
	exec.Command("runc", "--root", runcRoot, "delete", "--force", "hako-bundle-test").Run()
	// A non-empty directory and the bridge are refused.
	if _, errOut, code := s.hako(t, "bundle", busybox.ref, dir); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("bundle into a non-empty dir: exit %d, %q", code, errOut)
	}
	if _, _, code := s.hako(t, "bundle", "--network", "bridge", busybox.ref, t.TempDir()); code != 125 {
		t.Errorf("bundle --network bridge: exit %d, want 125", code)
	}
}
