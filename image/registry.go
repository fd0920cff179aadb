package image

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ConfigFile is hako's configuration file; it takes the keys of Docker's
// daemon.json that apply to hako.
const ConfigFile = "/etc/hako/config.json"

// CertsDir holds extra CAs per registry, as Docker reads them:
// <CertsDir>/<host[:port]>/ca.crt (and any *.crt).
var CertsDir = "/etc/docker/certs.d"

// Config is the content of hako's configuration file.
type Config struct {
	InsecureRegistries []string `json:"insecure-registries"`
	// StorageDriver is overlay or vfs, as --storage-driver (OpenDriver).
	StorageDriver string `json:"storage-driver"`
}

// LoadConfig reads hako's configuration file; a missing file is no error.
func LoadConfig(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("reading %s: %w", path, err)
	}
	return c, nil
}

// remoteOptions are the options every registry call of this store uses:
// credentials as Docker keeps them, the registry's extra CAs, and plain
// HTTP or unverified TLS only for loopback and insecure registries.
func (s *Store) remoteOptions(repo name.Repository) ([]remote.Option, error) {
	tr, err := s.transport(repo.RegistryStr())
	if err != nil {
		return nil, err
	}
	return []remote.Option{
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(tr),
		remote.WithUserAgent("hako/0.1"),
	}, nil
}

// transport is the HTTP transport for a registry: its extra CAs, or no
// TLS verification for a registry listed as insecure.
func (s *Store) transport(host string) (*http.Transport, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if contains(s.Insecure, host) {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user listed this registry as insecure
	} else if pool, err := registryCAs(host); err != nil {
		return nil, err
	} else if pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return tr, nil
}

// registryNameOptions lets loopback and insecure registries be reached
// over plain HTTP, as ParseReference does for references.
func (s *Store) registryNameOptions(host string) []name.Option {
	if isLoopback(host) || contains(s.Insecure, host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// registryCAs returns the system roots plus the CAs in CertsDir/<host>, or
// nil when there are none for this registry.
func registryCAs(host string) (*x509.CertPool, error) {
	files, _ := filepath.Glob(filepath.Join(CertsDir, host, "*.crt"))
	var pems [][]byte
	for _, f := range files {
		if filepath.Base(f) != "ca.crt" && filepath.Ext(filepath.Base(f)) == ".crt" && fileExists(f[:len(f)-4]+".key") {
			continue // a client certificate, not a CA
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading registry CA %s: %w", f, err)
		}
		pems = append(pems, data)
	}
	if len(pems) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for i, p := range pems {
		if !pool.AppendCertsFromPEM(p) {
			return nil, fmt.Errorf("registry CA %s holds no PEM certificate", files[i])
		}
	}
	return pool, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
