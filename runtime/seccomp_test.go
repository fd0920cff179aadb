package runtime

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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

// TestSeccompKeyCoversProfile fails when libcontainer's seccomp types gain,
// lose or change a field: hashSeccompProfile must then be brought up to
// date, or two profiles differing in that field would share a filter.
func TestSeccompKeyCoversProfile(t *testing.T) {
	for typ, want := range map[reflect.Type]string{
		reflect.TypeFor[configs.Seccomp](): "DefaultAction configs.Action, Architectures []string, Flags []specs.LinuxSeccompFlag, " +
			"Syscalls []*configs.Syscall, DefaultErrnoRet *uint, ListenerPath string, ListenerMetadata string, " +
			"Program []uint8, ProgramFlags uint",
		reflect.TypeFor[configs.Syscall](): "Name string, Action configs.Action, ErrnoRet *uint, Args []*configs.Arg",
		reflect.TypeFor[configs.Arg]():     "Index uint, Value uint64, ValueTwo uint64, Op configs.Operator",
	} {
		var got []string
		for f := range typ.Fields() {
			got = append(got, f.Name+" "+f.Type.String())
		}
		if strings.Join(got, ", ") != want {
			t.Errorf("%v has fields %q,\nhashSeccompProfile knows %q: update it (and seccompCacheFormat)", typ, strings.Join(got, ", "), want)
		}
	}
}

// TestSeccompKeyTellsProfilesApart changes each field the key covers, one
// at a time, and wants a new key each time.
func TestSeccompKeyTellsProfilesApart(t *testing.T) {
	u := func(v uint) *uint { return &v }
	base := func() *configs.Seccomp {
		return &configs.Seccomp{
			DefaultAction: configs.Errno, DefaultErrnoRet: u(1),
			Architectures: []string{"amd64", "x86"},
			Flags:         []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG"},
			Syscalls: []*configs.Syscall{
				{Name: "read", Action: configs.Allow},
				{Name: "personality", Action: configs.Allow, ErrnoRet: u(2), Args: []*configs.Arg{{Index: 0, Value: 8, ValueTwo: 0, Op: configs.EqualTo}}},
			},
			ListenerPath: "/run/l.sock", ListenerMetadata: "m",
		}
	}
	changes := map[string]func(*configs.Seccomp){
		"DefaultAction":          func(s *configs.Seccomp) { s.DefaultAction = configs.Kill },
		"DefaultErrnoRet":        func(s *configs.Seccomp) { *s.DefaultErrnoRet = 2 },
		"DefaultErrnoRet nil":    func(s *configs.Seccomp) { s.DefaultErrnoRet = nil },
		"Architectures":          func(s *configs.Seccomp) { s.Architectures[1] = "x32" },
		"Architectures split":    func(s *configs.Seccomp) { s.Architectures = []string{"amd64x", "86"} },
		"Architectures joined":   func(s *configs.Seccomp) { s.Architectures = []string{"amd64x86"} },
		"Architectures empty":    func(s *configs.Seccomp) { s.Architectures = []string{} },
		"Architectures nil":      func(s *configs.Seccomp) { s.Architectures = nil },
		"Flags":                  func(s *configs.Seccomp) { s.Flags[0] = "SECCOMP_FILTER_FLAG_SPEC_ALLOW" },
		"Flags nil":              func(s *configs.Seccomp) { s.Flags = nil },
		"Syscalls order":         func(s *configs.Seccomp) { s.Syscalls[0], s.Syscalls[1] = s.Syscalls[1], s.Syscalls[0] },
		"Syscalls nil":           func(s *configs.Seccomp) { s.Syscalls = nil },
		"Syscalls empty":         func(s *configs.Seccomp) { s.Syscalls = []*configs.Syscall{} },
		"Syscall nil":            func(s *configs.Seccomp) { s.Syscalls[0] = nil },
		"Syscall Name":           func(s *configs.Seccomp) { s.Syscalls[0].Name = "write" },
		"Syscall Action":         func(s *configs.Seccomp) { s.Syscalls[0].Action = configs.Log },
		"Syscall ErrnoRet":       func(s *configs.Seccomp) { *s.Syscalls[1].ErrnoRet = 3 },
		"Syscall ErrnoRet nil":   func(s *configs.Seccomp) { s.Syscalls[1].ErrnoRet = nil },
		"Syscall ErrnoRet added": func(s *configs.Seccomp) { s.Syscalls[0].ErrnoRet = u(0) },
		"Syscall Args nil":       func(s *configs.Seccomp) { s.Syscalls[1].Args = nil },
		"Syscall Args empty":     func(s *configs.Seccomp) { s.Syscalls[1].Args = []*configs.Arg{} },
		"Syscall Arg nil":        func(s *configs.Seccomp) { s.Syscalls[1].Args[0] = nil },
		"Arg Index":              func(s *configs.Seccomp) { s.Syscalls[1].Args[0].Index = 1 },
		"Arg Value":              func(s *configs.Seccomp) { s.Syscalls[1].Args[0].Value = 9 },
		"Arg ValueTwo":           func(s *configs.Seccomp) { s.Syscalls[1].Args[0].ValueTwo = 1 },
		"Arg Op":                 func(s *configs.Seccomp) { s.Syscalls[1].Args[0].Op = configs.MaskEqualTo },
		"ListenerPath":           func(s *configs.Seccomp) { s.ListenerPath = "/run/m.sock" },
		"ListenerMetadata":       func(s *configs.Seccomp) { s.ListenerMetadata = "n" },
		"Listener split":         func(s *configs.Seccomp) { s.ListenerPath, s.ListenerMetadata = "/run/l.sockm", "" },
	}
	ref, err := seccompKey(base())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{ref: "base"}
	for name, change := range changes {
		sc := base()
		change(sc)
		k, err := seccompKey(sc)
		if err != nil {
			t.Fatal(err)
		}
		if other, ok := seen[k]; ok {
			t.Errorf("%s gives the key of %s", name, other)
		}
		seen[k] = name
	}
	// A long profile (more than the hasher's buffer) keys the same twice.
	long := base()
	for i := range 300 {
		long.Syscalls = append(long.Syscalls, &configs.Syscall{Name: fmt.Sprintf("call%d", i), Action: configs.Allow})
	}
	k1, _ := seccompKey(long)
	k2, _ := seccompKey(long)
	if k1 != k2 {
		t.Error("the key of one profile changed")
	}
}

// TestElfBuildNotesBeyondHead reads a note segment that lies past the first
// 4 KiB elfBuildNotes reads at once.
func TestElfBuildNotesBeyondHead(t *testing.T) {
	desc := "abcdefgh"
	note := binary.LittleEndian.AppendUint32(nil, 3)
	note = binary.LittleEndian.AppendUint32(note, uint32(len(desc)))
	note = binary.LittleEndian.AppendUint32(note, 4)
	note = append(note, "Go\x00\x00"+desc...)
	for _, off := range []int{200, 5000} {
		file := make([]byte, off+len(note))
		copy(file, elf.ELFMAG)
		file[elf.EI_CLASS], file[elf.EI_DATA] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB)
		binary.LittleEndian.PutUint64(file[32:], 64) // phoff
		binary.LittleEndian.PutUint16(file[54:], 56) // phentsize
		binary.LittleEndian.PutUint16(file[56:], 1)  // phnum
		binary.LittleEndian.PutUint32(file[64:], uint32(elf.PT_NOTE))
		binary.LittleEndian.PutUint64(file[64+8:], uint64(off))
		binary.LittleEndian.PutUint64(file[64+32:], uint64(len(note)))
		copy(file[off:], note)
		if got := elfBuildNotes(bytes.NewReader(file)); string(got) != "\x00Go\x00"+desc {
			t.Errorf("note at %d: %q", off, got)
		}
		if got := elfBuildNotes(bytes.NewReader(file[:len(file)-1])); got != nil {
			t.Errorf("truncated note at %d: %q", off, got)
		}
	}
}
