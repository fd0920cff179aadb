package image

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// SearchResult is one repository a registry's search found.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	StarCount   int    `json:"star_count"`
	IsOfficial  bool   `json:"is_official"`
	IsAutomated bool   `json:"is_automated"`
}

// Search asks a registry's search API (/v1/search, as Docker asks Docker
// Hub) for repositories matching term. A term that starts with a registry
// (host[:port]/…) asks that registry; any other asks Docker Hub.
func (s *Store) Search(ctx context.Context, term string, limit int) ([]SearchResult, error) {
	host, query := "index.docker.io", term
	if i := strings.IndexByte(term, '/'); i > 0 {
		if first := term[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			host, query = first, term[i+1:]
		}
	}
	reg, err := name.NewRegistry(host, s.registryNameOptions(host)...)
	if err != nil {
		return nil, fmt.Errorf("invalid registry %q: %w", host, err)
	}
	tr, err := s.transport(reg.RegistryStr())
	if err != nil {
		return nil, err
	}
	u := fmt.Sprintf("%s://%s/v1/search?%s", reg.Scheme(), reg.RegistryStr(), url.Values{"q": {query}, "n": {fmt.Sprint(limit)}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// Credentials as Docker keeps them, for registries whose search needs them.
	if a, err := authn.DefaultKeychain.Resolve(reg); err == nil && a != authn.Anonymous {
		if cfg, err := a.Authorization(); err == nil && cfg.Username != "" {
			req.SetBasicAuth(cfg.Username, cfg.Password)
		}
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("searching %s: %w", reg.RegistryStr(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("searching %s: the registry answered %s (it may offer no search API)", reg.RegistryStr(), resp.Status)
	}
	var body struct {
		Results []SearchResult `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("searching %s: reading the answer: %w", reg.RegistryStr(), err)
	}
	if len(body.Results) > limit {
		body.Results = body.Results[:limit]
	}
	return body.Results, nil
}
