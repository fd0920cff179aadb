package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
hako:x:1000:1000:Hako User:/home/hako:/bin/sh
nohome:x:1001:1001::/nonexistent:/bin/sh
`

const testGroup = `root:x:0:
wheel:x:10:hako
audio:x:29:hako,nohome
hako:x:1000:
nohome:x:1001:
`

// writeFile creates root/name (and its parents) with the given content.
func writeFile(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func userRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, root, "etc/passwd", testPasswd)
	writeFile(t, root, "etc/group", testGroup)
	return root
}

func TestResolveUser(t *testing.T) {
	root := userRootfs(t)
	tests := []struct {
		spec    string
		want    specs.User
		home    string
		wantErr string
	}{
		{spec: "", want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0}}, home: "/root"},
		{spec: "root", want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0}}, home: "/root"},
		{spec: "hako", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 29}}, home: "/home/hako"},
		{spec: "1000", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 29}}, home: "/home/hako"},
		// With an explicit group Docker adds no supplementary groups.
		{spec: "hako:wheel", want: specs.User{UID: 1000, GID: 10, AdditionalGids: []uint32{10}}, home: "/home/hako"},
		{spec: "1000:29", want: specs.User{UID: 1000, GID: 29, AdditionalGids: []uint32{29}}, home: "/home/hako"},
		{spec: "nohome:5000", want: specs.User{UID: 1001, GID: 5000, AdditionalGids: []uint32{5000}}, home: "/nonexistent"},
		// A numeric uid without a passwd entry is fine: gid 0, home /.
		{spec: "4242", want: specs.User{UID: 4242, GID: 0, AdditionalGids: []uint32{0}}, home: "/"},
		{spec: "4242:4242", want: specs.User{UID: 4242, GID: 4242, AdditionalGids: []uint32{4242}}, home: "/"},
		{spec: "nobody", wantErr: "unable to find user nobody: no matching entries in passwd file"},
		{spec: "hako:nogroup", wantErr: "unable to find group nogroup: no matching entries in group file"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, home, err := ResolveUser(root, tt.spec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.UID != tt.want.UID || got.GID != tt.want.GID || !slices.Equal(got.AdditionalGids, tt.want.AdditionalGids) {
				t.Errorf("user = %+v, want %+v", got, tt.want)
			}
			if home != tt.home {
				t.Errorf("home = %q, want %q", home, tt.home)
			}
		})
	}
}

func TestResolveUserNoPasswd(t *testing.T) {
	root := t.TempDir()
	u, home, err := ResolveUser(root, "")
	if err != nil || u.UID != 0 || u.GID != 0 || home != "/" {
		t.Fatalf("root without passwd: %+v %q %v", u, home, err)
	}
	if u, _, err = ResolveUser(root, "123:456"); err != nil || u.UID != 123 || u.GID != 456 {
		t.Fatalf("numeric without passwd: %+v %v", u, err)
	}
	_, _, err = ResolveUser(root, "app")
	if err == nil || err.Error() != "unable to find user app: no matching entries in passwd file" {
		t.Fatalf("err = %v", err)
	}
}

// An image's /etc/passwd that is an absolute symlink must resolve inside
// the rootfs, never to the host file of the same name.
func TestResolveUserSymlinkStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "passwd", "evil:x:0:0::/evil:/bin/sh\n")

	root := t.TempDir()
	writeFile(t, root, filepath.Join(outside, "passwd")[1:], "inroot:x:7:7::/inroot:/bin/sh\n")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ResolveUser(root, "evil"); err == nil {
		t.Fatal("resolved a user from the host file")
	}
	u, home, err := ResolveUser(root, "inroot")
	if err != nil || u.UID != 7 || home != "/inroot" {
		t.Fatalf("in-root user: %+v %q %v", u, home, err)
	}
	// A link climbing out with .. is clamped to the rootfs too.
	if err := os.Remove(filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../../.."+outside+"/passwd", filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if u, _, err := ResolveUser(root, "inroot"); err != nil || u.UID != 7 {
		t.Fatalf("dotdot link: %+v %v", u, err)
	}
}

func TestResolveUserRejectsFIFO(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "etc/passwd"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ResolveUser(root, "x")
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v", err)
	}
}

func statOwner(t *testing.T, p string) (uint32, uint32, os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid, fi.Mode()
}

func TestEnsureWorkdir(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := EnsureWorkdir(root, "/srv/app/data", 1000, 1001); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"srv/app", "srv/app/data"} {
		uid, gid, mode := statOwner(t, filepath.Join(root, p))
		if uid != 1000 || gid != 1001 || !mode.IsDir() || mode.Perm() != 0o755 {
			t.Errorf("%s: uid=%d gid=%d mode=%v", p, uid, gid, mode)
		}
	}
	// Existing directories keep their owner and mode.
	if uid, _, mode := statOwner(t, filepath.Join(root, "srv")); uid != 0 || mode.Perm() != 0o700 {
		t.Errorf("srv changed: uid=%d mode=%v", uid, mode)
	}
	// Idempotent.
	if err := EnsureWorkdir(root, "/srv/app/data", 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := EnsureWorkdir(root, "/", 0, 0); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureWorkdirErrors(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "file", "x")
	if err := EnsureWorkdir(root, "relative/dir", 0, 0); err == nil {
		t.Error("relative workdir accepted")
	}
	err := EnsureWorkdir(root, "/file", 0, 0)
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as workdir: %v", err)
	}
	if err := EnsureWorkdir(root, "/file/sub", 0, 0); err == nil {
		t.Error("dir under a file accepted")
	}
}

// A symlink in the image pointing at a host path must not make hako
// create directories on the host.
func TestEnsureWorkdirSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../..", filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	if err := EnsureWorkdir(root, "/abs/escaped", 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := EnsureWorkdir(root, "/up"+outside+"/escaped2", 0, 0); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("created on the host: %v", entries)
	}
	for _, p := range []string{outside + "/escaped", outside + "/escaped2"} {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || !fi.IsDir() {
			t.Errorf("%s not created inside the rootfs: %v", p, err)
		}
	}
}
