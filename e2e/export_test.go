package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportImport: a stopped container's filesystem exported as a tar
// (its changes over the image's layers, deletions applied), imported back
// as a one-layer image, gzipped through stdin too, and run.
func TestExportImport(t *testing.T) {
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	s.mustRun(t, "--name", "exp", busybox.ref, "sh", "-c", "echo data > /data.txt && rm /bin/ls")
	archive := filepath.Join(t.TempDir(), "fs.tar")
	s.mustHako(t, "export", "-o", archive, "exp")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
		if strings.Contains(h.Name, ".wh.") {
			t.Errorf("export holds a whiteout %s", h.Name)
		}
	}
	if !names["data.txt"] || !names["bin/busybox"] || names["bin/ls"] {
		t.Errorf("export: data.txt %v, bin/busybox %v, bin/ls %v; want the container's view", names["data.txt"], names["bin/busybox"], names["bin/ls"])
	}
	if out := s.mustHako(t, "export", "exp"); out != string(data) {
		t.Errorf("export to stdout (%d bytes) differs from export -o (%d bytes)", len(out), len(data))
	}

	out := s.mustHako(t, "import", "-c", `CMD ["cat","/data.txt"]`, archive, "imp:1")
	if !strings.HasPrefix(out, "sha256:") {
		t.Errorf("import printed %q", out)
	}
	if out := s.mustRun(t, "--rm", "imp:1"); out != "data\n" {
		t.Errorf("the imported image's CMD printed %q", out)
	}
	if out := s.mustRun(t, "--rm", "imp:1", "sh", "-c", "test -e /bin/ls && echo ls-present || echo ls-gone"); out != "ls-gone\n" {
		t.Errorf("the imported image: %q, want ls-gone (the container deleted it)", out)
	}
	ins := s.inspect(t, "imp:1")
	if len(ins.RootFS.Layers) != 1 {
		t.Errorf("imported image has layers %v, want one", ins.RootFS.Layers)
	}
	if h := s.mustHako(t, "history", "imp:1"); !strings.Contains(h, "Imported from -") {
		t.Errorf("history of the import:\n%s", h)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	out, errOut, code := s.hakoIn(t, &gz, "import", "-", "imp:gz")
	if code != 0 {
		t.Fatalf("import of a gzipped tar from stdin: %s", errOut)
	}
	if got := s.inspect(t, "imp:gz").RootFS.Layers; len(got) != 1 || got[0] != ins.RootFS.Layers[0] {
		t.Errorf("gzipped import has diff IDs %v, want %v (the same tar)", got, ins.RootFS.Layers)
	}
	_, errOut, code = s.hakoIn(t, strings.NewReader("not a tar at all, just words and more words"), "import", "-")
	wantOneError(t, "import of something that is no tar", errOut, code)
}
