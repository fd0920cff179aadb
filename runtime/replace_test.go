package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteJSONUnsyncedReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	for _, v := range []string{"first", "second, longer than the first", "third"} {
		if err := writeJSONUnsynced(path, v); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != `"`+v+`"`+"\n" {
			t.Fatalf("after writing %q: %q, %v", v, b, err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) != 1 {
			t.Fatalf("left in the directory: %v %v", ents, err)
		}
	}
	// A missing source is an error, whether or not the target exists.
	if err := replaceUnsynced(filepath.Join(dir, "nope"), path); err == nil {
		t.Error("replacing from a missing file succeeded")
	}
	if err := replaceUnsynced(filepath.Join(dir, "nope"), filepath.Join(dir, "new")); err == nil {
		t.Error("renaming a missing file succeeded")
	}
}
