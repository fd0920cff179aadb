package runtime

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestStoppedCommitConfig(t *testing.T) {
	stopped := func(args, env []string, tty bool, cwd string) *Stopped {
		return &Stopped{Record: Record{Spec: &specs.Spec{Hostname: "abc123", Process: &specs.Process{Args: args, Env: env, Terminal: tty, Cwd: cwd}}}}
	}
	env := []string{"PATH=/bin", "HOSTNAME=abc123", "TERM=xterm", "HOME=/root", "MADE=yes"}
	for _, c := range []struct {
		name     string
		c        *Stopped
		imageEP  []string
		imageEnv []string
		want     CommitConfig
	}{
		{"no entrypoint", stopped([]string{"sh", "-c", "x"}, env, true, "/"), nil, []string{"PATH=/bin"},
			CommitConfig{Cmd: []string{"sh", "-c", "x"}, Env: []string{"PATH=/bin", "MADE=yes"}}},
		{"image entrypoint kept", stopped([]string{"/init", "serve"}, env, false, "/srv"), []string{"/init"}, []string{"PATH=/bin", "HOME=/h"},
			CommitConfig{Entrypoint: []string{"/init"}, Cmd: []string{"serve"}, Env: []string{"PATH=/bin", "TERM=xterm", "HOME=/root", "MADE=yes"}, WorkingDir: "/srv"}},
		{"entrypoint overridden", stopped([]string{"/bin/true"}, nil, false, "/"), []string{"/init"}, nil,
			CommitConfig{Entrypoint: []string{"/bin/true"}}},
	} {
		if got := c.c.CommitConfig(c.imageEP, c.imageEnv, ""); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}
