package apparmor

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeHost is a host whose AppArmor files live in a temporary directory:
// enabled says enabled, the profiles file lists loaded, and the parser is
// a script that "loads" what it reads by adding its name to that list.
func fakeHost(t *testing.T, enabled bool, loaded ...string) *Host {
	t.Helper()
	dir := t.TempDir()
	h := &Host{
		EnabledPath:  filepath.Join(dir, "enabled"),
		ProfilesPath: filepath.Join(dir, "securityfs", "profiles"),
		ParserPath:   filepath.Join(dir, "apparmor_parser"),
		ProfileDir:   filepath.Join(dir, "apparmor.d"),
		CurrentPath:  filepath.Join(dir, "current"),
		LockPath:     filepath.Join(dir, "run", "apparmor.lock"),
	}
	state := "N\n"
	if enabled {
		state = "Y\n"
	}
	writeFile(t, h.EnabledPath, state)
	var list strings.Builder
	for _, name := range loaded {
		list.WriteString(name + " (enforce)\n")
	}
	writeFile(t, h.ProfilesPath, list.String())
	// The fake parser keeps each profile it was given (parsed.N) and adds
	// the profile's name to the list, as the kernel would.
	script := `#!/bin/sh
[ "$1" = -Kr ] || { echo "unexpected arguments: $*" >&2; exit 2; }
n=$(ls ` + dir + `/parsed.* 2>/dev/null | wc -l)
cat > ` + dir + `/parsed.$n
sleep 0.1
name=$(sed -n 's/^profile "\([^"]*\)".*/\1/p' ` + dir + `/parsed.$n)
echo "$name (enforce)" >> ` + h.ProfilesPath + "\n"
	if err := os.WriteFile(h.ParserPath, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// parsed lists the profiles the fake parser was given.
func parsed(t *testing.T, h *Host) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(filepath.Dir(h.EnabledPath), "parsed.*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestGenerateAsDocker: for the same host (which includes exist, which
// profile hako runs under) the profile is byte for byte the one moby's
// generator makes (its golden files, in testdata/moby).
func TestGenerateAsDocker(t *testing.T) {
	for _, tc := range []struct {
		golden, name, current string
		macros                []string
	}{
		{"default", "default", "", nil},
		{"with-api3", "with-api3", "", []string{"abi/3.0"}},
		{"with-tunables", "tunables", "", []string{"tunables/global"}},
		{"with-abstractions-base", "abstractions-base", "", []string{"abstractions/base"}},
		{"with-daemon-profile", "with-daemon-profile", "my-daemon-profile (enforce)\n", nil},
		{"with-spaces", "Profile with spaces", "Daemon Profile (complain)\n", nil},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := fakeHost(t, true)
			for _, m := range tc.macros {
				writeFile(t, filepath.Join(h.ProfileDir, m), "")
			}
			if tc.current != "" {
				writeFile(t, h.CurrentPath, tc.current)
			}
			var got bytes.Buffer
			if err := h.generate(&got, tc.name); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "moby", tc.golden+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("generated profile differs from moby's:\n--- got ---\n%s\n--- want ---\n%s", got.String(), want)
			}
		})
	}
}

// TestGeneratedProfileParses: Debian's apparmor_parser compiles hako-default
// (without loading it: this test needs no AppArmor in the kernel), both
// with the system's includes and without any.
func TestGeneratedProfileParses(t *testing.T) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		t.Fatal("apparmor_parser is missing: install Debian's apparmor package (make test-deps)")
	}
	system := NewHost(t.TempDir())
	for _, m := range []string{"abi/3.0", "tunables/global", "abstractions/base"} {
		if !system.hasMacro(m) {
			t.Fatalf("%s has no %s: the apparmor package is incomplete", system.ProfileDir, m)
		}
	}
	bare := fakeHost(t, true) // an empty ProfileDir: no ABI, no includes
	for name, h := range map[string]*Host{"system includes": system, "no includes": bare} {
		t.Run(name, func(t *testing.T) {
			var profile bytes.Buffer
			if err := h.Generate(&profile); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(profile.String(), `profile "hako-default" flags=`) {
				t.Fatalf("no hako-default profile in:\n%s", profile.String())
			}
			if out, err := compile(parser, profile.Bytes()); err != nil {
				t.Fatalf("apparmor_parser rejected the profile: %v\n%s\n%s", err, out, profile.String())
			}
			// The parser does check: a broken rule in the same profile fails.
			broken := strings.Replace(profile.String(), "  network,\n", "  network bogus-family,\n", 1)
			if broken == profile.String() {
				t.Fatal("no network rule to break")
			}
			if out, err := compile(parser, []byte(broken)); err == nil {
				t.Fatalf("apparmor_parser accepted a broken profile: %s", out)
			}
		})
	}
}

// compile runs apparmor_parser on profile without loading it into the
// kernel (-Q) and without its cache (-K); -S writes the compiled policy,
// so it is really built.
func compile(parser string, profile []byte) ([]byte, error) {
	cmd := exec.Command(parser, "--skip-kernel-load", "--skip-cache", "--stdout")
	cmd.Stdin = bytes.NewReader(profile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil && len(out) == 0 {
		err = os.ErrInvalid // compiled to nothing
	}
	return stderr.Bytes(), err
}

func TestEnabled(t *testing.T) {
	if h := fakeHost(t, true); !h.Enabled() {
		t.Error("enabled host reported disabled")
	}
	if h := fakeHost(t, false); h.Enabled() {
		t.Error("a host whose kernel says N reported enabled")
	}
	h := fakeHost(t, true)
	os.Remove(h.ParserPath)
	if h.Enabled() {
		t.Error("a host without apparmor_parser reported enabled (Docker treats it as disabled)")
	}
	h = fakeHost(t, true)
	os.RemoveAll(filepath.Dir(h.ProfilesPath))
	if h.Enabled() {
		t.Error("a host without securityfs reported enabled")
	}
	h = fakeHost(t, true)
	os.Remove(h.EnabledPath)
	if h.Enabled() {
		t.Error("a kernel without the AppArmor module reported enabled")
	}
	h = fakeHost(t, true)
	h.InContainer = true
	if h.Enabled() {
		t.Error("hako in a container reported AppArmor enabled (Docker leaves it alone there)")
	}
}

func TestIsLoaded(t *testing.T) {
	h := fakeHost(t, true, "busybox", "MongoDB Compass", "/usr/bin/man", "ubuntu_pro_esm_cache//ps")
	for name, want := range map[string]bool{
		"busybox": true, "MongoDB Compass": true, "/usr/bin/man": true,
		"ubuntu_pro_esm_cache//ps": true, "ubuntu_pro_esm_cache": false, "MongoDB": false, "nope": false,
	} {
		got, err := h.IsLoaded(name)
		if err != nil || got != want {
			t.Errorf("IsLoaded(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	os.Remove(h.ProfilesPath)
	if _, err := h.IsLoaded("busybox"); err == nil {
		t.Error("no error when the profiles file is unreadable")
	}
}

// TestChoose: Docker's rules, on faked hosts.
func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name       string
		enabled    bool
		loaded     []string
		requested  string
		privileged bool
		want       string
		wantErr    string
		wantLoads  int // profiles given to apparmor_parser
	}{
		{name: "disabled host: none", want: ""},
		{name: "disabled host ignores a named profile", requested: "nonexistent", want: ""},
		{name: "disabled host ignores unconfined", requested: "unconfined", want: ""},
		{name: "disabled host, privileged", privileged: true, want: ""},
		{name: "default is loaded on demand", enabled: true, want: DefaultProfile, wantLoads: 1},
		{name: "default already loaded", enabled: true, loaded: []string{DefaultProfile}, want: DefaultProfile},
		{name: "default by name", enabled: true, requested: DefaultProfile, want: DefaultProfile, wantLoads: 1},
		{name: "privileged", enabled: true, privileged: true, want: Unconfined},
		{name: "unconfined", enabled: true, requested: "unconfined", want: Unconfined},
		{name: "a loaded profile", enabled: true, loaded: []string{"my profile"}, requested: "my profile", want: "my profile"},
		{name: "a named profile wins over privileged", enabled: true, loaded: []string{"mine"}, requested: "mine", privileged: true, want: "mine"},
		{name: "an unknown profile", enabled: true, requested: "nonexistent", wantErr: `AppArmor profile "nonexistent" is not loaded`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHost(t, tc.enabled, tc.loaded...)
			got, err := h.Choose(tc.requested, tc.privileged)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("Choose = %q, %v; want one line with %q", got, err, tc.wantErr)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("Choose = %q, %v; want %q", got, err, tc.want)
			}
			loads := parsed(t, h)
			if len(loads) != tc.wantLoads {
				t.Fatalf("apparmor_parser loaded %d profiles, want %d", len(loads), tc.wantLoads)
			}
			for _, p := range loads {
				if !strings.Contains(p, `profile "hako-default"`) {
					t.Errorf("apparmor_parser was given something else than hako-default:\n%s", p)
				}
			}
		})
	}
}

// TestEnsureDefaultOnce: runs that start together load the profile once
// (the lock), and a later run finds it loaded.
func TestEnsureDefaultOnce(t *testing.T) {
	h := fakeHost(t, true, "other")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- h.EnsureDefault()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := h.EnsureDefault(); err != nil {
		t.Fatal(err)
	}
	if n := len(parsed(t, h)); n != 1 {
		t.Fatalf("the profile was loaded %d times, want once", n)
	}
	if _, err := os.Stat(h.LockPath); err != nil {
		t.Errorf("no lock file: %v", err)
	}
}

// TestEnsureDefaultFails: a parser that fails gives one error with its
// output, and the choice fails with it.
func TestEnsureDefaultFails(t *testing.T) {
	h := fakeHost(t, true)
	writeFile(t, h.ParserPath, "#!/bin/sh\necho 'apparmor_parser: Unable to replace \"hako-default\".' >&2\nexit 1\n")
	_, err := h.Choose("", false)
	if err == nil || !strings.Contains(err.Error(), "Unable to replace") || !strings.Contains(err.Error(), "could not be loaded") {
		t.Fatalf("Choose = %v, want the parser's failure", err)
	}
}

func TestCleanProfileName(t *testing.T) {
	for in, want := range map[string]string{
		"": "unconfined", "unconfined\n": "unconfined", "foo (enforce)\n": "foo",
		"Daemon Profile (complain)": "Daemon Profile", "bare\n": "bare", "a (b) (enforce)": "a (b)",
	} {
		if got := cleanProfileName(in); got != want {
			t.Errorf("cleanProfileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEnsureDefaultRealParser: what EnsureDefault pipes to apparmor_parser,
// with the arguments it passes, is accepted by Debian's parser; only the
// load into the kernel (which this test may not have) is skipped.
func TestEnsureDefaultRealParser(t *testing.T) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		t.Fatal("apparmor_parser is missing: install Debian's apparmor package (make test-deps)")
	}
	h := fakeHost(t, true)
	h.ProfileDir = NewHost("").ProfileDir
	script := "#!/bin/sh\n" + parser + ` --skip-kernel-load "$@" || exit
echo "hako-default (enforce)" >> ` + h.ProfilesPath + "\n"
	writeFile(t, h.ParserPath, script)
	got, err := h.Choose("", false)
	if err != nil || got != DefaultProfile {
		t.Fatalf("Choose = %q, %v; want %s", got, err, DefaultProfile)
	}
	if ok, err := h.IsLoaded(DefaultProfile); err != nil || !ok {
		t.Fatalf("the parser was not run: loaded %v, %v", ok, err)
	}
}
