package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DockerHubAuthKey is the key Docker keeps Docker Hub's credentials under.
const DockerHubAuthKey = "https://index.docker.io/v1/"

// AuthKey is the key of a registry's credentials in Docker's config file,
// as `docker login SERVER` computes it: Docker Hub's URL for Docker Hub (or
// no server), the bare host[:port] for any other.
func AuthKey(server string) string {
	if server == "" || server == "docker.io" || server == "index.docker.io" || server == "registry-1.docker.io" {
		return DockerHubAuthKey
	}
	h := credentials.ConvertToHostname(server)
	if h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io" {
		return DockerHubAuthKey
	}
	return h
}

// registryHost is the host[:port] the API of the registry keyed key lives at.
func registryHost(key string) string {
	if key == DockerHubAuthKey {
		return name.DefaultRegistry
	}
	return key
}

// LoginError is a registry's refusal of the credentials given.
type LoginError struct {
	URL string // the endpoint that refused them
	Msg string // the registry's words
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("Get %q: unauthorized: %s", e.URL, e.Msg)
}

// CheckLogin asks the registry keyed key whether user and password are
// good: a bearer registry hands out a token only for good ones, a basic one
// answers /v2/ with 200 only for them.
func (s *Store) CheckLogin(ctx context.Context, key, user, password string) error {
	reg, err := name.NewRegistry(registryHost(key), s.registryNameOptions(registryHost(key))...)
	if err != nil {
		return fmt.Errorf("registry %q: %w", key, err)
	}
	tr, err := s.transport(reg.RegistryStr())
	if err != nil {
		return err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	url := fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr())
	rt, err := transport.NewWithContext(ctx, reg, auth, tr, nil)
	if err != nil {
		return loginError(url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return fmt.Errorf("Get %q: %w", url, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return loginError(url, err)
	}
	return nil
}

func loginError(url string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		msg := summary(te)
		if msg == http.StatusText(te.StatusCode) {
			msg = "incorrect username or password"
		}
		return &LoginError{URL: url, Msg: strings.ToLower(msg[:1]) + msg[1:]}
	}
	return fmt.Errorf("Get %q: %w", url, err)
}

// SaveLogin stores credentials where and as Docker does: in the credential
// helper or store Docker's config file names, else base64 in its auths.
func SaveLogin(key, user, password string) error {
	cf, err := config.Load(config.Dir())
	if err != nil {
		return fmt.Errorf("reading Docker's config file: %w", err)
	}
	ac := types.AuthConfig{ServerAddress: key, Username: user, Password: password}
	if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
		return fmt.Errorf("storing credentials for %s: %w", key, err)
	}
	if err := cf.Save(); err != nil {
		return fmt.Errorf("saving %s: %w", cf.Filename, err)
	}
	return nil
}

// RemoveLogin erases a registry's credentials as `docker logout` does
// (under its key and its http:// and https:// forms). It reports false when
// the config file knew no login for it.
func RemoveLogin(key string) (bool, error) {
	cf, err := config.Load(config.Dir())
	if err != nil {
		return false, fmt.Errorf("reading Docker's config file: %w", err)
	}
	if _, ok := cf.AuthConfigs[key]; !ok {
		return false, nil
	}
	keys := []string{key}
	if key != DockerHubAuthKey {
		keys = append(keys, "http://"+key, "https://"+key)
	}
	for _, k := range keys {
		if err := cf.GetCredentialsStore(k).Erase(k); err != nil {
			return true, fmt.Errorf("removing credentials for %s: %w", k, err)
		}
	}
	if err := cf.Save(); err != nil {
		return true, fmt.Errorf("saving %s: %w", cf.Filename, err)
	}
	return true, nil
}
