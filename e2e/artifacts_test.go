package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hako-run/hako/internal/testimage"
)

// testrepo is regclient's test layout: multi-platform images beside OCI
// artifacts, signatures, SBOMs, referrer indexes and attestations.
const testrepo = "regclient/testdata/testrepo"

// TestLoadLayoutWithArtifacts loads every runnable image of testrepo and
// names every artifact it skips, runs one of the images it loaded, then
// refuses a layout (as a tar) that holds artifacts only, leaving the
// store as it was.
func TestLoadLayoutWithArtifacts(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the counts below are for the platforms every index of testrepo offers")
	}
	s := newStore(t)
	out := s.mustHako(t, "load", "-i", fixture(t, testrepo))
	var loaded, skipped []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Loaded image ID: sha256:"):
			loaded = append(loaded, strings.TrimPrefix(line, "Loaded image ID: "))
		case strings.HasPrefix(line, "Skipping "):
			skipped = append(skipped, line)
		default:
			t.Errorf("unexpected output line %q", line)
		}
	}
	// b1 b2 b3 v1 v2 v3 (and v3 again under a digest tag, listed once).
	if len(loaded) != 6 || len(skipped) != 19 {
		t.Fatalf("loaded %d and skipped %d, want 6 and 19:\n%s", len(loaded), len(skipped), out)
	}
	for _, want := range []string{
		"Skipping 0484e93c23cd (tag a1): an OCI artifact (artifactType application/example.sbom)",
		"Skipping 741132f956e1 (tag a2): an OCI artifact (artifactType application/example.signature)",
		"Skipping 43089316cfee (tag a-docker): its content is not image layers (media type application/vnd.example.build-type+json)",
		"Skipping d69399e05204 (tag loop): an index of OCI artifacts (artifactType application/example.loop)",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q", want)
		}
	}
	if rows := s.images(t); len(rows) != 6 {
		t.Errorf("images lists %d, want 6: %+v", len(rows), rows)
	}
	// The images hold no program: a static busybox from the host reads
	// the files of v3's five layers.
	v3 := loaded[len(loaded)-1]
	got := s.mustRun(t, "--rm", "-v", testimage.BusyboxPath+":/busybox:ro", v3, "/busybox", "ls", "/")
	for _, f := range []string{"base.txt", "layer1", "layer2", "layer3", "dir"} {
		if !strings.Contains("\n"+got, "\n"+f+"\n") {
			t.Errorf("ls / in %s: %q lacks %s", shortID(v3), got, f)
		}
	}

	// Artifacts only, as an OCI layout tar: exit 1, one error line, and
	// the store unchanged.
	dir := filepath.Join(t.TempDir(), "layout")
	if err := os.CopyFS(dir, os.DirFS(fixture(t, testrepo))); err != nil {
		t.Fatal(err)
	}
	keepIndexEntries(t, dir, "a1", "a2", "a3", "ai", "a-docker", "loop")
	archive := filepath.Join(t.TempDir(), "artifacts.tar")
	tarDir(t, dir, archive)
	before := snapshot(t, s.root)
	out, errOut, code := s.hako(t, "load", "-i", archive)
	wantOneError(t, "load of artifacts only", errOut, code)
	if !strings.Contains(errOut, "no runnable image") || strings.Count(out, "Skipping ") != 6 {
		t.Errorf("load of artifacts only: stdout %q, stderr %q", out, errOut)
	}
	if d := diffSnapshots(before, snapshot(t, s.root)); len(d) > 0 {
		t.Errorf("load of artifacts only changed the store: %q", d)
	}
}

// keepIndexEntries rewrites a layout's index.json to the entries with
// these ref names.
func keepIndexEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	p := filepath.Join(dir, "index.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var idx map[string]any
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, m := range idx["manifests"].([]any) {
		ann, _ := m.(map[string]any)["annotations"].(map[string]any)
		for _, n := range names {
			if ann["org.opencontainers.image.ref.name"] == n {
				kept = append(kept, m)
			}
		}
	}
	if len(kept) != len(names) {
		t.Fatalf("index.json has %d of the entries %q", len(kept), names)
	}
	idx["manifests"] = kept
	if raw, err = json.Marshal(idx); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
