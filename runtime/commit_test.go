package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommitFroze: a commit-frozen marker counts as a killed commit's only
// while no commit holds commit.lock, and is taken over (removed) then.
func TestCommitFroze(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, commitFrozenFile)
	if commitFroze(dir) {
		t.Errorf("no marker: frozen by a commit")
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	unlock, ok, err := tryLock(filepath.Join(dir, commitLockFile))
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if commitFroze(dir) {
		t.Errorf("a live commit's marker taken over")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("a live commit's marker removed: %v", err)
	}
	unlock()
	if !commitFroze(dir) {
		t.Errorf("a killed commit's marker not seen")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the marker outlived its takeover")
	}
}
