package image

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how Docker writes Docker Hub's registry in full references;
// go-containerregistry calls it index.docker.io.
const dockerHub = "docker.io"

// ParseReference parses an image reference with Docker's defaults
// (docker.io/library/…:latest). Registries on loopback are reached over
// plain HTTP, as Docker does; insecure lists registries that may be too.
func ParseReference(s string, insecure ...string) (name.Reference, error) {
	if s == "" {
		return nil, fmt.Errorf("invalid reference format: the image name is empty")
	}
	if s != strings.TrimSpace(s) {
		return nil, fmt.Errorf("invalid reference format %q: remove the spaces", s)
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return nil, fmt.Errorf("invalid reference format %q: it contains control characters", s)
	}
	var opts []name.Option
	if host := registryPart(s); host != "" && (isLoopback(host) || contains(insecure, host)) {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(s, opts...)
	if err != nil {
		if strings.ToLower(s) != s && name.IsErrBadName(err) {
			return nil, fmt.Errorf("invalid reference format %q: repository name must be lowercase", s)
		}
		return nil, fmt.Errorf("invalid reference format %q: %s", s, strings.TrimPrefix(err.Error(), "could not parse reference: "))
	}
	// Docker's limit, on the name with its registry (docker.io/library/…).
	if len(repoName(ref.Context())) > 255 {
		return nil, fmt.Errorf("invalid reference format %q: repository name must not be more than 255 characters", s)
	}
	for _, part := range strings.Split(ref.Context().RepositoryStr(), "/") {
		if !pathComponent().MatchString(part) {
			return nil, fmt.Errorf("invalid reference format %q: each part of a repository name must start and end with a letter or digit", s)
		}
	}
	return ref, nil
}

// pathComponent is the distribution grammar of one part of a repository.
var pathComponent = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
})

// FullName is the reference as hako stores it: Docker's spelling with the
// registry, repository and tag or digest (docker.io/library/busybox:latest).
func FullName(ref name.Reference) string {
	return repoName(ref.Context()) + separator(ref) + ref.Identifier()
}

// FamiliarName is the reference as Docker shows it to people: Docker Hub's
// registry and library/ namespace left out (busybox:latest).
func FamiliarName(ref name.Reference) string {
	return familiarRepo(ref.Context()) + separator(ref) + ref.Identifier()
}

func separator(ref name.Reference) string {
	if _, ok := ref.(name.Digest); ok {
		return "@"
	}
	return ":"
}

// repoName is the repository with Docker's spelling of the registry.
func repoName(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + repo.RepositoryStr()
}

// familiarRepo drops docker.io/ and library/ as `docker images` does.
func familiarRepo(repo name.Repository) string {
	if repo.RegistryStr() != name.DefaultRegistry {
		return repoName(repo)
	}
	return strings.TrimPrefix(repo.RepositoryStr(), "library/")
}

// registryPart returns the registry host of a reference string, or "" when
// the first path component is not a host (Docker's rule: it has a dot or a
// colon, or is localhost).
func registryPart(s string) string {
	first, _, found := strings.Cut(s, "/")
	if !found {
		return ""
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return first
	}
	return ""
}

// isLoopback reports whether a registry host (with an optional port) is on
// this machine: localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
