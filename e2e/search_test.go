package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestSearch runs hako search against a local HTTP server speaking the
// /v1/search API as Docker Hub does (this machine has no internet): the
// query and limit arrive, the columns, truncation and [OK] are Docker's,
// filters and --format apply, and a logged-in user's credentials are sent.
func TestSearch(t *testing.T) {
	var mu sync.Mutex
	var gotQuery, gotN, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/": // for hako login
			if u, p, ok := r.BasicAuth(); !ok || u != authUser || p != authPassword {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Write([]byte("{}"))
		case "/v1/search":
			mu.Lock()
			gotQuery, gotN, gotAuth = r.URL.Query().Get("q"), r.URL.Query().Get("n"), r.Header.Get("Authorization")
			mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{
				"num_results": 3, "query": r.URL.Query().Get("q"),
				"results": []map[string]any{
					{"name": "busybox", "description": "Busybox base image.", "star_count": 3000, "is_official": true},
					{"name": "someone/busybox-tools", "description": "A description long enough that Docker cuts it\nat forty-five characters", "star_count": 5},
					{"name": "other/box", "description": "", "star_count": 0},
				},
			})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	s := newStore(t)
	env := dockerHome(t)

	out, errOut, code := s.hakoEnv(t, env, nil, "search", "--limit", "10", host+"/busy")
	if code != 0 {
		t.Fatalf("search: exit %d, %s", code, errOut)
	}
	if gotQuery != "busy" || gotN != "10" || gotAuth != "" {
		t.Errorf("the server got q=%q n=%q auth=%q, want busy, 10 and no credentials", gotQuery, gotN, gotAuth)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "NAME DESCRIPTION STARS OFFICIAL" {
		t.Fatalf("search output:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != "busybox" || f[len(f)-2] != "3000" || f[len(f)-1] != "[OK]" {
		t.Errorf("first row %q", lines[1])
	}
	if !strings.Contains(lines[2], "A description long enough that Docker cuts i…") {
		t.Errorf("second row %q, want the description cut at 45 characters", lines[2])
	}

	out = s.mustHako(t, "search", "--filter", "stars=5", "--filter", "is-official=false", "--format", "{{.Name}}:{{.StarCount}}", host+"/busy")
	if out != "someone/busybox-tools:5\n" {
		t.Errorf("filtered search printed %q", out)
	}
	_, errOut, code = s.hako(t, "search", "--limit", "0", host+"/busy")
	if code != 125 || !strings.Contains(errOut, "[1, 100]") {
		t.Errorf("--limit 0: exit %d, %q", code, errOut)
	}
	_, errOut, code = s.hako(t, "search", "--filter", "color=red", host+"/busy")
	if code != 125 {
		t.Errorf("bad filter: exit %d, %q", code, errOut)
	}

	if _, errOut, code := s.hakoEnv(t, env, strings.NewReader(authPassword), "login", "-u", authUser, "--password-stdin", host); code != 0 {
		t.Fatalf("login to the search server: %s", errOut)
	}
	s.hakoEnv(t, env, nil, "search", host+"/busy")
	if !strings.HasPrefix(gotAuth, "Basic ") {
		t.Errorf("after login the search sent Authorization %q, want Basic credentials", gotAuth)
	}

	srv404 := httptest.NewServer(http.NotFoundHandler())
	defer srv404.Close()
	_, errOut, code = s.hako(t, "search", strings.TrimPrefix(srv404.URL, "http://")+"/x")
	wantOneError(t, "search of a registry without the API", errOut, code)
}
