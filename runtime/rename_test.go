package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenameRecords: Rename rewrites the record under the containers
// lock, refuses a taken or bad name, and a monitor that rewrites its record
// from memory afterwards (saveRecord) keeps the new name.
func TestRenameRecords(t *testing.T) {
	root := t.TempDir()
	idA, idB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	mk := func(id, name string) *Container {
		dir := filepath.Join(containersDir(root), id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c := &Container{Record: Record{ID: id, Name: name, Image: "busybox"}, dir: dir}
		if err := writeJSON(filepath.Join(dir, recordFile), c.Record); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := mk(idA, "first")
	mk(idB, "second")

	if err := Rename(root, "first", "renamed"); err != nil {
		t.Fatal(err)
	}
	if info, err := FindContainer(root, "renamed"); err != nil || info.ID != idA {
		t.Fatalf("FindContainer(renamed): %v, %v", info, err)
	}
	if _, err := FindContainer(root, "first"); err == nil {
		t.Error("the old name still finds the container")
	}
	// The monitor's copy still says "first": its next write keeps "renamed".
	a.Image = "busybox:changed"
	if err := a.saveRecord(); err != nil {
		t.Fatal(err)
	}
	if info, err := FindContainer(root, idA[:12]); err != nil || info.Name != "renamed" || info.Image != "busybox:changed" {
		t.Errorf("after the monitor's write: %+v, %v", info, err)
	}

	for _, c := range []struct{ ref, name, want string }{
		{"renamed", "second", `"/second" is already in use by container "` + idB + `"`},
		{"renamed", "renamed", "same name as its current name"},
		{"renamed", "bad name", "Invalid container name"},
		{"nosuch", "x1", "No such container: nosuch"},
	} {
		if err := Rename(root, c.ref, c.name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Rename(%s, %s): %v, want %q", c.ref, c.name, err, c.want)
		}
	}
}
