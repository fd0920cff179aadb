package runtime

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestTargetsLayer: the layer holds exactly the mount targets, root's
// modes, is made once (concurrent first uses agree) and leaves no temp dir.
func TestTargetsLayer(t *testing.T) {
	root := t.TempDir()
	var wg sync.WaitGroup
	got := make([]string, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], errs[i] = targetsLayer(root) }()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != filepath.Join(root, "targets", targetsVersion) {
			t.Fatalf("targetsLayer: %q, %v", got[i], errs[i])
		}
	}
	layer := got[0]
	want := map[string]os.FileMode{}
	for _, d := range targetDirs {
		want[d] = os.ModeDir | 0o755
	}
	for _, f := range targetFiles {
		want[f] = 0o644
	}
	seen := 0
	err := filepath.WalkDir(layer, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == layer {
			return err
		}
		rel, _ := filepath.Rel(layer, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if m, ok := want[rel]; !ok || fi.Mode() != m {
			t.Errorf("%s: mode %v, want %v (listed %v)", rel, fi.Mode(), m, ok)
		}
		if !fi.IsDir() && fi.Size() != 0 {
			t.Errorf("%s is not empty", rel)
		}
		seen++
		return nil
	})
	if err != nil || seen != len(want) {
		t.Errorf("walked %d entries (%v), want %d", seen, err, len(want))
	}
	ents, _ := os.ReadDir(filepath.Join(root, "targets"))
	if len(ents) != 1 {
		t.Errorf("targets/ holds %d entries, want only %s", len(ents), targetsVersion)
	}
	// overlayLowers: the image's layers top first, then the targets.
	lowers, err := overlayLowers(filepath.Join(root, "containers", "id"), []string{"/l/bottom", "/l/top"})
	if err != nil || len(lowers) != 3 || lowers[0] != "/l/top" || lowers[1] != "/l/bottom" || lowers[2] != layer {
		t.Errorf("overlayLowers = %q, %v", lowers, err)
	}
}
