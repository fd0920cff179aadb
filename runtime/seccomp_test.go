package runtime

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

func TestPrecompileSeccomp(t *testing.T) {
	errno := uint(1)
	profile := func() *configs.Seccomp {
		return &configs.Seccomp{DefaultAction: configs.Allow, DefaultErrnoRet: &errno,
			Syscalls: []*configs.Syscall{{Name: "mkdir", Action: configs.Errno}}}
	}
	dir := filepath.Join(t.TempDir(), "seccomp")
	sc := profile()
	if how, err := precompileSeccomp(dir, sc); err != nil || how != "compiled" || len(sc.Program) == 0 {
		t.Fatalf("first: %q, %v, %d bytes", how, err, len(sc.Program))
	}
	again := profile()
	if how, err := precompileSeccomp(dir, again); err != nil || how != "cached" || !slices.Equal(again.Program, sc.Program) || again.ProgramFlags != sc.ProgramFlags {
		t.Fatalf("second: %q, %v", how, err)
	}

	// Another build of hako (a changed stub, a new libseccomp) must not
	// load this build's programs.
	saved := executableBuildID
	t.Cleanup(func() { executableBuildID = saved })
	executableBuildID = func() ([]byte, error) { return []byte("another build"), nil }
	if how, _ := precompileSeccomp(dir, profile()); how != "compiled" {
		t.Errorf("another build's program: %q, want compiled", how)
	}
	executableBuildID = saved

	// A directory others can write to is not trusted, nor written to.
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if how, err := precompileSeccomp(open, profile()); err != nil || !strings.HasPrefix(how, "compiled, not cached: ") {
		t.Errorf("world-writable cache dir: %q, %v", how, err)
	}
	if entries, _ := os.ReadDir(open); len(entries) != 0 {
		t.Errorf("wrote %d entries into a world-writable dir", len(entries))
	}
}

func TestElfBuildNotes(t *testing.T) {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	notes := elfBuildNotes(f)
	// A test binary has Go's build ID note; compare with debug/elf's reading.
	ef, err := elf.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	sec := ef.Section(".note.go.buildid")
	if sec == nil {
		t.Fatal("this test binary has no Go build ID note (go test always writes one)")
	}
	data, err := sec.Data()
	if err != nil || len(data) < 16 {
		t.Fatalf("reading the note with debug/elf: %v", err)
	}
	goID := data[16:] // namesz, descsz, type, "Go\0\0"
	goID = goID[:binary.LittleEndian.Uint32(data[4:])]
	if !bytes.Contains(notes, append([]byte("\x00Go\x00"), goID...)) {
		t.Errorf("elfBuildNotes = %q, want the Go build ID %q", notes, goID)
	}
	if elfBuildNotes(bytes.NewReader([]byte("not an ELF file at all, but long enough to be read as a header........"))) != nil {
		t.Error("notes found in a file that is not ELF")
	}
	id, err := readExecutableBuildID()
	if err != nil || !bytes.Contains(id, goID) {
		t.Errorf("readExecutableBuildID = %q, %v", id, err)
	}
}

func TestBuildNotesSkipsRedacted(t *testing.T) {
	note := func(name string, typ uint32, desc string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(name)+1))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
		b = binary.LittleEndian.AppendUint32(b, typ)
		b = append(b, name...)
		b = append(b, make([]byte, 4-len(name)%4)...)
		b = append(b, desc...)
		return append(b, make([]byte, (4-len(desc)%4)%4)...)
	}
	seg := append(note("Go", 4, "redacted"), note("GNU", 3, "\x01\x02\x03")...)
	if got := buildNotes(seg, binary.LittleEndian); string(got) != "\x00GNU\x00\x01\x02\x03" {
		t.Errorf("buildNotes = %q, want only the GNU note", got)
	}
}
