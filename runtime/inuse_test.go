package runtime

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestImagesInUse(t *testing.T) {
	root := t.TempDir()
	if used, err := ImagesInUse(root); err != nil || len(used) != 0 {
		t.Fatalf("no containers: %v, %v", used, err)
	}
	dir := containersDir(root)
	for i, img := range []string{"sha256:aaa", "sha256:bbb", "sha256:aaa"} {
		id := fmt.Sprintf("%064x", i)
		if err := os.MkdirAll(filepath.Join(dir, id), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(filepath.Join(dir, id, recordFile), Record{ID: id, ImageID: img}); err != nil {
			t.Fatal(err)
		}
	}
	// A finished container counts: its upper dir sits on the image.
	if err := writeJSON(filepath.Join(dir, fmt.Sprintf("%064x", 1), statusFile), Status{State: "exited"}); err != nil {
		t.Fatal(err)
	}
	// Neither a create cut short nor a removal in progress counts.
	for _, d := range []string{fmt.Sprintf("%064x", 9), ".tmp-1-1-x"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeJSON(filepath.Join(dir, ".tmp-1-1-x", recordFile), Record{ImageID: "sha256:ccc"}); err != nil {
		t.Fatal(err)
	}
	used, err := ImagesInUse(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(used)); !slices.Equal(got, []string{"sha256:aaa", "sha256:bbb"}) {
		t.Errorf("in use %v, want aaa and bbb", got)
	}
}
