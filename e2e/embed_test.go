package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestEmbedExample builds examples/embed as its doc says (go build -tags
// seccomp) and runs it as an appliance would: a busybox archive loaded into
// an empty store, a command that reads a host file through the bind mount
// and writes one back, its output on stdout, its exit code as its own.
func TestEmbedExample(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "embed")
	build := exec.Command("go", "build", "-tags", "seccomp", "-o", bin, "./examples/embed")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building examples/embed: %v\n%s", err, out)
	}
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	tag, err := name.NewTag("appliance/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(archive, tag, busybox.img); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	shared := t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "in.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-root", s.root, "-runroot", s.runroot, "-archive", archive, "-bind", shared,
		"sh", "-c", "cat in.txt; pwd; echo from the container > out.txt; exit 7")
	out, errOut, code := runTool(t, cmd)
	if code != 7 || out != "from the host\n/host\n" || errOut != "" {
		t.Errorf("embed: exit %d, stdout %q, stderr %q; want 7, %q and nothing", code, out, errOut, "from the host\n/host\n")
	}
	if b, err := os.ReadFile(filepath.Join(shared, "out.txt")); err != nil || string(b) != "from the container\n" {
		t.Errorf("out.txt on the host: %q, %v", b, err)
	}
	// The container was removed (Remove), the image stays in the store.
	if left, _ := os.ReadDir(filepath.Join(s.root, "containers")); len(nonDot(left)) != 0 {
		t.Errorf("containers left: %v", left)
	}
	if rows := s.images(t); len(findRows(rows, "appliance/busybox", "1")) != 1 {
		t.Errorf("hako images after embed: %+v, want appliance/busybox:1", rows)
	}

	// A bad command is hako's 127, as with hako run.
	_, _, code = runTool(t, exec.Command(bin, "-root", s.root, "-runroot", s.runroot, "-archive", archive, "/no/such"))
	if code != 127 {
		t.Errorf("embed of a missing command: exit %d, want 127", code)
	}
}

func nonDot(entries []os.DirEntry) []string {
	var names []string
	for _, e := range entries {
		if e.Name()[0] != '.' {
			names = append(names, e.Name())
		}
	}
	return names
}
