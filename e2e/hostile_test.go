package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-run/hako/internal/testimage"
)

// TestPullHostileLayer: a layer that tries to write outside its directory
// (../ paths, an absolute path, writing through a symlink to an outside
// directory, a hard link to an outside file) never touches anything outside
// the layer. hako may refuse the image (one Error line, nothing stored) or
// contain the entries; both are fine, an escape is not.
func TestPullHostileLayer(t *testing.T) {
	var rnd [6]byte
	rand.Read(rnd[:])
	tag := "hako-e2e-escape-" + hex.EncodeToString(rnd[:])
	victim := t.TempDir()
	secret := filepath.Join(victim, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}

	// One image per attack, so an early refusal does not hide a later escape.
	attacks := map[string]map[string]testimage.File{
		"absolute": {"/" + tag + "-abs": {Mode: 0o644, Content: []byte("x")}},
		"symlink": {
			"evil":       {Mode: os.ModeSymlink | 0o777, Linkname: victim},
			"evil/pwned": {Mode: 0o644, Content: []byte("x")},
		},
		"relative-symlink": {
			"evil":       {Mode: os.ModeSymlink | 0o777, Linkname: strings.Repeat("../", 12) + strings.TrimPrefix(victim, "/")},
			"evil/pwned": {Mode: 0o644, Content: []byte("x")},
		},
		"hardlink": {"hl": {Mode: 0o644, Linkname: secret}},
		"dotdot":   {},
	}
	for depth := 1; depth <= 6; depth++ {
		attacks["dotdot"][strings.Repeat("../", depth)+tag+"-"+strconv.Itoa(depth)] = testimage.File{Mode: 0o644, Content: []byte("x")}
	}
	for attack, files := range attacks {
		t.Run(attack, func(t *testing.T) {
			img, err := testimage.WithLayer(busybox.img, files)
			if err != nil {
				t.Fatal(err)
			}
			p := push(t, registry+"/hostile-"+attack+":latest", img)
			s := newStore(t)
			_, errOut, code := s.hako(t, "pull", p.ref)
			switch code {
			case 0:
				checkBusyboxExtracted(t, s)
			case 1:
				wantOneError(t, "pull of a hostile image", errOut, code)
				if n := s.refEntries(t, p.ref); n != 0 {
					t.Errorf("refused image is in index.json %d times", n)
				}
			default:
				t.Errorf("pull of a hostile image: exit %d, stderr %q", code, errOut)
			}
			checkNoEscape(t, s, tag, victim, secret)
		})
	}
}

// checkNoEscape: nothing named tag* appeared in any ancestor of the store or
// at /, nothing was written into victim, and no file in the store is a hard
// link to secret.
func checkNoEscape(t *testing.T, s *store, tag, victim, secret string) {
	t.Helper()
	for dir := s.root; ; dir = filepath.Dir(dir) {
		escapes, _ := filepath.Glob(filepath.Join(dir, tag+"*"))
		for _, e := range escapes {
			t.Errorf("layer entry escaped to %s", e)
			os.Remove(e) // created by this test's image: clean it up
		}
		if dir == "/" {
			break
		}
	}
	if _, err := os.Lstat(filepath.Join(victim, "pwned")); err == nil {
		t.Error("a write through the symlink evil/ landed in the outside directory")
		os.Remove(filepath.Join(victim, "pwned"))
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "secret" {
		t.Errorf("outside file changed: %q %v", b, err)
	}
	st, err := os.Stat(secret)
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil && os.SameFile(fi, st) {
			t.Errorf("%s is a hard link to the outside file %s", p, secret)
		}
		return nil
	})
}
