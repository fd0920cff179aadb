package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCp: hako cp both ways, files and directories, tar streams with "-",
// Docker's rules for the destination, -a, in a running and in a stopped
// container; hostile symlinks in the container never let it read or write
// outside the container's rootfs.
func TestCp(t *testing.T) {
	s := runStore(t)
	host := t.TempDir()
	secret := filepath.Join(host, "secret")
	write(t, secret, "host secret\n")
	vol := filepath.Join(host, "vol")
	os.Mkdir(vol, 0o755)
	out, errOut, code := s.hako(t, "run", "-d", "--network", "none", "--name", "cp1", "-v", vol+":/vol", "-v", vol+":/ro:ro", busybox.ref, "sleep", "300")
	if code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { s.hako(t, "rm", "-f", strings.TrimSpace(out)) })
	exec := func(script string) string {
		t.Helper()
		return s.mustHako(t, "exec", "cp1", "sh", "-c", script)
	}
	// Hostile links: /evil is the container's /; /etc/leak names the host's secret.
	exec("ln -s / /evil; ln -s " + secret + " /etc/leak; echo in-ctr > /etc/f; mkdir -p /d/sub; echo f2 > /d/sub/f2")

	// Out: a file into a directory, a directory to a new name, a file onto a file.
	outDir := filepath.Join(host, "out")
	os.Mkdir(outDir, 0o755)
	s.mustHako(t, "cp", "cp1:/etc/f", outDir+"/")
	checkFile(t, filepath.Join(outDir, "f"), "in-ctr\n")
	s.mustHako(t, "cp", "cp1:/d", filepath.Join(outDir, "newd"))
	checkFile(t, filepath.Join(outDir, "newd/sub/f2"), "f2\n")
	s.mustHako(t, "cp", "cp1:/d/.", outDir)
	checkFile(t, filepath.Join(outDir, "sub/f2"), "f2\n")
	write(t, filepath.Join(outDir, "over"), "old old old\n")
	s.mustHako(t, "cp", "cp1:/etc/f", filepath.Join(outDir, "over"))
	checkFile(t, filepath.Join(outDir, "over"), "in-ctr\n")
	// Out as a tar stream.
	tarOut := s.mustHako(t, "cp", "cp1:/d", "-")
	if got := tarNames(t, tarOut); got != "d/ d/sub/ d/sub/f2" {
		t.Errorf("cp cp1:/d - gave entries %q", got)
	}

	// In: a directory, a file onto a file, -a, a tar on stdin.
	src := filepath.Join(host, "src")
	write(t, filepath.Join(src, "a/f1"), "one\n")
	os.Chown(filepath.Join(src, "a/f1"), 1234, 5678)
	s.mustHako(t, "cp", src, "cp1:/tmp")
	if got := exec("cat /tmp/src/a/f1; stat -c %u:%g /tmp/src/a/f1"); got != "one\n0:0\n" {
		t.Errorf("cp dir in: %q", got)
	}
	s.mustHako(t, "cp", "-a", src+"/.", "cp1:/tmp/kept")
	if got := exec("cat /tmp/kept/a/f1; stat -c %u:%g /tmp/kept/a/f1"); got != "one\n1234:5678\n" {
		t.Errorf("cp -a dir/. in: %q", got)
	}
	s.mustHako(t, "cp", filepath.Join(src, "a/f1"), "cp1:/etc/f")
	if got := exec("cat /etc/f"); got != "one\n" {
		t.Errorf("cp file onto file: %q", got)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "streamed", Mode: 0o644, Size: 3, Uid: 7, Gid: 8})
	tw.Write([]byte("st\n"))
	tw.Close()
	if _, errOut, code := s.hakoIn(t, bytes.NewReader(buf.Bytes()), "cp", "-", "cp1:/tmp"); code != 0 {
		t.Fatalf("cp - cp1:/tmp: exit %d: %s", code, errOut)
	}
	if got := exec("cat /tmp/streamed; stat -c %u:%g /tmp/streamed"); got != "st\n7:8\n" {
		t.Errorf("cp - in: %q", got)
	}

	// Volumes and bind mounts: reached through their host directories,
	// which are their roots.
	exec("echo from-ctr > /vol/made; ln -s / /vol/up")
	s.mustHako(t, "cp", "cp1:/vol/made", filepath.Join(host, "made"))
	checkFile(t, filepath.Join(host, "made"), "from-ctr\n")
	s.mustHako(t, "cp", secret, "cp1:/vol/sub")
	checkFile(t, filepath.Join(vol, "sub"), "host secret\n")
	if got := exec("cat /vol/sub"); got != "host secret\n" {
		t.Errorf("cp into a volume: %q", got)
	}
	if _, _, code := s.hako(t, "cp", "cp1:/vol/up"+secret, filepath.Join(host, "stolen")); code != 1 {
		t.Errorf("a link in a volume led cp out of it: exit %d", code)
	}
	s.mustHako(t, "cp", "cp1:/vol", filepath.Join(host, "volcopy"))
	checkFile(t, filepath.Join(host, "volcopy/made"), "from-ctr\n")

	// hako's own bind-mounted files read as the container sees them;
	// other filesystems of the container are refused, not read empty.
	hosts := exec("cat /etc/hosts")
	if got := tarBody(t, s.mustHako(t, "cp", "cp1:/etc/hosts", "-")); got != "hosts:"+hosts || !strings.Contains(hosts, "localhost") {
		t.Errorf("cp cp1:/etc/hosts -: %q, want hosts:%q", got, hosts)
	}
	if _, errOut, code := s.hako(t, "cp", secret, "cp1:/etc/hosts"); code != 1 || !strings.Contains(errOut, "bind-mounted from the host") {
		t.Errorf("cp onto /etc/hosts: exit %d, %q", code, errOut)
	}
	if _, errOut, code := s.hako(t, "cp", "cp1:/proc/1/status", host); code != 1 || !strings.Contains(errOut, "on the proc filesystem mounted at /proc") {
		t.Errorf("cp from /proc: exit %d, %q", code, errOut)
	}

	// Hostile links: reads and writes stay inside the rootfs.
	for _, c := range [][]string{
		{"cp", "cp1:/evil" + secret, filepath.Join(host, "stolen")},
		{"cp", "-L", "cp1:/etc/leak", filepath.Join(host, "stolen")},
		{"cp", "cp1:/evil/" + secret + "/", filepath.Join(host, "stolen")},
	} {
		if _, errOut, code := s.hako(t, c...); code != 1 || !strings.Contains(errOut, "Could not find the file") {
			t.Errorf("%v: exit %d, %q; want 1, not found", c, code, errOut)
		}
	}
	if _, err := os.Lstat(filepath.Join(host, "stolen")); err == nil {
		t.Errorf("a hostile link let cp read the host's %s", secret)
	}
	s.mustHako(t, "cp", "cp1:/etc/leak", filepath.Join(host, "link"))
	if target, err := os.Readlink(filepath.Join(host, "link")); err != nil || target != secret {
		t.Errorf("cp of a symlink without -L: %q, %v; want the link itself", target, err)
	}
	s.mustHako(t, "cp", filepath.Join(src, "a/f1"), "cp1:/etc/leak")
	if _, _, code := s.hako(t, "cp", filepath.Join(src, "a/f1"), "cp1:/evil"+host+"/"); code != 1 {
		t.Errorf("cp into /evil%s/ (the host's directory, not the container's): exit %d, want 1", host, code)
	}
	var evil bytes.Buffer
	tw = tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(secret, "/"), Mode: 0o644, Size: 6})
	tw.Write([]byte("owned\n"))
	tw.WriteHeader(&tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../.." + host})
	tw.WriteHeader(&tar.Header{Name: "up/planted", Mode: 0o644, Size: 6})
	tw.Write([]byte("owned\n"))
	tw.Close()
	s.hakoIn(t, bytes.NewReader(evil.Bytes()), "cp", "-", "cp1:/evil")
	checkFile(t, secret, "host secret\n")
	if _, err := os.Lstat(filepath.Join(host, "planted")); err == nil {
		t.Errorf("a hostile tar planted a file on the host")
	}
	if got := exec("cat " + secret + " /etc/leak"); got != "owned\none\n" {
		t.Errorf("writes through links should land inside the container: %q", got)
	}

	// Errors: Docker's messages and exit codes.
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"cp", "nosuch:/etc", host}, 1, "No such container"},
		{[]string{"cp", "cp1:/nosuch", host}, 1, "Could not find the file /nosuch"},
		{[]string{"cp", secret, "cp1:/nosuch/x"}, 1, "Could not find the file"},
		{[]string{"cp", src, "cp1:/etc/passwd"}, 1, "cannot copy a directory"},
		{[]string{"cp", "cp1:/etc/passwd/", host}, 1, "not a directory"},
		{[]string{"cp", secret, "cp1:/ro/x"}, 1, "mounted volume is marked read-only"},
		{[]string{"cp", host, filepath.Join(host, "x")}, 1, "must specify at least one container"},
		{[]string{"cp", "cp1:/etc"}, 125, ""},
	} {
		_, errOut, code := s.hako(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want %d, %q", c.args, code, errOut, c.code, c.msg)
		}
	}

	// A read-only rootfs takes nothing, as Docker's; its volumes still do.
	ro, errOut, code := s.hako(t, "run", "-d", "--network", "none", "--read-only", "-v", vol+":/vol", busybox.ref, "sleep", "300")
	if code != 0 {
		t.Fatalf("run -d --read-only: exit %d: %s", code, errOut)
	}
	ro = strings.TrimSpace(ro)
	t.Cleanup(func() { s.hako(t, "rm", "-f", ro) })
	if _, errOut, code := s.hako(t, "cp", secret, ro+":/tmp/x"); code != 1 || !strings.Contains(errOut, "container rootfs is marked read-only") {
		t.Errorf("cp into a read-only rootfs: exit %d, %q", code, errOut)
	}
	s.mustHako(t, "cp", secret, ro+":/vol/from-ro")
	checkFile(t, filepath.Join(vol, "from-ro"), "host secret\n")
	s.mustHako(t, "rm", "-f", ro)

	// A stopped container: its rootfs is mounted for cp alone.
	s.mustHako(t, "stop", "-t", "0", "cp1")
	s.mustHako(t, "cp", "cp1:/tmp/src/a/f1", filepath.Join(host, "fromstopped"))
	checkFile(t, filepath.Join(host, "fromstopped"), "one\n")
	s.mustHako(t, "cp", secret, "cp1:/tmp/tostopped")
	s.mustHako(t, "start", "cp1")
	if got := exec("cat /tmp/tostopped"); got != "host secret\n" {
		t.Errorf("cp into a stopped container: %q", got)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkFile(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != want {
		t.Errorf("%s: %q, %v; want %q", p, b, err, want)
	}
}

func tarNames(t *testing.T, s string) string {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(s))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return strings.Join(names, " ")
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		names = append(names, h.Name)
	}
}

// tarBody is "name:content" of the one file in the tar s.
func tarBody(t *testing.T, s string) string {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(s))
	h, err := tr.Next()
	if err != nil {
		t.Fatalf("reading tar: %v", err)
	}
	b, _ := io.ReadAll(tr)
	return h.Name + ":" + string(b)
}
