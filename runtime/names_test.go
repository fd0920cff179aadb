package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestRandomName(t *testing.T) {
	first := regexp.MustCompile(`^[a-z]+_[a-z]+$`)
	retry := regexp.MustCompile(`^[a-z]+_[a-z]+[0-9]$`)
	for i := 0; i < 1000; i++ {
		if n := randomName(0); !first.MatchString(n) || !ValidName(n) || n == "boring_wozniak" {
			t.Fatalf("first try %q", n)
		}
		if n := randomName(1); !retry.MatchString(n) || !ValidName(n) {
			t.Fatalf("retry %q, want a digit appended", n)
		}
	}
}

// TestGenerateNameUnique gives 300 containers generated names, each taken
// before the next is picked, and checks none is used twice.
func TestGenerateNameUnique(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "containers")
	taken := map[string]bool{}
	if n, err := containerNames(dir); err != nil || len(n) != 0 {
		t.Fatalf("listing a missing directory: %q, %v; want no names", n, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		names, err := containerNames(dir)
		if err != nil {
			t.Fatal(err)
		}
		n, err := generateName(names)
		if err != nil {
			t.Fatal(err)
		}
		if taken[n] {
			t.Fatalf("name %q generated twice", n)
		}
		taken[n] = true
		id := fmt.Sprintf("%064x", i)
		if err := os.Mkdir(filepath.Join(dir, id), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(filepath.Join(dir, id, recordFile), Record{ID: id, Name: n}); err != nil {
			t.Fatal(err)
		}
	}
}
