package image

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// registryError turns a registry's answer into one line a person can act on.
func registryError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("access denied: the repository does not exist or needs 'hako login' (%s)", summary(te))
	case http.StatusNotFound:
		return fmt.Errorf("not found: the repository or tag does not exist (%s)", summary(te))
	}
	return fmt.Errorf("registry answered %d: %s", te.StatusCode, summary(te))
}

func summary(te *transport.Error) string {
	var parts []string
	for _, d := range te.Errors {
		parts = append(parts, strings.TrimSpace(d.Message))
	}
	if len(parts) == 0 {
		return http.StatusText(te.StatusCode)
	}
	return strings.Join(parts, "; ")
}
