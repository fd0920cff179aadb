// Package testregistry runs Debian's docker-registry (the reference
// distribution server) on a free loopback port, for tests and benchmarks.
package testregistry

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is a running docker-registry serving from a directory.
type Registry struct {
	Addr string // 127.0.0.1:PORT
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

const config = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: hako-test
`

// authConfig makes the registry ask for basic auth checked against an
// htpasswd file (bcrypt lines only, as docker-registry accepts).
const authConfig = `auth:
  htpasswd:
    realm: hako-test
    path: %s
`

// Start starts docker-registry with its config, data and log under dir
// (created if missing) and waits until it answers /v2/.
func Start(dir string) (*Registry, error) { return start(dir, "", "") }

// StartAuth is Start for a registry that lets only user with password in.
func StartAuth(dir, user, password string) (*Registry, error) {
	if user == "" {
		return nil, fmt.Errorf("StartAuth needs a user name")
	}
	return start(dir, user, password)
}

func start(dir, user, password string) (*Registry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating registry dir: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := filepath.Join(dir, "config.yml")
	text := fmt.Sprintf(config, filepath.Join(dir, "data"), addr)
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("writing htpasswd: %w", err)
		}
		text += fmt.Sprintf(authConfig, htpasswd)
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("writing registry config: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, fmt.Errorf("creating registry log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command("docker-registry", "serve", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting docker-registry (apt-get install docker-registry): %w", err)
	}
	r := &Registry{Addr: addr, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(r.done) }()
	if err := r.waitReady(20 * time.Second); err != nil {
		r.Stop()
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%w\nregistry log:\n%s", err, log)
	}
	return r, nil
}

// Stop kills the registry by its PID and reaps it; its directory stays.
func (r *Registry) Stop() {
	r.cmd.Process.Kill()
	<-r.done
}

func (r *Registry) waitReady(limit time.Duration) error {
	url := "http://" + r.Addr + "/v2/"
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			// With auth, 401 is the answer of a registry that is up.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case <-r.done:
			return fmt.Errorf("docker-registry exited before answering %s", url)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("docker-registry did not answer %s within %s", url, limit)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
