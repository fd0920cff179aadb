package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/internal/atomicfile"
)

// Compiling Docker's seccomp profile with libseccomp takes tens of
// milliseconds, most of a container's start, and gives the same program
// every time. So hako compiles a profile once, keeps the program in
// RUNROOT/seccomp (a tmpfs: a reboot, which may bring a new kernel or
// libseccomp, starts afresh), and hands the finished program to the
// container's init (third_party/runc/HAKO.md).

// seccompCacheMax bounds the cache; each distinct profile (capabilities
// change Docker's profile, --security-opt seccomp=FILE brings new ones)
// takes one entry of a few tens of KiB.
const seccompCacheMax = 32

// seccompCacheFormat changes when the file layout or the key's inputs do.
const seccompCacheFormat = "hako-seccomp-2"

// precompileSeccomp sets sc.Program and sc.ProgramFlags from the cache in
// dir, compiling and storing the program on a miss. It says how it got the
// program, for --debug. A cache that cannot be used is not an error: the
// program is compiled and set all the same.
func precompileSeccomp(dir string, sc *configs.Seccomp) (how string, err error) {
	key, keyErr := seccompKey(sc)
	if keyErr == nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			keyErr = err
		} else if !privateTo(dir, os.Geteuid()) {
			// Someone else could plant a program there.
			keyErr = fmt.Errorf("%s is not private to user %d", dir, os.Geteuid())
		}
	}
	path := filepath.Join(dir, key)
	if keyErr == nil {
		if program, flags, ok := readSeccompEntry(path); ok {
			sc.Program, sc.ProgramFlags = program, flags
			now := time.Now()
			_ = os.Chtimes(path, now, now) // recently used: pruned last
			return "cached", nil
		}
	}
	program, flags, err := seccomp.Compile(sc)
	if err != nil {
		return "", fmt.Errorf("compiling the seccomp profile: %w", err)
	}
	sc.Program, sc.ProgramFlags = program, flags
	if keyErr != nil {
		return fmt.Sprintf("compiled, not cached: %v", keyErr), nil
	}
	atomicfile.RemoveAbandoned(dir)
	if err := atomicfile.Write(path, encodeSeccompEntry(program, flags), 0o600); err != nil {
		return fmt.Sprintf("compiled, not cached: %v", err), nil
	}
	pruneSeccompCache(dir, seccompCacheMax)
	return "compiled", nil
}

// privateTo reports whether path is owned by uid and writable by no one
// else: only then may what it holds be loaded as a seccomp filter.
func privateTo(path string, uid int) bool {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false
	}
	return int(st.Uid) == uid && st.Mode&0o022 == 0
}

// seccompKey names the program for a profile: what the profile says and
// what else shapes the program: the code that compiles it (this executable's
// build ID: libseccomp is linked in, and runc's -ENOSYS stub), libseccomp's
// version, the kernel it probes, the native architecture. The profile goes
// into the hash field by field (hashSeccompProfile), not as its JSON: the
// JSON of Docker's profile is ~25 KB of fresh heap on every run.
func seccompKey(sc *configs.Seccomp) (string, error) {
	build, err := executableBuildID()
	if err != nil {
		return "", err
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	major, minor, micro := seccomp.Version()
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%x\x00%d.%d.%d\x00%s\x00%s\x00%s\x00", seccompCacheFormat, build, major, minor, micro,
		unix.ByteSliceToString(uts.Release[:]), unix.ByteSliceToString(uts.Version[:]), goruntime.GOARCH)
	hashSeccompProfile(h, sc)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashSeccompProfile writes every field of the profile but the compiled
// program (Program, ProgramFlags) to w in an encoding that tells any two
// profiles apart, as their JSON did: each string and slice is preceded by
// its length, each pointer and slice by whether it is nil, each number is
// 8 bytes. A field added to configs.Seccomp, Syscall or Arg must be added
// here: TestSeccompKeyCoversProfile fails until it is (two profiles that
// differ only in a field left out would share a cached filter).
func hashSeccompProfile(w io.Writer, sc *configs.Seccomp) {
	e := seccompHasher{w: w}
	e.num(uint64(sc.DefaultAction))
	e.strs(sc.Architectures)
	e.present(sc.Flags != nil)
	e.num(uint64(len(sc.Flags)))
	for _, f := range sc.Flags {
		e.str(string(f))
	}
	e.present(sc.Syscalls != nil)
	e.num(uint64(len(sc.Syscalls)))
	for _, c := range sc.Syscalls {
		e.present(c != nil)
		if c == nil {
			continue
		}
		e.str(c.Name)
		e.num(uint64(c.Action))
		e.uintPtr(c.ErrnoRet)
		e.present(c.Args != nil)
		e.num(uint64(len(c.Args)))
		for _, a := range c.Args {
			e.present(a != nil)
			if a == nil {
				continue
			}
			e.num(uint64(a.Index))
			e.num(a.Value)
			e.num(a.ValueTwo)
			e.num(uint64(a.Op))
		}
	}
	e.uintPtr(sc.DefaultErrnoRet)
	e.str(sc.ListenerPath)
	e.str(sc.ListenerMetadata)
	e.flush()
}

// seccompHasher buffers what hashSeccompProfile writes (a hash.Hash never
// fails a write).
type seccompHasher struct {
	w   io.Writer
	buf [512]byte
	n   int
}

func (e *seccompHasher) flush() {
	e.w.Write(e.buf[:e.n])
	e.n = 0
}

func (e *seccompHasher) num(v uint64) {
	if e.n+8 > len(e.buf) {
		e.flush()
	}
	binary.LittleEndian.PutUint64(e.buf[e.n:], v)
	e.n += 8
}

func (e *seccompHasher) present(ok bool) {
	if e.n+1 > len(e.buf) {
		e.flush()
	}
	e.buf[e.n] = 0
	if ok {
		e.buf[e.n] = 1
	}
	e.n++
}

func (e *seccompHasher) str(s string) {
	e.num(uint64(len(s)))
	for len(s) > 0 {
		if e.n == len(e.buf) {
			e.flush()
		}
		c := copy(e.buf[e.n:], s)
		e.n += c
		s = s[c:]
	}
}

func (e *seccompHasher) strs(ss []string) {
	e.present(ss != nil)
	e.num(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *seccompHasher) uintPtr(p *uint) {
	e.present(p != nil)
	if p != nil {
		e.num(uint64(*p))
	}
}

// A cache entry is the SHA-256 of the rest, the flags (8 bytes, little
// endian), then the program. The checksum keeps a damaged file from being
// loaded as a filter that is valid BPF but not the profile.
func encodeSeccompEntry(program []byte, flags uint) []byte {
	body := binary.LittleEndian.AppendUint64(nil, uint64(flags))
	body = append(body, program...)
	sum := sha256.Sum256(body)
	return append(sum[:], body...)
}

func readSeccompEntry(path string) (program []byte, flags uint, ok bool) {
	if !privateTo(path, os.Geteuid()) {
		return nil, 0, false
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) < sha256.Size+8+8 {
		return nil, 0, false
	}
	sum, body := data[:sha256.Size], data[sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, 0, false
	}
	program = body[8:]
	if len(program)%8 != 0 {
		return nil, 0, false
	}
	return program, uint(binary.LittleEndian.Uint64(body[:8])), true
}

// pruneSeccompCache removes the least recently used entries beyond max.
func pruneSeccompCache(dir string, max int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		used int64
	}
	var all []entry
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), atomicfile.TmpPrefix) {
			continue // another hako's entry, being written
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		all = append(all, entry{e.Name(), info.ModTime().UnixNano()})
	}
	if len(all) <= max {
		return
	}
	// sort.Slice, not slices.SortFunc: each struct type slices sorts
	// instantiates ~25 KB of sorting code in the binary.
	sort.Slice(all, func(i, j int) bool { return all[i].used > all[j].used })
	for _, e := range all[min(max, len(all)):] {
		if err := os.Remove(filepath.Join(dir, e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
}
