package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-run/hako/apparmor"
)

// TestAppArmor: --security-opt apparmor= as Docker. On a host without
// AppArmor (this machine's kernel) every run is as before and nothing is
// said, a named profile included (Docker ignores it there), and the record
// says no profile; where AppArmor is enabled, containers run under
// hako-default (loaded on first use), unconfined when asked, and an unknown
// profile is one error with exit 125.
func TestAppArmor(t *testing.T) {
	s := runStore(t)
	host := apparmor.NewHost(s.runroot)
	// record reads what the last container's record says of AppArmor.
	record := func() (recorded string, inSpec string) {
		t.Helper()
		ids := s.containerIDs(t)
		if len(ids) != 1 {
			t.Fatalf("%d container records, want the last run's", len(ids))
		}
		var rec struct {
			AppArmorProfile *string `json:"apparmor_profile"`
			Spec            struct {
				Process struct {
					ApparmorProfile string `json:"apparmorProfile"`
				} `json:"process"`
			} `json:"spec"`
		}
		b, err := os.ReadFile(filepath.Join(s.root, "containers", ids[0], "config.json"))
		if err == nil {
			err = json.Unmarshal(b, &rec)
		}
		if err != nil || rec.AppArmorProfile == nil {
			t.Fatalf("container record without apparmor_profile: %v", err)
		}
		// hako has no rm yet: the exited container's directory goes.
		if err := os.RemoveAll(filepath.Join(s.root, "containers", ids[0])); err != nil {
			t.Fatal(err)
		}
		return *rec.AppArmorProfile, rec.Spec.Process.ApparmorProfile
	}

	if !host.Enabled() {
		t.Log("AppArmor is not enabled on this host: checking that hako behaves as Docker does there")
		for _, opts := range [][]string{nil, {"--security-opt", "apparmor=unconfined"}, {"--security-opt", "apparmor=nonexistent"}, {"--privileged"}} {
			out, errOut, code := s.run(t, append(opts, busybox.ref, "echo", "ran")...)
			if code != 0 || out != "ran\n" || errOut != "" {
				t.Fatalf("run %q: exit %d, stdout %q, stderr %q; want it to run and say nothing", opts, code, out, errOut)
			}
			if rec, spec := record(); rec != "" || spec != "" {
				t.Errorf("run %q: recorded profile %q, in the spec %q; want none", opts, rec, spec)
			}
		}
		_, errOut, code := s.run(t, "--rm", "--debug", "--security-opt", "apparmor=nonexistent", busybox.ref, "true")
		if code != 0 || !strings.Contains(errOut, "apparmor: none, AppArmor is not enabled on this host; apparmor=nonexistent ignored") {
			t.Errorf("--debug: exit %d, no apparmor line in: %s", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(s.runroot, "apparmor.lock")); !os.IsNotExist(err) {
			t.Errorf("apparmor.lock made on a host without AppArmor: %v", err)
		}
		return
	}

	// AppArmor is enabled: hako-default is loaded on demand; unload it
	// afterwards if this test loaded it.
	if loaded, err := host.IsLoaded(apparmor.DefaultProfile); err != nil {
		t.Fatal(err)
	} else if !loaded {
		t.Cleanup(func() {
			cmd := exec.Command(host.ParserPath, "-R")
			cmd.Stdin = strings.NewReader("profile " + apparmor.DefaultProfile + " {}\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("unloading %s: %v: %s", apparmor.DefaultProfile, err, out)
			}
		})
	}
	for _, tc := range []struct {
		opts []string
		want string
	}{
		{nil, apparmor.DefaultProfile},
		{[]string{"--security-opt", "apparmor=unconfined"}, apparmor.Unconfined},
		{[]string{"--privileged"}, apparmor.Unconfined},
	} {
		out, errOut, code := s.run(t, append(tc.opts, busybox.ref, "cat", "/proc/self/attr/current")...)
		if code != 0 || !strings.HasPrefix(out, tc.want) {
			t.Errorf("run %q: exit %d, confinement %q, want %s; stderr %s", tc.opts, code, out, tc.want, errOut)
		}
		if rec, spec := record(); rec != tc.want || spec != tc.want {
			t.Errorf("run %q: recorded profile %q, in the spec %q; want %s", tc.opts, rec, spec, tc.want)
		}
	}
	_, errOut, code := s.run(t, "--rm", "--security-opt", "apparmor=nonexistent", busybox.ref, "true")
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if code != 125 || len(lines) != 1 || !strings.Contains(errOut, `"nonexistent" is not loaded`) {
		t.Errorf("unknown profile: exit %d, stderr %q; want one line and exit 125", code, errOut)
	}
	if ids := s.containerIDs(t); len(ids) != 0 {
		t.Errorf("a refused run left containers %q", ids)
	}
}
