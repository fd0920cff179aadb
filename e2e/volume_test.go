package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// volumeNames is `hako volume ls -q`.
func (s *store) volumeNames(t *testing.T) []string {
	t.Helper()
	return strings.Fields(s.mustHako(t, "volume", "ls", "-q"))
}

// wantUsageError checks a run refused before starting anything: exit 125,
// one "Error: " line containing want.
func wantUsageError(t *testing.T, what, stderr string, code int, want string) {
	t.Helper()
	if code != 125 {
		t.Errorf("%s: exit %d, want 125", what, code)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "Error: ") || !strings.Contains(lines[0], want) {
		t.Errorf("%s: stderr %q, want one Error line containing %q", what, stderr, want)
	}
}

// TestVolumeNamedPersists: a named volume is created on first use and its
// data outlives the containers that wrote it.
func TestVolumeNamedPersists(t *testing.T) {
	s := runStore(t)
	s.mustRun(t, "--rm", "-v", "data:/data", busybox.ref, "sh", "-c", "echo kept > /data/f")
	if out := s.mustRun(t, "--rm", "-v", "data:/data", busybox.ref, "cat", "/data/f"); out != "kept\n" {
		t.Errorf("second run reads %q, want kept", out)
	}
	got, err := os.ReadFile(filepath.Join(s.root, "volumes", "data", "_data", "f"))
	if err != nil || string(got) != "kept\n" {
		t.Errorf("ROOT/volumes/data/_data/f: %q %v", got, err)
	}
	if names := s.volumeNames(t); len(names) != 1 || names[0] != "data" {
		t.Errorf("volumes %v, want [data]", names)
	}
	// --mount type=volume names the same kind of volume.
	s.mustRun(t, "--rm", "--mount", "type=volume,src=vv,dst=/v", busybox.ref, "sh", "-c", "echo m > /v/f")
	if out := s.mustRun(t, "--rm", "-v", "vv:/w", busybox.ref, "cat", "/w/f"); out != "m\n" {
		t.Errorf("--mount volume then -v: %q", out)
	}
	// Read-only: writes fail, reads work.
	out, errOut, code := s.run(t, "--rm", "-v", "data:/data:ro", busybox.ref, "sh", "-c", "cat /data/f; touch /data/g")
	if code == 0 || out != "kept\n" || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf(":ro volume: exit %d, stdout %q, stderr %q; want the read and a read-only write error", code, out, errOut)
	}
	if len(s.containerIDs(t)) != 0 {
		t.Errorf("--rm left records")
	}
}

// TestVolumeSeeding: a new volume is filled with the image's content at
// its path, with the same owners and modes; a non-empty one is not.
func TestVolumeSeeding(t *testing.T) {
	s := runStore(t)
	const stat = "stat -c '%a %u %g %F %s %n' /etc /etc/passwd /etc/group /home /home/hako /tmp"
	want := s.mustRun(t, "--rm", busybox.ref, "sh", "-c", stat)
	got := s.mustRun(t, "--rm", "-v", "etcvol:/etc", "-v", "homevol:/home", "-v", "tmpvol:/tmp", busybox.ref, "sh", "-c", stat)
	if got != want {
		t.Errorf("seeded volumes:\n%s\nwant as in the image:\n%s", got, want)
	}
	if !strings.Contains(want, "755 1000 1000 directory") || !strings.Contains(want, "1777 0 0 directory") {
		t.Fatalf("the test image changed: %s", want)
	}
	b, err := os.ReadFile(filepath.Join(s.root, "volumes", "etcvol", "_data", "passwd"))
	if err != nil || !strings.Contains(string(b), "hako:x:1000:1000") {
		t.Errorf("volume's passwd on the host: %q %v", b, err)
	}
	// Once the volume has content it is left alone.
	s.mustRun(t, "--rm", "-v", "etcvol:/etc", busybox.ref, "sh", "-c", "rm /etc/group; echo m > /etc/marker")
	out := s.mustRun(t, "--rm", "-v", "etcvol:/etc", busybox.ref, "sh", "-c", "ls /etc/group 2>/dev/null; cat /etc/marker")
	if out != "m\n" {
		t.Errorf("second use of a non-empty volume: %q, want only the marker", out)
	}
	// volume-nocopy (and -v :nocopy) leave a new volume empty.
	out = s.mustRun(t, "--rm", "--mount", "type=volume,src=nocopy,dst=/etc,volume-nocopy", busybox.ref, "ls", "/etc")
	if strings.Contains(out, "passwd") {
		t.Errorf("volume-nocopy volume has %q", out)
	}
}

// TestVolumeAnonymous: -v /path makes a 64-hex volume, removed with --rm,
// kept (and in use) without it.
func TestVolumeAnonymous(t *testing.T) {
	s := runStore(t)
	out := s.mustRun(t, "--rm", "-v", "/anon", busybox.ref, "sh", "-c", "echo x > /anon/f; cat /anon/f")
	if out != "x\n" {
		t.Errorf("anonymous volume: %q", out)
	}
	if names := s.volumeNames(t); len(names) != 0 {
		t.Errorf("--rm left anonymous volumes %v", names)
	}
	// Without --rm the volume stays, used by the container's record.
	s.mustRun(t, "-v", "/anon", busybox.ref, "true")
	names := s.volumeNames(t)
	if len(names) != 1 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(names[0]) {
		t.Fatalf("volumes %v, want one 64-hex name", names)
	}
	ids := s.containerIDs(t)
	_, errOut, code := s.hako(t, "volume", "rm", names[0])
	wantOneError(t, "rm of a used anonymous volume", errOut, code)
	if len(ids) != 1 || !strings.Contains(errOut, "volume is in use - ["+ids[0]+"]") {
		t.Errorf("stderr %q, want in use by %v", errOut, ids)
	}
	var vols []struct{ Labels map[string]string }
	json.Unmarshal([]byte(s.mustHako(t, "volume", "inspect", names[0])), &vols)
	if _, ok := vols[0].Labels["com.docker.volume.anonymous"]; len(vols) != 1 || !ok {
		t.Errorf("anonymous volume labels %v", vols)
	}
}

// TestVolumeBinds: -v ./rel is relative to the current directory (made
// when missing); --mount bind,readonly and --mount tmpfs with a size.
func TestVolumeBinds(t *testing.T) {
	s := runStore(t)
	cwd := t.TempDir()
	cmd := s.cmd("run", "--rm", "--network", "none", "-v", "./rel/sub:/r", busybox.ref, "sh", "-c", "echo rel > /r/f")
	cmd.Dir = cwd
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("-v ./rel: %v %s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(cwd, "rel", "sub", "f")); err != nil || string(b) != "rel\n" {
		t.Errorf("./rel/sub/f on the host: %q %v", b, err)
	}

	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := s.run(t, "--rm", "--mount", "type=bind,source="+host+",target=/b,readonly", busybox.ref,
		"sh", "-c", "cat /b/in; touch /b/new")
	if code == 0 || out != "hello\n" || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("--mount bind readonly: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out = s.mustRun(t, "--rm", "--mount", "type=bind,src="+host+",dst=/b", busybox.ref, "sh", "-c", "echo w > /b/out; cat /b/in")
	if b, err := os.ReadFile(filepath.Join(host, "out")); out != "hello\n" || err != nil || string(b) != "w\n" {
		t.Errorf("--mount bind rw: %q; host file %q %v", out, b, err)
	}

	out = s.mustRun(t, "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", busybox.ref, "sh", "-c", "df -k /t | tail -1; grep ' /t ' /proc/mounts")
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != "tmpfs" || f[1] != "1024" || !strings.Contains(out, "size=1024k") {
		t.Errorf("--mount tmpfs size 1m: %q, want a 1024 KiB tmpfs", out)
	}
}

// TestVolumeBadSpecs: malformed -v and --mount values exit 125 with one
// line, leaving no container and no volume.
func TestVolumeBadSpecs(t *testing.T) {
	s := runStore(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"relative container path", []string{"-v", "vol:rel"}, "mount path must be absolute"},
		{"relative --mount target", []string{"--mount", "type=volume,src=vol,dst=rel"}, "mount path must be absolute"},
		{"unknown mount type", []string{"--mount", "type=foo,target=/x"}, `invalid mount config for type "foo": mount type unknown`},
		{"unknown --mount option", []string{"--mount", "type=bind,src=/tmp,dst=/x,colour=red"}, "unknown option 'colour'"},
		{"missing bind source", []string{"--mount", "type=bind,source=/no/such/dir,target=/x"}, "bind source path does not exist: /no/such/dir"},
		{"bad volume name", []string{"-v", "a/b:/x"}, `"a/b" includes invalid characters for a local volume name`},
		{"bad mode", []string{"-v", "vol:/x:rx"}, "invalid mode: rx"},
		{"destination /", []string{"-v", "vol:/"}, "destination can't be '/'"},
		{"duplicate mount point", []string{"-v", "vol:/x", "--mount", "type=tmpfs,dst=/x"}, "Duplicate mount point: /x"},
		{"anonymous volume then a bad bind", []string{"-v", "/anon", "--mount", "type=bind,src=/no/such,dst=/x"}, "bind source path does not exist"},
	} {
		_, errOut, code := s.run(t, append(c.args, busybox.ref, "true")...)
		wantUsageError(t, c.name, errOut, code, c.want)
	}
	if ids := s.containerIDs(t); len(ids) != 0 {
		t.Errorf("bad specs left records %v", ids)
	}
	if names := s.volumeNames(t); len(names) != 0 {
		t.Errorf("bad specs left volumes %v", names)
	}
}

// TestVolumeCommands: create, ls, inspect, rm and prune as Docker's.
func TestVolumeCommands(t *testing.T) {
	s := runStore(t)
	if out := s.mustHako(t, "volume", "create", "myvol"); out != "myvol\n" {
		t.Errorf("create myvol printed %q", out)
	}
	if out := s.mustHako(t, "volume", "create", "myvol"); out != "myvol\n" {
		t.Errorf("create of an existing volume printed %q", out)
	}
	random := strings.TrimSpace(s.mustHako(t, "volume", "create", "--label", "team=a"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(random) {
		t.Errorf("create without a name printed %q", random)
	}
	_, errOut, code := s.hako(t, "volume", "create", "bad/name")
	wantOneError(t, "create bad/name", errOut, code)

	want := "DRIVER    VOLUME NAME\nlocal     " + random + "\nlocal     myvol\n"
	if out := s.mustHako(t, "volume", "ls"); out != want {
		t.Errorf("volume ls:\n%s\nwant:\n%s", out, want)
	}
	if out := s.mustHako(t, "volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}}", "--filter", "label=team"); out != random+" local team=a\n" {
		t.Errorf("volume ls --format --filter label: %q", out)
	}

	out := s.mustHako(t, "volume", "inspect", "myvol")
	var vols []map[string]any
	if err := json.Unmarshal([]byte(out), &vols); err != nil || len(vols) != 1 {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	v := vols[0]
	keys := []string{`"CreatedAt"`, `"Driver"`, `"Labels"`, `"Mountpoint"`, `"Name"`, `"Options"`, `"Scope"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(out, k)
		if i < last {
			t.Errorf("inspect: %s out of Docker's order", k)
		}
		last = i
	}
	mp := filepath.Join(s.root, "volumes", "myvol", "_data")
	if v["Driver"] != "local" || v["Scope"] != "local" || v["Name"] != "myvol" || v["Mountpoint"] != mp ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`).MatchString(v["CreatedAt"].(string)) {
		t.Errorf("inspect: %v", v)
	}
	if !bytes.HasPrefix([]byte(out), []byte("[\n    {\n")) {
		t.Errorf("inspect is not indented as Docker's: %q", out)
	}
	out, errOut, code = s.hako(t, "volume", "inspect", "nosuch")
	wantOneError(t, "inspect nosuch", errOut, code)
	if out != "[]\n" || !strings.Contains(errOut, "no such volume") {
		t.Errorf("inspect nosuch: stdout %q stderr %q", out, errOut)
	}

	// A volume used by a kept container record can't be removed or pruned.
	s.mustRun(t, "-v", "used:/u", busybox.ref, "true")
	ids := s.containerIDs(t)
	_, errOut, code = s.hako(t, "volume", "rm", "used")
	wantOneError(t, "rm used", errOut, code)
	if len(ids) != 1 || !strings.Contains(errOut, "remove used: volume is in use - ["+ids[0]+"]") {
		t.Errorf("rm used: stderr %q, records %v", errOut, ids)
	}
	_, errOut, code = s.hako(t, "volume", "rm", "-f", "used")
	wantOneError(t, "rm -f used", errOut, code)
	if out := s.mustHako(t, "volume", "ls", "-q", "--filter", "dangling=false"); out != "used\n" {
		t.Errorf("dangling=false: %q", out)
	}

	// rm: missing volumes fail (exit 1) unless -f; the others go.
	out, errOut, code = s.hako(t, "volume", "rm", "nosuch", "myvol")
	wantOneError(t, "rm nosuch myvol", errOut, code)
	if out != "myvol\n" {
		t.Errorf("rm nosuch myvol: stdout %q", out)
	}
	if out := s.mustHako(t, "volume", "rm", "-f", "nosuch"); out != "nosuch\n" {
		t.Errorf("rm -f nosuch: %q", out)
	}

	// prune: anonymous volumes only unless -a; declined without -f.
	s.mustRun(t, "-v", "/keep", busybox.ref, "true") // in use, anonymous
	if err := os.WriteFile(filepath.Join(s.root, "volumes", random, "_data", "f"), make([]byte, 1500), 0o644); err != nil {
		t.Fatal(err)
	}
	out = s.mustHako(t, "volume", "prune", "-f")
	if out != "Total reclaimed space: 0B\n" {
		t.Errorf("prune -f with no unused anonymous volume: %q", out)
	}
	out, _, code = s.hakoIn(t, strings.NewReader("n\n"), "volume", "prune", "-a")
	if code != 0 || !strings.HasPrefix(out, "WARNING! This will remove all local volumes not used by at least one container.") {
		t.Errorf("declined prune: exit %d, %q", code, out)
	}
	out, _, _ = s.hakoIn(t, strings.NewReader("y\n"), "volume", "prune", "-a")
	if !strings.HasSuffix(out, "[y/N] Deleted Volumes:\n"+random+"\n\nTotal reclaimed space: 1.5kB\n") {
		t.Errorf("prune -a: %q", out)
	}
	names := s.volumeNames(t)
	if len(names) != 2 || !strings.Contains(strings.Join(names, " "), "used") {
		t.Errorf("after prune -a: %v, want the two used volumes", names)
	}
	_, _, code = s.hako(t, "volume", "ls", "extra")
	wantCode(t, "volume ls extra", code, 125)
}
