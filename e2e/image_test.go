package e2e

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/hako-run/hako/internal/testimage"
)

// TestImageLifecycle: pull, images, inspect, tag, save, load into a fresh
// root, and rmi of every tag, which must give the disk space back.
func TestImageLifecycle(t *testing.T) {
	s := newStore(t)
	ref := busybox.ref
	repo := registry + "/busybox"
	id := busybox.config.String()

	// pull -q prints only the full reference.
	out := s.mustHako(t, "pull", "-q", ref)
	if strings.TrimSpace(out) != ref {
		t.Errorf("pull -q printed %q, want %q", out, ref)
	}
	checkBusyboxExtracted(t, s)

	rows := s.images(t)
	if len(rows) != 1 || len(findRows(rows, repo, "latest")) != 1 {
		t.Fatalf("images rows %+v, want one %s latest", rows, repo)
	}
	if rows[0].ID != shortID(id) {
		t.Errorf("IMAGE ID %q, want %q", rows[0].ID, shortID(id))
	}
	checkSize(t, rows[0].Size)
	if !strings.Contains(rows[0].Created, "ago") {
		t.Errorf("CREATED %q, want Docker's \"N units ago\"", rows[0].Created)
	}
	if q := strings.Fields(s.mustHako(t, "images", "-q")); !slices.Equal(q, []string{shortID(id)}) {
		t.Errorf("images -q = %q, want [%s]", q, shortID(id))
	}
	if q := strings.Fields(s.mustHako(t, "images", "-q", "--no-trunc")); !slices.Equal(q, []string{id}) {
		t.Errorf("images -q --no-trunc = %q, want [%s]", q, id)
	}
	tmpl := s.mustHako(t, "images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}")
	if strings.TrimSpace(tmpl) != repo+" latest "+shortID(id) {
		t.Errorf("images --format: %q", tmpl)
	}
	jsonOut := s.mustHako(t, "images", "--format", "json")
	var row struct{ Repository, Tag, ID, Size string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(jsonOut)), &row); err != nil || row.Repository != repo || row.Tag != "latest" {
		t.Errorf("images --format json: %q (%v)", jsonOut, err)
	}

	// Pulling again changes nothing.
	s.mustHako(t, "pull", ref)
	if n := s.refEntries(t, ref); n != 1 {
		t.Errorf("index.json has %d entries for %s after a second pull, want 1", n, ref)
	}

	ins := s.inspect(t, ref)
	checkInspect(t, ins, busybox)
	if !slices.Contains(ins.RepoTags, ref) {
		t.Errorf("RepoTags %q lack %s", ins.RepoTags, ref)
	}
	if rd := repo + "@" + busybox.manifest.String(); !slices.Contains(ins.RepoDigests, rd) {
		t.Errorf("RepoDigests %q lack %s", ins.RepoDigests, rd)
	}
	// Templates see Docker's field names (not checked fatally, so the rest runs).
	if out, errOut, code := s.hako(t, "inspect", "--format", "{{.Id}}", ref); code != 0 || strings.TrimSpace(out) != id {
		t.Errorf("inspect --format {{.Id}}: exit %d, %q %q, want %s", code, out, errOut, id)
	}
	if out, errOut, code := s.hako(t, "inspect", "--type", "image", "--format", "{{.Architecture}} {{.RootFS.Type}}", ref); code != 0 || strings.TrimSpace(out) != runtime.GOARCH+" layers" {
		t.Errorf("inspect --type image --format: exit %d, %q %q", code, out, errOut)
	}

	// Two more names for the same image.
	ref2 := repo + ":v2"
	s.mustHako(t, "tag", ref, ref2)
	s.mustHako(t, "tag", ref, "mybox:1")
	rows = s.images(t)
	for _, want := range [][2]string{{repo, "latest"}, {repo, "v2"}, {"mybox", "1"}} {
		r := findRows(rows, want[0], want[1])
		if len(r) != 1 || r[0].ID != shortID(id) {
			t.Errorf("images: rows for %s:%s = %+v, want one with ID %s", want[0], want[1], r, shortID(id))
		}
	}
	if len(rows) != 3 {
		t.Errorf("images: %d rows, want 3: %+v", len(rows), rows)
	}
	if r := s.images(t, "mybox"); len(r) != 1 || r[0].Repository != "mybox" {
		t.Errorf("images mybox = %+v, want only mybox", r)
	}
	if ins := s.inspect(t, "mybox:1"); ins.Id != id || !slices.Contains(ins.RepoTags, "mybox:1") {
		t.Errorf("inspect mybox:1: Id %s RepoTags %q", ins.Id, ins.RepoTags)
	}

	// save writes a docker-archive that keeps the registry's digests.
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	s.mustHako(t, "save", "-o", archive, ref, "mybox:1")
	checkArchive(t, archive, busybox, []string{ref, "mybox:1"})

	// load it into a fresh root.
	s2 := newStore(t)
	out = s2.mustHako(t, "load", "-i", archive)
	for _, want := range []string{"Loaded image: " + ref, "Loaded image: mybox:1"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("load output %q lacks %q", out, want)
		}
	}
	rows = s2.images(t)
	if len(rows) != 2 || len(findRows(rows, repo, "latest")) != 1 || len(findRows(rows, "mybox", "1")) != 1 {
		t.Errorf("images after load: %+v", rows)
	}
	checkInspect(t, s2.inspect(t, ref), busybox)
	checkBusyboxExtracted(t, s2)

	// rmi of one tag only untags.
	out = s.mustHako(t, "rmi", ref2)
	if strings.TrimSpace(out) != "Untagged: "+ref2 {
		t.Errorf("rmi %s printed %q, want only \"Untagged: %s\"", ref2, out, ref2)
	}
	if len(s.layerDirs(t)) == 0 || len(s.images(t)) != 2 {
		t.Fatal("rmi of one of three tags removed more than the tag")
	}

	// rmi of the remaining tags deletes the image and its blobs and layers.
	before := diskUsage(t, s.root)
	layerUsage := diskUsage(t, filepath.Join(s.root, "layers"))
	blobUsage := blobSize(t, busybox)
	out = s.mustHako(t, "rmi", ref, "mybox:1")
	for _, want := range []string{"Untagged: " + ref, "Untagged: mybox:1", "Deleted: " + id} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("rmi output %q lacks %q", out, want)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "Untagged: ") && !strings.HasPrefix(l, "Deleted: sha256:") {
			t.Errorf("rmi output line %q is neither Untagged nor Deleted", l)
		}
	}
	after := diskUsage(t, s.root)
	freed, want := before-after, (layerUsage+blobUsage)*9/10
	t.Logf("du before %d after %d (layers %d, blobs %d)", before, after, layerUsage, blobUsage)
	if freed < want {
		t.Errorf("rmi freed %d bytes, want >= %d (90%% of layers %d + blobs %d)", freed, want, layerUsage, blobUsage)
	}
	if d := s.layerDirs(t); len(d) != 0 {
		t.Errorf("layers/ still holds %q after rmi", d)
	}
	for _, h := range append(slices.Clone(busybox.layers), busybox.config, busybox.manifest) {
		if _, err := os.Stat(filepath.Join(s.root, "images", "blobs", "sha256", h.Hex)); err == nil {
			t.Errorf("blob %s still in the store after rmi", h)
		}
	}
	if q := strings.TrimSpace(s.mustHako(t, "images", "-q")); q != "" {
		t.Errorf("images -q after rmi: %q", q)
	}
	if n := len(s.index(t).Manifests); n != 0 {
		t.Errorf("index.json has %d entries after rmi, want 0", n)
	}
}

// TestInspectConfig: every config field Docker shows comes from the image.
func TestInspectConfig(t *testing.T) {
	base, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config.DeepCopy()
	cfg.Env = append(cfg.Env, "FOO=bar baz")
	cfg.Entrypoint = []string{"/bin/sh", "-c"}
	cfg.Cmd = []string{"echo hi"}
	cfg.WorkingDir = "/tmp"
	cfg.User = "hako"
	cfg.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "53/udp": {}}
	cfg.Labels = map[string]string{"org.example.name": "rich"}
	img, err := mutate.Config(base, *cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := push(t, registry+"/rich:1", img)

	s := newStore(t)
	s.mustHako(t, "pull", p.ref)
	ins := s.inspect(t, p.ref)
	checkInspect(t, ins, p)
	c := ins.Config
	if !slices.Equal(c.Env, cfg.Env) || !slices.Equal(c.Entrypoint, cfg.Entrypoint) || !slices.Equal(c.Cmd, cfg.Cmd) ||
		c.WorkingDir != "/tmp" || c.User != "hako" || len(c.ExposedPorts) != 2 || c.Labels["org.example.name"] != "rich" {
		t.Errorf("inspect Config = %+v, want %+v", c, cfg)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts %v lack 8080/tcp", c.ExposedPorts)
	}
}

// TestPullByDigest: repo@sha256:… pulls exactly that manifest.
func TestPullByDigest(t *testing.T) {
	s := newStore(t)
	ref := registry + "/busybox@" + busybox.manifest.String()
	out := s.mustHako(t, "pull", "-q", ref)
	if strings.TrimSpace(out) != ref {
		t.Errorf("pull -q printed %q, want %q", out, ref)
	}
	ins := s.inspect(t, ref)
	checkInspect(t, ins, busybox)
	if !slices.Contains(ins.RepoDigests, ref) {
		t.Errorf("RepoDigests %q lack %s", ins.RepoDigests, ref)
	}
	if len(ins.RepoTags) != 0 {
		t.Errorf("RepoTags %q, want none for a pull by digest", ins.RepoTags)
	}
	rows := s.images(t)
	if len(rows) != 1 || rows[0].Repository != registry+"/busybox" || rows[0].Tag != "<none>" || rows[0].ID != shortID(busybox.config.String()) {
		t.Errorf("images after pull by digest: %+v, want one %s/busybox <none>", rows, registry)
	}
	checkBusyboxExtracted(t, s)

	// A digest that is not there fails cleanly.
	bad := registry + "/busybox@sha256:" + strings.Repeat("0", 64)
	_, errOut, code := s.hako(t, "pull", bad)
	wantOneError(t, "pull "+bad, errOut, code)
}

// checkInspect compares inspect output with what was pushed.
func checkInspect(t *testing.T, ins inspectImage, p pushed) {
	t.Helper()
	if ins.Id != p.config.String() {
		t.Errorf("inspect Id %s, want the pushed config digest %s", ins.Id, p.config)
	}
	cf, err := p.img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if ins.Architecture != cf.Architecture || ins.Os != cf.OS || ins.Variant != cf.Variant {
		t.Errorf("inspect platform %s/%s/%s, want %s", ins.Os, ins.Architecture, ins.Variant, cf.Platform())
	}
	var diffs []string
	for _, d := range p.diffIDs {
		diffs = append(diffs, d.String())
	}
	if ins.RootFS.Type != "layers" || !slices.Equal(ins.RootFS.Layers, diffs) {
		t.Errorf("inspect RootFS %+v, want layers %q", ins.RootFS, diffs)
	}
	created, err := time.Parse(time.RFC3339Nano, ins.Created)
	if err != nil || !created.Equal(cf.Created.Time) {
		t.Errorf("inspect Created %q, want %s", ins.Created, cf.Created.Time.Format(time.RFC3339Nano))
	}
	if !slices.Equal(ins.Config.Cmd, cf.Config.Cmd) || !slices.Equal(ins.Config.Env, cf.Config.Env) {
		t.Errorf("inspect Config Cmd %q Env %q, want %q %q", ins.Config.Cmd, ins.Config.Env, cf.Config.Cmd, cf.Config.Env)
	}
	if ins.Size <= 0 {
		t.Errorf("inspect Size %d, want > 0", ins.Size)
	}
}

// checkBusyboxExtracted: exactly one layer dir holds an executable busybox
// identical in size to the host's.
func checkBusyboxExtracted(t *testing.T, s *store) {
	t.Helper()
	found := s.layerFiles(t, "bin/busybox")
	if len(found) != 1 {
		t.Fatalf("ROOT/layers/*/bin/busybox: found %q, want exactly one", found)
	}
	fi, err := os.Lstat(found[0])
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Stat(testimage.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o755 || fi.Size() != host.Size() {
		t.Errorf("%s: mode %v size %d, want an executable regular file of %d bytes", found[0], fi.Mode(), fi.Size(), host.Size())
	}
	sh, err := os.Readlink(filepath.Join(filepath.Dir(filepath.Dir(found[0])), "bin", "sh"))
	if err != nil || sh != "/bin/busybox" {
		t.Errorf("bin/sh in the layer: %q, %v; want a symlink to /bin/busybox", sh, err)
	}
	tmp, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(found[0])), "tmp"))
	if err != nil || tmp.Mode()&os.ModeSticky == 0 || tmp.Mode().Perm() != 0o777 {
		t.Errorf("tmp in the layer: %v %v, want drwxrwxrwt", tmp, err)
	}
}

// checkSize: the SIZE column is about the unpacked busybox layer.
func checkSize(t *testing.T, s string) {
	t.Helper()
	got, ok := parseSize(s)
	host, err := os.Stat(testimage.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := float64(host.Size())*0.9, float64(host.Size())*1.5
	if !ok || got < lo || got > hi {
		t.Errorf("SIZE %q, want between %.0f and %.0f bytes", s, lo, hi)
	}
}

// blobSize is the compressed size of p's layers.
func blobSize(t *testing.T, p pushed) int64 {
	t.Helper()
	layers, err := p.img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, l := range layers {
		sz, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		n += sz
	}
	return n
}

// checkArchive reads a docker-archive: manifest.json names the tags, and the
// image in it has the registry's config and layer digests.
func checkArchive(t *testing.T, path string, p pushed, tags []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("save wrote no archive: %v", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("archive is not a tar: %v", err)
		}
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatalf("manifest.json: %v", err)
			}
		}
	}
	var all []string
	for _, m := range manifest {
		all = append(all, m.RepoTags...)
	}
	for _, tag := range tags {
		if !slices.Contains(all, tag) {
			t.Errorf("archive RepoTags %q lack %q", all, tag)
		}
	}
	tag, err := name.NewTag(tags[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("reading archive image %s: %v", tags[0], err)
	}
	got, err := describe(tags[0], img)
	if err != nil {
		t.Fatalf("reading archive image: %v", err)
	}
	if got.config != p.config {
		t.Errorf("archive config %s, want %s", got.config, p.config)
	}
	if !slices.Equal(got.layers, p.layers) || !slices.Equal(got.diffIDs, p.diffIDs) {
		t.Errorf("archive layers %v diff ids %v, want %v %v", got.layers, got.diffIDs, p.layers, p.diffIDs)
	}
}
