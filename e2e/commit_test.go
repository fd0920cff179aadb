package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// manifestLayers reads the layer digests of the stored image named ref.
func (s *store) manifestLayers(t *testing.T, ref string) []string {
	t.Helper()
	for _, m := range s.index(t).Manifests {
		if m.Annotations["org.opencontainers.image.ref.name"] != ref {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.root, "images", "blobs", "sha256", strings.TrimPrefix(m.Digest, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		var man struct {
			Layers []struct{ Digest string }
		}
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range man.Layers {
			out = append(out, l.Digest)
		}
		return out
	}
	t.Fatalf("no image %s in the store", ref)
	return nil
}

// l1Top lists the entries of the top layer blob of the stored image ref.
func l1Top(t *testing.T, s *store, ref string) []string {
	t.Helper()
	layers := s.manifestLayers(t, ref)
	f, err := os.Open(filepath.Join(s.root, "images", "blobs", "sha256", strings.TrimPrefix(layers[len(layers)-1], "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
}

// TestCommit: a stopped container's additions, changed metadata, hardlink,
// deletion and opaque directory become a layer of a new image whose CMD
// -c set; the new image runs with all of them; committing the same
// container again gives the same layer digest.
func TestCommit(t *testing.T) {
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	s.mustRun(t, "--name", "maker", "-e", "MADE=yes", busybox.ref, "sh", "-c",
		"echo hi > /x && chown 1000:1001 /x && chmod 4750 /x && ln /x /x2 && "+
			"mkdir -p /new/dir && echo f > /new/dir/f && rm /bin/ls && "+
			"rm -rf /usr/sbin && mkdir /usr/sbin && echo only > /usr/sbin/only")

	out, errOut, code := s.hako(t, "commit", "-m", "made by hand", "-a", "Maker <m@example.com>",
		"-c", `CMD ["cat","/x"]`, "-c", "ENV GREETING=hello OTHER=\"a b\"", "-c", "WORKDIR /new", "-c", "EXPOSE 8080",
		"maker", "mine:1")
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("commit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	ins := s.inspect(t, "mine:1")
	if ins.Id != id {
		t.Errorf("inspect mine:1 ID %s, commit printed %s", ins.Id, id)
	}
	if got := strings.Join(ins.Config.Cmd, " "); got != "cat /x" {
		t.Errorf("Cmd %q, want cat /x", got)
	}
	if !strings.Contains(strings.Join(ins.Config.Env, "\n"), "OTHER=a b") || ins.Config.WorkingDir != "/new" {
		t.Errorf("Env %q WorkingDir %q", ins.Config.Env, ins.Config.WorkingDir)
	}
	if _, ok := ins.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts %v lack 8080/tcp", ins.Config.ExposedPorts)
	}
	if len(ins.RootFS.Layers) != len(busybox.diffIDs)+1 {
		t.Errorf("layers %v, want busybox's plus one", ins.RootFS.Layers)
	}

	if out := s.mustRun(t, "--rm", "mine:1"); out != "hi\n" {
		t.Errorf("the new CMD printed %q, want hi", out)
	}
	out = s.mustRun(t, "--rm", "mine:1", "sh", "-c",
		`ls /usr/sbin; test -e /bin/ls && echo ls-present || echo ls-gone; stat -c "%u %g %a %h" /x /x2; cat /new/dir/f; pwd; echo $GREETING`)
	want := "only\nls-gone\n1000 1001 4750 2\n1000 1001 4750 2\nf\n/new\nhello\n"
	if out != want {
		t.Errorf("the committed image holds:\n%s\nwant:\n%s", out, want)
	}

	// hako's bind-mount targets (/etc/hosts, …) are no changes of the container.
	top := l1Top(t, s, "docker.io/library/mine:1")
	for _, n := range top {
		if strings.HasPrefix(n, "etc") {
			t.Errorf("the committed layer holds %s, a mount target hako made", n)
		}
	}
	if !slices.Contains(top, "x") || !slices.Contains(top, "usr/sbin/.wh..wh..opq") || !slices.Contains(top, "bin/.wh.ls") {
		t.Errorf("the committed layer's entries %q lack x, the opaque marker or the whiteout", top)
	}

	// The same upper directory gives the same layer, whatever the time.
	time.Sleep(1100 * time.Millisecond)
	s.mustHako(t, "commit", "maker", "mine:2")
	// Without -c the image takes the container's command and environment,
	// as Docker's commit does, without what hako adds to every process.
	ins2 := s.inspect(t, "mine:2")
	if len(ins2.Config.Cmd) != 3 || ins2.Config.Cmd[0] != "sh" || !strings.HasPrefix(ins2.Config.Cmd[2], "echo hi > /x") {
		t.Errorf("mine:2 Cmd %q, want the container's sh -c …", ins2.Config.Cmd)
	}
	env := strings.Join(ins2.Config.Env, "\n")
	if !strings.Contains(env, "MADE=yes") || strings.Contains(env, "HOSTNAME=") || strings.Contains(env, "HOME=") {
		t.Errorf("mine:2 Env %q, want MADE=yes and no HOSTNAME or HOME", ins2.Config.Env)
	}
	l1, l2 := s.manifestLayers(t, "docker.io/library/mine:1"), s.manifestLayers(t, "docker.io/library/mine:2")
	if l1[len(l1)-1] != l2[len(l2)-1] {
		t.Errorf("two commits of one container: layers %s and %s differ", l1[len(l1)-1], l2[len(l2)-1])
	}
	// An untagged commit is listed as Docker's <none>.
	out = s.mustHako(t, "commit", "maker")
	if !strings.HasPrefix(out, "sha256:") {
		t.Errorf("untagged commit printed %q", out)
	}
	if rows := findRows(s.images(t), "<none>", "<none>"); len(rows) != 1 {
		t.Errorf("images after an untagged commit: %+v, want one <none> row", s.images(t))
	}

	_, errOut, code = s.hako(t, "commit", "nope")
	wantOneError(t, "commit of an unknown container", errOut, code)
	if !strings.Contains(errOut, "No such container: nope") {
		t.Errorf("unknown container: %q", errOut)
	}
	_, errOut, code = s.hako(t, "commit", "-c", "FROM scratch", "maker")
	wantOneError(t, "commit with an unsupported change", errOut, code)
}

// TestCommitForeground: a container running in the foreground (hako run
// -i, its monitor) is committed while it runs, and goes on reading its
// input after; a second commit once it stopped sees what it did then.
func TestCommitForeground(t *testing.T) {
	s := newStore(t)
	s.mustHako(t, "pull", busybox.ref)
	cmd := s.cmd("run", "-i", "--network", "none", "--name", "busy", busybox.ref, "sh", "-c", "touch /started; read x; echo $x > /got")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(s.root, "containers", "*", "upper", "started"))
		if len(m) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.mustHako(t, "commit", "busy", "busy:1")
	if out := s.mustRun(t, "--rm", "busy:1", "sh", "-c", "ls /started; test -e /got || echo no-got"); out != "/started\nno-got\n" {
		t.Errorf("committed while running: %q", out)
	}
	io.WriteString(in, "late\n")
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the run after its commit: %v", err)
	}
	s.mustHako(t, "commit", "busy", "busy:2")
	if out := s.mustRun(t, "--rm", "busy:2", "cat", "/got"); out != "late\n" {
		t.Errorf("committed after the stop: %q", out)
	}
}
