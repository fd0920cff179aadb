package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitCpArg(t *testing.T) {
	for arg, want := range map[string]string{
		"ctr:/etc":   "ctr|/etc",
		"ctr:":       "ctr|",
		"/abs:x":     "|/abs:x",
		"./a:b":      "|./a:b",
		"plain":      "|plain",
		"-":          "|-",
		"ctr:rel/p/": "ctr|rel/p/",
	} {
		c, p := splitCpArg(arg)
		if got := c + "|" + p; got != want {
			t.Errorf("splitCpArg(%q) = %q, want %q", arg, got, want)
		}
	}
}

// TestCpTarget: Docker's rules for where a copy lands, on a host tree.
func TestCpTarget(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "srcdir/sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "srcfile"), nil, 0o644)
	os.MkdirAll(filepath.Join(dir, "dstdir"), 0o755)
	os.WriteFile(filepath.Join(dir, "dstfile"), nil, 0o644)
	for _, c := range []struct {
		src, dst string
		want     string // into|name, or an error's words
	}{
		{"srcfile", "dstdir", "dstdir|srcfile"},
		{"srcfile", "dstdir/", "dstdir|srcfile"},
		{"srcfile", "dstfile", ".|dstfile"},
		{"srcfile", "new", ".|new"},
		{"srcfile", "new/", "no such directory"},
		{"srcfile", "dstfile/", "not a directory"},
		{"srcfile", "nodir/new", "no such file"},
		{"srcdir", "dstdir", "dstdir|srcdir"},
		{"srcdir/.", "dstdir", "dstdir|"},
		{"srcdir", "new", ".|new"},
		{"srcdir/.", "new", ".|new"},
		{"srcdir", "new/", ".|new"},
		{"srcdir", "dstfile", "cannot copy a directory"},
		{"srcfile/", "dstdir", "not a directory"},
		{"srcfile/.", "dstdir", "not a directory"},
	} {
		got := func() string {
			sp := parseCpPath(withEnding(filepath.Join(dir, c.src), c.src), false)
			s, err := openSource(hostOpener, sp, false)
			if err != nil {
				return err.Error()
			}
			defer s.dir.Close()
			dst := withEnding(filepath.Join(dir, c.dst), c.dst)
			into, name, err := cpTarget(hostOpener, s, sp, parseCpPath(dst, false))
			if err != nil {
				return err.Error()
			}
			defer into.Close()
			p, _ := os.Readlink(fdPath(into))
			rel, _ := filepath.Rel(dir, p)
			return rel + "|" + name
		}()
		if !strings.Contains(got, c.want) {
			t.Errorf("cp %s %s: %q, want %q", c.src, c.dst, got, c.want)
		}
	}
}

// withEnding gives p the "/" or "/." that given ends with (Join drops it).
func withEnding(p, given string) string {
	switch {
	case strings.HasSuffix(given, "/."):
		return p + "/."
	case strings.HasSuffix(given, "/"):
		return p + "/"
	}
	return p
}
