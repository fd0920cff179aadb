package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
)

func TestSeccompKey(t *testing.T) {
	errno := uint(1)
	a := &configs.Seccomp{DefaultAction: configs.Errno, DefaultErrnoRet: &errno,
		Syscalls: []*configs.Syscall{{Name: "read", Action: configs.Allow}}}
	b := &configs.Seccomp{DefaultAction: configs.Errno, DefaultErrnoRet: &errno,
		Syscalls: []*configs.Syscall{{Name: "write", Action: configs.Allow}}}
	ka, err := seccompKey(a)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := seccompKey(b)
	if ka == kb {
		t.Error("two profiles share a key")
	}
	// A compiled program already set does not change what the profile is.
	a.Program, a.ProgramFlags = []byte{1, 2, 3, 4, 5, 6, 7, 8}, 4
	if k, _ := seccompKey(a); k != ka {
		t.Error("the key depends on the compiled program")
	}
}

func TestSeccompEntry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "e")
	program := []byte{0x06, 0, 0, 0, 0, 0, 0xff, 0x7f, 0x15, 0, 1, 0, 2, 0, 0, 0}
	if err := os.WriteFile(path, encodeSeccompEntry(program, 5), 0o600); err != nil {
		t.Fatal(err)
	}
	got, flags, ok := readSeccompEntry(path)
	if !ok || flags != 5 || !slices.Equal(got, program) {
		t.Fatalf("read back %v %d %v", got, flags, ok)
	}
	bad := encodeSeccompEntry(program, 5)
	for name, data := range map[string][]byte{
		"damaged":   append(bad[:len(bad)-1:len(bad)-1], bad[len(bad)-1]^1),
		"truncated": bad[:len(bad)-3],
		"empty":     nil,
	} {
		os.WriteFile(path, data, 0o600)
		if _, _, ok := readSeccompEntry(path); ok {
			t.Errorf("%s entry accepted", name)
		}
	}
}

func TestPruneSeccompCache(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	for i := range 5 {
		p := filepath.Join(dir, fmt.Sprint(i))
		os.WriteFile(p, []byte("x"), 0o600)
		at := base.Add(time.Duration(i) * time.Minute)
		os.Chtimes(p, at, at)
	}
	pruneSeccompCache(dir, 3)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{"2", "3", "4"}) {
		t.Errorf("left %q, want the three most recently used", left)
	}
}

func TestSeccompCacheOnlyTrustsPrivateFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "e")
	program := []byte{0x06, 0, 0, 0, 0, 0, 0xff, 0x7f}
	if err := os.WriteFile(path, encodeSeccompEntry(program, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := readSeccompEntry(path); !ok {
		t.Fatal("a private entry was refused")
	}
	os.Chmod(path, 0o666)
	if _, _, ok := readSeccompEntry(path); ok {
		t.Error("a world-writable entry was accepted")
	}
	os.Chmod(path, 0o600)
	os.Chown(path, 12345, 12345)
	if _, _, ok := readSeccompEntry(path); ok {
		t.Error("an entry owned by another user was accepted")
	}
	os.Chmod(dir, 0o777)
	if privateTo(dir, os.Geteuid()) {
		t.Error("a world-writable directory counts as private")
	}
}
