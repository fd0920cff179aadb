package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hako-run/hako/internal/testregistry"
)

const (
	authUser     = "maker"
	authPassword = "s3cret-Pa55"
)

// authRegistry starts a docker-registry that needs authUser's basic-auth
// login (htpasswd), for one test.
func authRegistry(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r, err := testregistry.StartAuth(dir, authUser, authPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r.Addr
}

// dockerHome is a HOME whose .docker/config.json hako reads and writes, so
// a test never sees or changes root's own logins.
func dockerHome(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	return append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"))
}

// hakoEnv runs hako on the store with env and stdin.
func (s *store) hakoEnv(t *testing.T, env []string, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := s.cmd(args...)
	cmd.Env, cmd.Stdin = env, stdin
	return runTool(t, cmd)
}

// homeOf is the HOME env sets (the last one wins, as for exec).
func homeOf(env []string) string {
	home := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "HOME="); ok {
			home = v
		}
	}
	return home
}

// dockerAuths reads the auths of the test's Docker config file.
func dockerAuths(t *testing.T, env []string) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(homeOf(env), ".docker", "config.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var cf struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatalf("config.json: %v\n%s", err, data)
	}
	return cf.Auths
}

// TestLoginLogout: a wrong password is refused by the registry and nothing
// is saved; the right one is saved as Docker saves it, pull then gets in,
// and logout removes it.
func TestLoginLogout(t *testing.T) {
	reg := authRegistry(t)
	ref := reg + "/private/busybox:1"
	r, _ := name.ParseReference(ref)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := remote.Write(r, busybox.img, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: authUser, Password: authPassword})); err != nil {
		t.Fatal(err)
	}
	env := dockerHome(t)
	s := newStore(t)

	_, errOut, code := s.hakoEnv(t, env, nil, "pull", ref)
	if code != 1 || !strings.Contains(errOut, "hako login") {
		t.Errorf("pull before login: exit %d, stderr %q; want 1 and a hint to log in", code, errOut)
	}

	_, errOut, code = s.hakoEnv(t, env, strings.NewReader("wrong\n"), "login", "-u", authUser, "--password-stdin", reg)
	wantOneError(t, "login with a wrong password", errOut, code)
	if !strings.Contains(errOut, "unauthorized") {
		t.Errorf("wrong password: stderr %q, want Docker's \"unauthorized\"", errOut)
	}
	if a := dockerAuths(t, env); a[reg] != nil {
		t.Errorf("a refused login was saved: %v", a)
	}

	out, errOut, code := s.hakoEnv(t, env, strings.NewReader(authPassword+"\n"), "login", "-u", authUser, "--password-stdin", reg)
	if code != 0 || strings.TrimSpace(out) != "Login Succeeded" {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	auth := dockerAuths(t, env)[reg]["auth"]
	if dec, _ := base64.StdEncoding.DecodeString(auth); string(dec) != authUser+":"+authPassword {
		t.Errorf("config.json auths[%q].auth = %q (%q), want base64 of user:password", reg, auth, dec)
	}

	if _, errOut, code := s.hakoEnv(t, env, nil, "pull", ref); code != 0 {
		t.Fatalf("pull after login: exit %d, stderr %s", code, errOut)
	}
	if out, _, code := s.hakoEnv(t, env, nil, "run", "--rm", ref, "echo", "in"); code != 0 || out != "in\n" {
		t.Errorf("run of the private image: exit %d, stdout %q", code, out)
	}

	// -p works too (with Docker's warning), and http:// forms name the same key.
	out, errOut, code = s.hakoEnv(t, env, nil, "login", "-u", authUser, "-p", authPassword, "http://"+reg)
	if code != 0 || !strings.Contains(errOut, "--password-stdin") || len(dockerAuths(t, env)) != 1 {
		t.Errorf("login -p: exit %d, stdout %q, stderr %q, auths %v", code, out, errOut, dockerAuths(t, env))
	}

	out, _, code = s.hakoEnv(t, env, nil, "logout", reg)
	if code != 0 || out != "Removing login credentials for "+reg+"\n" {
		t.Errorf("logout: exit %d, stdout %q", code, out)
	}
	if a := dockerAuths(t, env); a[reg] != nil {
		t.Errorf("logout left %v", a)
	}
	out, _, code = s.hakoEnv(t, env, nil, "logout", reg)
	if code != 0 || out != "Not logged in to "+reg+"\n" {
		t.Errorf("second logout: exit %d, stdout %q", code, out)
	}
	_, errOut, code = s.hakoEnv(t, env, strings.NewReader("x"), "login", "--password-stdin", reg)
	if code != 125 || !strings.Contains(errOut, "--username") {
		t.Errorf("--password-stdin without -u: exit %d, stderr %q, want 125", code, errOut)
	}
}

// TestLoginCredentialHelper: with credHelpers configured, login stores the
// secret through docker-credential-<name> (not in config.json), pull gets
// it back from the helper, and logout erases it there.
func TestLoginCredentialHelper(t *testing.T) {
	reg := authRegistry(t)
	ref := reg + "/private/busybox:1"
	r, _ := name.ParseReference(ref)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := remote.Write(r, busybox.img, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: authUser, Password: authPassword})); err != nil {
		t.Fatal(err)
	}
	env := dockerHome(t)
	home := homeOf(env)
	bin, secrets := t.TempDir(), t.TempDir()
	// A credential helper speaking docker-credential-helpers' protocol,
	// keeping one secret in a file.
	helper := "#!/bin/sh\nset -e\ncase \"$1\" in\n" +
		"store) cat > " + secrets + "/stored.json ;;\n" +
		"get) cat > /dev/null; cat " + secrets + "/stored.json ;;\n" +
		"erase) cat > /dev/null; rm -f " + secrets + "/stored.json ;;\n" +
		"list) echo '{}' ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-hakotest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"credHelpers":{"`+reg+`":"hakotest"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+bin+":"+os.Getenv("PATH"))
	s := newStore(t)

	out, errOut, code := s.hakoEnv(t, env, strings.NewReader(authPassword), "login", "-u", authUser, "--password-stdin", reg)
	if code != 0 || out != "Login Succeeded\n" {
		t.Fatalf("login: exit %d, %q, %q", code, out, errOut)
	}
	stored, err := os.ReadFile(filepath.Join(secrets, "stored.json"))
	if err != nil || !strings.Contains(string(stored), authPassword) {
		t.Errorf("the helper stored %q (%v), want the secret", stored, err)
	}
	if a := dockerAuths(t, env)[reg]["auth"]; a != "" {
		t.Errorf("config.json holds the secret %q despite the helper", a)
	}
	if _, errOut, code := s.hakoEnv(t, env, nil, "pull", ref); code != 0 {
		t.Errorf("pull with the helper's credentials: %s", errOut)
	}
	if out, _, code := s.hakoEnv(t, env, nil, "logout", reg); code != 0 || !strings.HasPrefix(out, "Removing login credentials") {
		t.Errorf("logout: exit %d, %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(secrets, "stored.json")); !os.IsNotExist(err) {
		t.Errorf("logout left the helper's secret: %v", err)
	}
}
