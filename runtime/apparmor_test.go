package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hako-run/hako/apparmor"
	"github.com/hako-run/hako/cgroups"
)

// fakeAppArmor is a host with AppArmor enabled whose kernel has the loaded
// profiles, and whose apparmor_parser adds the profile it reads to them.
func fakeAppArmor(t *testing.T, loaded ...string) *apparmor.Host {
	t.Helper()
	dir := t.TempDir()
	h := &apparmor.Host{
		EnabledPath:  filepath.Join(dir, "enabled"),
		ProfilesPath: filepath.Join(dir, "profiles"),
		ParserPath:   filepath.Join(dir, "apparmor_parser"),
		ProfileDir:   filepath.Join(dir, "apparmor.d"),
		CurrentPath:  filepath.Join(dir, "current"),
		LockPath:     filepath.Join(dir, "apparmor.lock"),
	}
	var list strings.Builder
	for _, name := range loaded {
		list.WriteString(name + " (enforce)\n")
	}
	script := "#!/bin/sh\nsed -n 's/^profile \"\\([^\"]*\\)\".*/\\1 (enforce)/p' >> " + h.ProfilesPath + "\n"
	for path, data := range map[string]string{h.EnabledPath: "Y\n", h.ProfilesPath: list.String(), h.ParserPath: script} {
		if err := os.WriteFile(path, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// createWithAppArmor runs Create (not the container: this kernel may have
// no AppArmor to apply a profile with) on a busybox layer.
func createWithAppArmor(t *testing.T, h *apparmor.Host, o SpecOptions) (*Container, string, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("creating containers needs root")
	}
	layer := filepath.Join(t.TempDir(), "layer")
	busyboxRootfs(t, layer)
	cg, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	o.Cmd = []string{"true"}
	c, err := Create(Config{
		Root: root, RunRoot: t.TempDir(), Image: "test", ImageID: "sha256:test",
		ImageConfig: ocispec.ImageConfig{Env: []string{"PATH=/bin"}},
		LayerDirs:   []string{layer}, Options: o, Cgroups: cg, AppArmor: h,
	})
	if err == nil {
		t.Cleanup(func() { c.Remove() })
	}
	return c, root, err
}

// TestCreateAppArmor: the chosen profile reaches the spec, the record and
// libcontainer's process; an unknown one fails Create with nothing left.
func TestCreateAppArmor(t *testing.T) {
	for _, tc := range []struct {
		name       string
		requested  string
		privileged bool
		want       string
	}{
		{"default", "", false, apparmor.DefaultProfile},
		{"privileged", "", true, apparmor.Unconfined},
		{"unconfined", "unconfined", false, apparmor.Unconfined},
		{"loaded", "mine", false, "mine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeAppArmor(t, "mine")
			c, _, err := createWithAppArmor(t, h, SpecOptions{AppArmorProfile: tc.requested, Privileged: tc.privileged})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Spec.Process.ApparmorProfile; got != tc.want {
				t.Errorf("spec profile %q, want %q", got, tc.want)
			}
			var rec Record
			b, err := os.ReadFile(filepath.Join(c.Dir(), recordFile))
			if err == nil {
				err = json.Unmarshal(b, &rec)
			}
			if err != nil || rec.AppArmorProfile != tc.want {
				t.Errorf("record profile %q (%v), want %q", rec.AppArmorProfile, err, tc.want)
			}
			p, err := newProcess(c.Spec.Process, t.Logf)
			if err != nil || p.AppArmorProfile != tc.want {
				t.Errorf("libcontainer process profile %q (%v), want %q", p.AppArmorProfile, err, tc.want)
			}
			loaded, err := h.IsLoaded(apparmor.DefaultProfile)
			if err != nil || loaded != (tc.want == apparmor.DefaultProfile) {
				t.Errorf("hako-default loaded: %v (%v)", loaded, err)
			}
		})
	}

	t.Run("not loaded", func(t *testing.T) {
		_, root, err := createWithAppArmor(t, fakeAppArmor(t), SpecOptions{AppArmorProfile: "nonexistent"})
		if err == nil || !strings.Contains(err.Error(), `"nonexistent" is not loaded`) {
			t.Fatalf("Create: %v, want the profile refused", err)
		}
		if ents, _ := os.ReadDir(filepath.Join(root, "containers")); len(ents) != 0 {
			t.Errorf("a refused container left %d entries", len(ents))
		}
	})

	t.Run("host without AppArmor", func(t *testing.T) {
		h := fakeAppArmor(t, "mine")
		os.WriteFile(h.EnabledPath, []byte("N\n"), 0o644)
		c, _, err := createWithAppArmor(t, h, SpecOptions{AppArmorProfile: "nonexistent"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Spec.Process.ApparmorProfile != "" || c.AppArmorProfile != "" {
			t.Errorf("profile %q / %q on a host without AppArmor", c.Spec.Process.ApparmorProfile, c.AppArmorProfile)
		}
	})
}
