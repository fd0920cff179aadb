package rootfs

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExtractCopyHostile: every hostile layer, extracted as hako cp
// extracts, leaves everything outside its directory alone.
func TestExtractCopyHostile(t *testing.T) {
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			layer, sentinel := hostileSetup(t, parent)
			before := snapshot(t, sentinel)
			err := ExtractCopy(layer, bytes.NewReader(tc.layer(t, sentinel)))
			t.Logf("result: %v", err)
			if tc.refuse && err == nil {
				t.Errorf("want the archive refused")
			}
			checkOutsideUntouched(t, parent, sentinel, before)
		})
	}
}

// TestExtractCopyRefuses: what a layer may do and cp must not.
func TestExtractCopyRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		tar  []byte
		want string
	}{
		{"whiteout name", tarOf(t, fileE(".wh.d", "", 0o644)), "overlay whiteouts"},
		{"file over a directory", tarOf(t, fileE("d", "x", 0o644)), "cannot overwrite directory \"/d\" with non-directory"},
		{"directory over a file", tarOf(t, dirE("f/", 0o755)), "cannot overwrite non-directory \"/f\" with directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "d"), 0o755)
			os.WriteFile(filepath.Join(dir, "d/keep"), []byte("k"), 0o644)
			os.WriteFile(filepath.Join(dir, "f"), []byte("f"), 0o644)
			err := ExtractCopy(dir, bytes.NewReader(c.tar))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "d/keep")); err != nil || string(b) != "k" {
				t.Errorf("d/keep: %q, %v", b, err)
			}
			if st, err := os.Lstat(filepath.Join(dir, "f")); err != nil || !st.Mode().IsRegular() {
				t.Errorf("f: %v, %v", st, err)
			}
		})
	}
}

// TestWriteCopy: a tree as cp writes it: symlinks as links (never
// followed, not even one to a directory outside), hardlinks once, owners
// kept only when asked, names under the given one.
func TestWriteCopy(t *testing.T) {
	parent := t.TempDir()
	src := filepath.Join(parent, "src")
	outside := filepath.Join(parent, "outside")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
	os.WriteFile(filepath.Join(src, "sub/f"), []byte("data"), 0o640)
	os.Chown(filepath.Join(src, "sub/f"), 12, 34)
	os.Link(filepath.Join(src, "sub/f"), filepath.Join(src, "hl"))
	os.Symlink(outside, filepath.Join(src, "out"))
	d, err := os.Open(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, keep := range []bool{false, true} {
		var buf bytes.Buffer
		if err := WriteCopy(&buf, d, "src", "copy", CopyOptions{KeepOwner: keep}); err != nil {
			t.Fatal(err)
		}
		var got []string
		tr := tar.NewReader(&buf)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(tr)
			got = append(got, h.Name+"|"+string(h.Typeflag)+"|"+h.Linkname+"|"+string(body)+"|"+strings.Repeat("o", h.Uid/12))
		}
		want := "copy/|5|||,copy/hl|0||data|,copy/out|2|" + outside + "||,copy/sub/|5|||,copy/sub/f|1|copy/hl||"
		if keep {
			want = "copy/|5|||,copy/hl|0||data|o,copy/out|2|" + outside + "||,copy/sub/|5|||,copy/sub/f|1|copy/hl||o"
		}
		if strings.Join(got, ",") != want {
			t.Errorf("keep owner %v:\n got %s\nwant %s", keep, strings.Join(got, ","), want)
		}
	}
}
