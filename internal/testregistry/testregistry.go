// Package testregistry runs Debian's docker-registry (the reference
// distribution server) on a free loopback port, for tests and benchmarks.
package testregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is a running docker-registry serving from a directory.
type Registry struct {
	Addr string // 127.0.0.1:PORT
	// CAFile is the PEM certificate a client must trust to reach a
	// registry from StartTLS (self-signed, for 127.0.0.1); empty otherwise.
	CAFile string
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
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

// tlsConfig serves HTTPS with a certificate and key.
const tlsConfig = `  tls:
    certificate: %s
    key: %s
`

// Start starts docker-registry with its config, data and log under dir
// (created if missing) and waits until it answers /v2/.
func Start(dir string) (*Registry, error) { return start(dir, "", "", false) }

// StartAuth is Start for a registry that lets only user with password in.
func StartAuth(dir, user, password string) (*Registry, error) {
	if user == "" {
		return nil, fmt.Errorf("StartAuth needs a user name")
	}
	return start(dir, user, password, false)
}

// StartTLS is Start for a registry that speaks HTTPS only, with a
// self-signed certificate for 127.0.0.1 written to Registry.CAFile.
func StartTLS(dir string) (*Registry, error) { return start(dir, "", "", true) }

func start(dir, user, password string, withTLS bool) (*Registry, error) {
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
	caFile := ""
	if withTLS {
		cert, key, err := selfSigned(dir)
		if err != nil {
			return nil, err
		}
		// The tls block belongs to the http section, the config's last.
		text = strings.Replace(text, "  secret: hako-test\n", "  secret: hako-test\n"+fmt.Sprintf(tlsConfig, cert, key), 1)
		caFile = cert
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
	r := &Registry{Addr: addr, CAFile: caFile, dir: dir, cmd: cmd, done: make(chan struct{})}
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
	client := http.DefaultClient
	if r.CAFile != "" {
		url = "https://" + r.Addr + "/v2/"
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		defer client.CloseIdleConnections()
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
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

// selfSigned writes a self-signed ECDSA certificate for 127.0.0.1 (its own
// CA) and its key under dir, and returns their paths.
func selfSigned(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hako test registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("creating the registry's certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
