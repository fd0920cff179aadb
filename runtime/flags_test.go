package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseEnv(t *testing.T) {
	t.Setenv("HAKO_T_HOST", "from-host")
	os.Unsetenv("HAKO_T_UNSET")
	file := filepath.Join(t.TempDir(), "env")
	os.WriteFile(file, []byte("# comment\n\nA=1\n  B=two words\nHAKO_T_HOST\nHAKO_T_UNSET\n"), 0o644)
	got, err := ParseEnv([]string{file}, []string{"C=3", "HAKO_T_HOST", "HAKO_T_UNSET", "A=override"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "B=two words", "HAKO_T_HOST=from-host", "C=3", "HAKO_T_HOST=from-host", "A=override"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseEnv = %q, want %q", got, want)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("BAD KEY=1\n"), 0o644)
	if _, err := ParseEnv([]string{bad}, nil); err == nil || !strings.Contains(err.Error(), "invalid variable name") {
		t.Errorf("env file with a space in a name: %v", err)
	}
	if _, err := ParseEnv([]string{filepath.Join(t.TempDir(), "missing")}, nil); err == nil {
		t.Error("missing env file accepted")
	}
	bom := filepath.Join(t.TempDir(), "bom")
	os.WriteFile(bom, []byte("\ufeffBOM=1\r\n\u00a0\vNEXT=2\r\n"), 0o644)
	if got, err := ParseEnv([]string{bom}, nil); err != nil || !reflect.DeepEqual(got, []string{"BOM=1", "NEXT=2"}) {
		t.Errorf("env file with a BOM: %q, %v", got, err)
	}
	latin1 := filepath.Join(t.TempDir(), "latin1")
	os.WriteFile(latin1, []byte("A=caf\xe9\n"), 0o644)
	if _, err := ParseEnv([]string{latin1}, nil); err == nil || !strings.Contains(err.Error(), "invalid UTF-8 at line 1") {
		t.Errorf("env file in Latin-1: %v", err)
	}
}

func TestParseUlimits(t *testing.T) {
	got, err := ParseUlimits([]string{"nofile=100:200", "nproc=50", "core=-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200},
		{Type: "RLIMIT_NPROC", Soft: 50, Hard: 50},
		{Type: "RLIMIT_CORE", Soft: ^uint64(0), Hard: ^uint64(0)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseUlimits = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"nofile", "=1", "nofile=x", "nofile=200:100", "bogus=1"} {
		if _, err := ParseUlimits([]string{bad}); err == nil {
			t.Errorf("ParseUlimits(%q) accepted", bad)
		}
	}
}

func TestParseTmpfsAndSecurityOpt(t *testing.T) {
	m, err := ParseTmpfs([]string{"/run:rw,size=1m", "/scratch/"})
	if err != nil || m["/run"] != "rw,size=1m" || m["/scratch"] != "" || len(m) != 2 {
		t.Errorf("ParseTmpfs = %v, %v", m, err)
	}
	if _, err := ParseTmpfs([]string{"rel"}); err == nil {
		t.Error("relative --tmpfs accepted")
	}
	var so SpecOptions
	for _, opt := range []string{"no-new-privileges", "seccomp=unconfined"} {
		if err := ApplySecurityOpt(&so, opt); err != nil {
			t.Fatal(err)
		}
	}
	if !so.NoNewPrivileges || so.SeccompProfile != "unconfined" {
		t.Errorf("security opts gave %+v", so)
	}
	for _, opt := range []string{"apparmor", "label=type:svirt_t", "systempaths=confined", "bogus"} {
		if err := ApplySecurityOpt(&so, opt); err == nil {
			t.Errorf("unsupported --security-opt %s accepted", opt)
		}
	}
	for _, opt := range []string{"apparmor=unconfined", "label=disable", "label:disable", "systempaths=unconfined"} {
		if err := ApplySecurityOpt(&so, opt); err != nil {
			t.Errorf("--security-opt %s: %v", opt, err)
		}
	}
	if so.AppArmorProfile != "unconfined" {
		t.Errorf("apparmor=unconfined gave profile %q", so.AppArmorProfile)
	}
	if err := ApplySecurityOpt(&so, "apparmor:my-profile"); err != nil || so.AppArmorProfile != "my-profile" {
		t.Errorf("apparmor:my-profile gave profile %q, %v", so.AppArmorProfile, err)
	}
	so.SeccompProfile = "unconfined"
	if err := ApplySecurityOpt(&so, "seccomp=builtin"); err != nil || so.SeccompProfile != "" {
		t.Errorf("seccomp=builtin: profile %q, %v; want Docker's default", so.SeccompProfile, err)
	}
	if !so.UnconfinedSystemPaths {
		t.Error("systempaths=unconfined not recorded")
	}
}
