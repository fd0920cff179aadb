package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
)

// writeContext writes files (name → content) into a new context dir.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tarOf is a tar archive holding files.
func tarOf(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	return buf.String()
}

// buildID builds dir quietly and returns the image ID and the step output
// of a second, verbose build is not needed: -q prints the ID alone.
func (s *store) build(t *testing.T, args ...string) (id, out string) {
	t.Helper()
	out = s.mustHako(t, append([]string{"build"}, args...)...)
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "Successfully built "); ok {
			return rest, out
		}
	}
	t.Fatalf("no 'Successfully built' line in:\n%s", out)
	return "", ""
}

// TestBuildMultiStage builds a two-stage Dockerfile with every instruction
// hako build supports (and a stage the target does not need, which would
// fail), runs the image and checks its output, files and config; a rebuild
// takes every step from the cache and gives the same image ID.
func TestBuildMultiStage(t *testing.T) {
	s := newStore(t)
	dockerfile := `ARG BASE=` + busybox.ref + `
FROM ${BASE} AS builder
ARG GREETING=hi
ARG TARGETARCH
WORKDIR /src
COPY hello.txt dir/ ./
RUN echo "$GREETING from $TARGETARCH" > made.txt && cat hello.txt >> made.txt && cat a b >> made.txt
RUN ["/bin/sh", "-c", "echo exec-form > /src/exec.txt"]

FROM scratch AS unused
COPY does-not-exist /nope

FROM $BASE
ENV APP=/app MODE=prod
LABEL org.example.k="v 1"
WORKDIR $APP
COPY --from=builder /src/made.txt /src/exec.txt ./
COPY --chown=1000:1001 --chmod=640 hello.txt owned.txt
COPY --from=builder --chown=nobody /src/a copied-a
ADD app.tar /app/unpacked/
COPY . /ctx/
SHELL ["/bin/sh", "-c"]
RUN echo "mode $MODE" > mode.txt
USER 1000
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo child
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat made.txt exec.txt mode.txt unpacked/x.txt; ls -n owned.txt copied-a; ls -a /ctx"]
`
	dir := writeContext(t, map[string]string{
		"Dockerfile":    dockerfile,
		"hello.txt":     "hello\n",
		"dir/a":         "A\n",
		"dir/b":         "B\n",
		"app.tar":       tarOf(t, map[string]string{"x.txt": "from the tar\n"}),
		"debug.log":     "ignored\n",
		"keep.log":      "kept\n",
		".dockerignore": "*.log\n!keep.log\n",
	})
	id, out := s.build(t, "-t", "built:1", "--build-arg", "GREETING=hello", "--label", "by=test", dir)
	if strings.Contains(out, "does-not-exist") {
		t.Errorf("the unused stage was built:\n%s", out)
	}
	// The steps' images are listed with -a only.
	if imgs := s.mustHako(t, "images"); strings.Contains(imgs, "<none>") {
		t.Errorf("images lists the build's intermediate images:\n%s", imgs)
	}
	if imgs := s.mustHako(t, "images", "-a"); !strings.Contains(imgs, "<none>") {
		t.Errorf("images -a does not list the build's intermediate images:\n%s", imgs)
	}
	run := s.mustHako(t, "run", "--rm", "built:1")
	for _, want := range []string{
		"hello from " + goruntime.GOARCH + "\nhello\nA\nB\nexec-form\nmode prod\nfrom the tar\n",
		"-rw-r-----    1 1000     1001",  // owned.txt
		"-rw-r--r--    1 65534    65534", // copied-a
		"keep.log",
	} {
		if !strings.Contains(run, want) {
			t.Errorf("run output lacks %q:\n%s", want, run)
		}
	}
	if strings.Contains(run, "debug.log") || strings.Contains(run, "does-not-exist") {
		t.Errorf(".dockerignore not respected:\n%s", run)
	}

	raw := s.mustHako(t, "image", "inspect", "built:1")
	var arr []struct {
		Id     string
		Config struct {
			Env          []string
			Cmd          []string
			Entrypoint   []string
			WorkingDir   string
			User         string
			ExposedPorts map[string]struct{}
			Labels       map[string]string
			Volumes      map[string]struct{}
			StopSignal   string
			Shell        []string
			OnBuild      []string
			Healthcheck  *struct {
				Test     []string
				Interval int64
			}
		}
	}
	if err := json.Unmarshal([]byte(raw), &arr); err != nil || len(arr) != 1 {
		t.Fatalf("inspect: %v\n%s", err, raw)
	}
	c := arr[0].Config
	if !slices.Contains(c.Env, "APP=/app") || !slices.Contains(c.Env, "MODE=prod") || c.WorkingDir != "/app" || c.User != "1000" {
		t.Errorf("env/workdir/user: %+v", c)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 2 {
		t.Errorf("exposed ports: %v", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok || c.StopSignal != "SIGTERM" || len(c.Shell) != 2 {
		t.Errorf("volumes/stopsignal/shell: %+v", c)
	}
	if c.Labels["org.example.k"] != "v 1" || c.Labels["by"] != "test" {
		t.Errorf("labels: %v", c.Labels)
	}
	if len(c.OnBuild) != 1 || c.OnBuild[0] != "RUN echo child" {
		t.Errorf("onbuild: %v", c.OnBuild)
	}
	if c.Healthcheck == nil || c.Healthcheck.Interval != 5e9 || !slices.Equal(c.Healthcheck.Test, []string{"CMD-SHELL", "true"}) {
		t.Errorf("healthcheck: %+v", c.Healthcheck)
	}
	if !slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c"}) || len(c.Cmd) != 1 {
		t.Errorf("entrypoint/cmd: %v %v", c.Entrypoint, c.Cmd)
	}

	// The same context again: every step from the cache, the same image.
	id2, out2 := s.build(t, "-t", "built:2", "--build-arg", "GREETING=hello", "--label", "by=test", dir)
	if id2 != id {
		t.Errorf("cached rebuild gave %s, want %s", id2, id)
	}
	if strings.Contains(out2, "Running in") || !strings.Contains(out2, "Using cache") {
		t.Errorf("cached rebuild ran a step:\n%s", out2)
	}
	// The build containers are gone.
	if ps := s.mustHako(t, "ps", "-aq"); strings.TrimSpace(ps) != "" {
		t.Errorf("build left containers: %s", ps)
	}
	// -q prints the full ID only.
	q := strings.TrimSpace(s.mustHako(t, "build", "-q", "--build-arg", "GREETING=hello", "--label", "by=test", dir))
	if !strings.HasPrefix(q, "sha256:"+id) {
		t.Errorf("build -q printed %q, want sha256:%s…", q, id)
	}
}

// TestBuildCacheInvalidation: a changed file invalidates exactly the steps
// from its COPY on; --no-cache runs every step.
func TestBuildCacheInvalidation(t *testing.T) {
	s := newStore(t)
	files := map[string]string{
		"Dockerfile": "FROM " + busybox.ref + "\nENV A=1\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\nCOPY c.txt /c.txt\nCMD [\"cat\", \"/b.txt\", \"/c.txt\"]\n",
		"a.txt":      "a1\n",
		"c.txt":      "c1\n",
	}
	dir := writeContext(t, files)
	s.build(t, "-t", "inv", dir)
	cached := func(out string) int { return strings.Count(out, "Using cache") }

	os.WriteFile(filepath.Join(dir, "c.txt"), []byte("c2\n"), 0o644)
	_, out := s.build(t, "-t", "inv", dir)
	if n := cached(out); n != 3 { // ENV, COPY a, RUN
		t.Errorf("after changing c.txt: %d steps from the cache, want 3:\n%s", n, out)
	}
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a2\n"), 0o644)
	_, out = s.build(t, "-t", "inv", dir)
	if n := cached(out); n != 1 || strings.Count(out, "Running in") != 1 { // ENV only; the RUN ran again
		t.Errorf("after changing a.txt: %d steps from the cache, want 1:\n%s", n, out)
	}
	if got := s.mustHako(t, "run", "--rm", "inv"); got != "a2\nc2\n" {
		t.Errorf("run: %q", got)
	}
	_, out = s.build(t, "--no-cache", "-t", "inv", dir)
	if cached(out) != 0 || !strings.Contains(out, "Running in") {
		t.Errorf("--no-cache used the cache:\n%s", out)
	}
}

// TestBuildErrors: a broken Dockerfile and a failing RUN name their line
// and exit 1.
func TestBuildErrors(t *testing.T) {
	s := newStore(t)
	for _, tc := range []struct{ dockerfile, want string }{
		{"FROM " + busybox.ref + "\nRUN true\nFORM nothing\n", "Dockerfile:3: unknown instruction: FORM"},
		{"FROM " + busybox.ref + "\n\nRUN exit 3\n", "Dockerfile:3: the command '/bin/sh -c exit 3' returned a non-zero code: 3"},
		{"FROM " + busybox.ref + "\nCOPY missing.txt /\n", "Dockerfile:2: COPY: \"missing.txt\" not found in the build context"},
		{"FROM " + busybox.ref + " AS a b\n", "Dockerfile:1: FROM requires either one or three arguments"},
	} {
		dir := writeContext(t, map[string]string{"Dockerfile": tc.dockerfile})
		_, stderr, code := s.hako(t, "build", dir)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("build of %q: exit %d, stderr %q; want 1 and %q", tc.dockerfile, code, stderr, tc.want)
		}
	}
	if ps := s.mustHako(t, "ps", "-aq"); strings.TrimSpace(ps) != "" {
		t.Errorf("a failed build left containers: %s", ps)
	}
}

// TestBuildStdin: a Dockerfile on stdin builds with no context.
func TestBuildStdin(t *testing.T) {
	s := newStore(t)
	out, stderr, code := s.hakoIn(t, strings.NewReader("FROM "+busybox.ref+"\nRUN echo from-stdin > /f\nCMD [\"cat\", \"/f\"]\n"), "build", "-t", "stdin:1", "-")
	if code != 0 {
		t.Fatalf("build -: exit %d: %s\n%s", code, stderr, out)
	}
	if got := s.mustHako(t, "run", "--rm", "stdin:1"); got != "from-stdin\n" {
		t.Errorf("run: %q", got)
	}
}

// TestBuildForeignRun: a RUN for an architecture the host cannot execute
// fails with a clear error naming its line (unless binfmt_misc has a
// handler for it); the steps before it, from scratch for that platform,
// work.
func TestBuildForeignRun(t *testing.T) {
	if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-s390x"); err == nil {
		t.Skip("this host runs s390x programs (binfmt_misc qemu-s390x)")
	}
	s := newStore(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM --platform=linux/s390x scratch\nCOPY f /f\nRUN true\n",
		"f":          "x\n",
	})
	_, stderr, code := s.hako(t, "build", dir)
	if code != 1 || !strings.Contains(stderr, "Dockerfile:3: cannot RUN for linux/s390x on this linux/"+goruntime.GOARCH+" host") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	dir = writeContext(t, map[string]string{"Dockerfile": "FROM --platform=linux/s390x scratch\nCOPY f /f\n", "f": "x\n"})
	s.build(t, "-t", "s390x:1", dir)
	if img := s.inspect(t, "s390x:1"); img.Architecture != "s390x" || len(img.RootFS.Layers) != 1 {
		t.Errorf("inspect: %+v", img)
	}
}

// TestBuildOnBuild: the ONBUILD triggers of a base image run right after
// the FROM of a build that uses it, and the new image does not keep them;
// history shows the steps, metadata steps without a size.
func TestBuildOnBuild(t *testing.T) {
	s := newStore(t)
	s.build(t, "-t", "onb:1", writeContext(t, map[string]string{
		"Dockerfile": "FROM " + busybox.ref + "\nONBUILD RUN echo triggered > /t\n",
	}))
	_, out := s.build(t, "-t", "onb:2", writeContext(t, map[string]string{
		"Dockerfile": "FROM onb:1\nENV X=1\nCMD [\"cat\", \"/t\"]\n",
	}))
	if !strings.Contains(out, "Executing 1 build trigger") {
		t.Errorf("no trigger ran:\n%s", out)
	}
	if got := s.mustHako(t, "run", "--rm", "onb:2"); got != "triggered\n" {
		t.Errorf("run: %q", got)
	}
	raw := s.mustHako(t, "image", "inspect", "--format", "{{json .Config.OnBuild}}", "onb:2")
	if strings.TrimSpace(raw) != "null" && strings.TrimSpace(raw) != "[]" {
		t.Errorf("the child image keeps the triggers: %s", raw)
	}
	hist := s.mustHako(t, "history", "--no-trunc", "onb:2")
	for _, want := range []string{`CMD ["cat", "/t"]`, "ENV X=1", "RUN /bin/sh -c echo triggered > /t", "ONBUILD RUN echo triggered > /t"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
}

// TestBuildTargetUserNetwork: --target builds a middle stage only; RUN runs
// as the stage's USER, with no network but loopback by default; a context
// tar on stdin; ADD of a gzipped tar and a glob.
func TestBuildTargetUserNetwork(t *testing.T) {
	s := newStore(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(tarOf(t, map[string]string{"in/z.txt": "zipped\n"})))
	zw.Close()
	ctxTar := tarOf(t, map[string]string{
		"Dockerfile": "FROM " + busybox.ref + " AS first\nUSER 1000\nRUN id -u > /tmp/uid && cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /tmp/links\n" +
			"ADD z.tar.gz /opt/\nCOPY g?.txt /opt/globbed/\nCMD [\"cat\", \"/tmp/uid\", \"/tmp/links\", \"/opt/in/z.txt\", \"/opt/globbed/g1.txt\", \"/opt/globbed/g2.txt\"]\n" +
			"FROM first\nRUN false\n",
		"z.tar.gz": gz.String(),
		"g1.txt":   "g1\n",
		"g2.txt":   "g2\n",
		"g10.txt":  "not matched\n",
	})
	out, stderr, code := s.hakoIn(t, strings.NewReader(ctxTar), "build", "--target", "first", "-t", "first:1", "-")
	if code != 0 {
		t.Fatalf("build: exit %d: %s\n%s", code, stderr, out)
	}
	if got := s.mustHako(t, "run", "--rm", "first:1"); got != "1000\nlo\nzipped\ng1\ng2\n" {
		t.Errorf("run: %q", got)
	}
}

// TestBuildSymlinkSafety: a symlink in the context or in a stage's files
// never leads COPY out of its root: a source path through a link resolves
// inside the context (as buildkit resolves it), links inside a copied
// directory are copied as links.
func TestBuildSymlinkSafety(t *testing.T) {
	s := newStore(t)
	for _, src := range []string{"escape", "up/hostname"} {
		dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + busybox.ref + "\nCOPY " + src + " /x\n"})
		os.Symlink("/etc/hostname", filepath.Join(dir, "escape"))
		os.Symlink("../../../../../etc", filepath.Join(dir, "up"))
		_, stderr, code := s.hako(t, "build", dir)
		if code != 1 || !strings.Contains(stderr, `Dockerfile:2: COPY: "`+src+`" not found in the build context`) {
			t.Errorf("COPY %s, a symlink out of the context: exit %d, %s", src, code, stderr)
		}
	}
	dir2 := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + busybox.ref + "\nCOPY lnk /x\nCOPY d/ /d/\nCMD [\"sh\", \"-c\", \"cat /x; readlink /d/escape\"]\n",
		"real.txt":   "real\n",
		"d/f":        "f\n",
	})
	os.Symlink("real.txt", filepath.Join(dir2, "lnk"))
	os.Symlink("/etc/hostname", filepath.Join(dir2, "d", "escape"))
	s.build(t, "-t", "links:1", dir2)
	if got := s.mustHako(t, "run", "--rm", "links:1"); got != "real\n/etc/hostname\n" {
		t.Errorf("links: %q", got)
	}
	// A stage whose /etc is a link to / : COPY --from through it stays in
	// that stage's root.
	dir3 := writeContext(t, map[string]string{"Dockerfile": "FROM " + busybox.ref + " AS evil\nRUN mkdir /d && ln -s / /d/root\n" +
		"FROM " + busybox.ref + "\nCOPY --from=evil /d/root/etc/passwd /p\nCMD [\"head\", \"-1\", \"/p\"]\n"})
	s.build(t, "-t", "links:2", dir3)
	if got := s.mustHako(t, "run", "--rm", "links:2"); got != "root:x:0:0:root:/root:/bin/sh\n" {
		t.Errorf("COPY --from through a link: %q (the image's /etc/passwd wanted)", got)
	}
}

// TestBuildVFS: on a vfs root (no overlay to mount) COPY applies to a copy
// of the stage's tree and RUN's changes are its difference from the image,
// deletions included; the image runs and a rebuild is cached.
func TestBuildVFS(t *testing.T) {
	s := newStore(t)
	cleanupContainers(t, s)
	s.mustHako(t, "--storage-driver", "vfs", "pull", "-q", busybox.ref)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + busybox.ref + " AS one\nRUN echo x > /x\nFROM " + busybox.ref + "\nCOPY a.txt /data/a.txt\nRUN rm /bin/ls && echo x > /data/x\nCOPY --from=one /x /y\n",
		"a.txt":      "a\n",
	})
	id, _ := s.build(t, "-t", "vfsbuild", dir)
	if b, _ := os.ReadFile(filepath.Join(s.root, "storage-driver")); string(b) != "vfs\n" {
		t.Fatalf("ROOT/storage-driver = %q, want vfs", b)
	}
	got := s.mustHako(t, "run", "--rm", "vfsbuild", "sh", "-c", "cat /data/a.txt /data/x /y; test -e /bin/ls || echo ls-gone")
	if got != "a\nx\nx\nls-gone\n" {
		t.Errorf("run of the vfs-built image: %q", got)
	}
	again, out := s.build(t, "-t", "vfsbuild", dir)
	if again != id || strings.Count(out, "Using cache") != 4 {
		t.Errorf("rebuild: ID %s (first %s), output:\n%s", again, id, out)
	}
}
