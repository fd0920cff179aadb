package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hako-run/hako/internal/testimage"
)

// TestRmiKeepsSharedLayers: removing one of two images built on the same base
// keeps the base layer and everything the other image needs.
func TestRmiKeepsSharedLayers(t *testing.T) {
	var imgs []pushed
	for _, n := range []string{"one", "two"} {
		img, err := testimage.WithLayer(busybox.img, map[string]testimage.File{n: {Mode: 0o644, Content: []byte(n)}})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, push(t, registry+"/shared-"+n+":latest", img))
	}
	s := newStore(t)
	for _, p := range imgs {
		s.mustHako(t, "pull", p.ref)
	}
	if d := s.layerDirs(t); len(d) != 3 {
		t.Fatalf("layers/ holds %q, want 3 (shared base + one per image)", d)
	}

	s.mustHako(t, "rmi", imgs[0].ref)
	if d := s.layerDirs(t); len(d) != 2 {
		t.Errorf("layers/ after rmi of one image: %q, want 2", d)
	}
	checkBusyboxExtracted(t, s)
	if f := s.layerFiles(t, "two"); len(f) != 1 {
		t.Errorf("layers/*/two: %q, want the other image's layer kept", f)
	}
	if f := s.layerFiles(t, "one"); len(f) != 0 {
		t.Errorf("layers/*/one: %q, want the removed image's layer gone", f)
	}
	for _, h := range append(slices.Clone(imgs[1].layers), imgs[1].config, imgs[1].manifest) {
		if _, err := os.Stat(filepath.Join(s.root, "images", "blobs", "sha256", h.Hex)); err != nil {
			t.Errorf("blob %s of the remaining image: %v", h, err)
		}
	}
	checkInspect(t, s.inspect(t, imgs[1].ref), imgs[1])
	checkNoTemp(t, s)
	// The remaining image can be saved whole: nothing it needs was collected.
	s.mustHako(t, "save", "-o", filepath.Join(t.TempDir(), "two.tar"), imgs[1].ref)

	s.mustHako(t, "rmi", imgs[1].ref)
	if d := s.layerDirs(t); len(d) != 0 {
		t.Errorf("layers/ after removing both images: %q", d)
	}
}

// TestRmiByID: an ID naming an image with several tags needs -f, as in Docker.
func TestRmiByID(t *testing.T) {
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	s.mustHako(t, "tag", busybox.ref, "other:1")
	id := shortID(busybox.config.String())

	before := snapshot(t, s.root)
	_, errOut, code := s.hako(t, "rmi", id)
	wantOneError(t, "rmi of an ID with two tags", errOut, code)
	if d := diffSnapshots(before, snapshot(t, s.root)); len(d) > 0 {
		t.Errorf("refused rmi changed the store: %q", d)
	}

	out := s.mustHako(t, "rmi", "-f", id)
	for _, want := range []string{"Untagged: " + busybox.ref, "Untagged: other:1", "Deleted: " + busybox.config.String()} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("rmi -f output %q lacks %q", out, want)
		}
	}
	if q := strings.TrimSpace(s.mustHako(t, "images", "-q")); q != "" {
		t.Errorf("images after rmi -f: %q", q)
	}
	if d := s.layerDirs(t); len(d) != 0 {
		t.Errorf("layers/ after rmi -f: %q", d)
	}
}

// TestNaming: references are normalised as Docker does, shown in their
// familiar form and stored under their full name.
func TestNaming(t *testing.T) {
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	for _, c := range []struct{ tag, full, repo, tagCol string }{
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox", "1.36"},
		{"docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox", "x"},
		{"someone/tool", "docker.io/someone/tool:latest", "someone/tool", "latest"},
		{"ghcr.io/org/app:2", "ghcr.io/org/app:2", "ghcr.io/org/app", "2"},
	} {
		s.mustHako(t, "tag", busybox.ref, c.tag)
		if n := s.refEntries(t, c.full); n != 1 {
			t.Errorf("tag %s: index.json has %d entries named %s, want 1", c.tag, n, c.full)
		}
		if r := findRows(s.images(t), c.repo, c.tagCol); len(r) != 1 {
			t.Errorf("tag %s: no images row %s %s", c.tag, c.repo, c.tagCol)
		}
	}
	ins := s.inspect(t, "busybox:x")
	for _, want := range []string{"busybox:1.36", "busybox:x", "someone/tool:latest", "ghcr.io/org/app:2", busybox.ref} {
		if !slices.Contains(ins.RepoTags, want) {
			t.Errorf("RepoTags %q lack %q", ins.RepoTags, want)
		}
	}
	// Tagging again to an existing name moves it, never duplicates it.
	s.mustHako(t, "tag", busybox.ref, "busybox:1.36")
	if n := s.refEntries(t, "docker.io/library/busybox:1.36"); n != 1 {
		t.Errorf("re-tag: %d entries for busybox:1.36, want 1", n)
	}
}
