package runtime

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"
)

// executableBuildID identifies the running executable's code: its Go build
// ID note, whose content hash covers every byte of the linked file (the
// build info of module versions, sums, VCS revision and build settings
// included), and the linker's GNU note; without a usable Go note (builders
// that link with -buildid=redacted or none), also its build info, and
// without any note the file's identity on disk. A library user's own binary
// counts as hako's build: it links hako in. A variable so tests can play
// another build.
var executableBuildID = readExecutableBuildID

func readExecutableBuildID() ([]byte, error) {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("reading this executable's build ID: %w", err)
	}
	defer f.Close()
	id := elfBuildNotes(f)
	if bytes.Contains(id, []byte("\x00Go\x00")) {
		return id, nil
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		id = append(id, bi.String()...)
	}
	if !bytes.Contains(id, []byte("\x00GNU\x00")) {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return nil, fmt.Errorf("reading this executable's identity: %w", err)
		}
		id = fmt.Appendf(id, "\x00file %d %d %d %d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
	}
	return id, nil
}

// elfNoteMax bounds what elfBuildNotes reads of a note segment.
const elfNoteMax = 64 * 1024

// elfBuildNotes returns the Go and GNU build ID notes of the ELF file, each
// as "\x00NAME\x00" and its content; nothing for a file it cannot read. It
// reads the ELF header and program headers (the first 4 KiB: where linkers
// put them, and the notes too) and then any note segment that lies beyond,
// not the section table at the end of the file (debug/elf would: a cold
// read from an SD card after boot). A Go build ID of "redacted" names no
// build and is skipped.
//
// The ELF constants are spelled out: importing debug/elf would link
// debug/dwarf and internal/zstd, whose package inits every hako process
// would run (BENCHMARKS.md, "Process start (h3)").
func elfBuildNotes(r io.ReaderAt) []byte {
	const (
		elfMag      = "\x7fELF"
		eiClass     = 4 // e_ident[EI_CLASS]
		eiData      = 5 // e_ident[EI_DATA]
		elfClass64  = 2 // ELFCLASS64
		elfData2MSB = 2 // ELFDATA2MSB
		ptNote      = 4 // PT_NOTE
	)
	head := make([]byte, 4096)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	if len(head) < 64 || string(head[:4]) != elfMag {
		return nil
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[eiData] == elfData2MSB {
		bo = binary.BigEndian
	}
	is64 := head[eiClass] == elfClass64
	var phoff, phentsize, phnum uint64
	if is64 {
		phoff, phentsize, phnum = bo.Uint64(head[32:]), uint64(bo.Uint16(head[54:])), uint64(bo.Uint16(head[56:]))
	} else {
		phoff, phentsize, phnum = uint64(bo.Uint32(head[28:])), uint64(bo.Uint16(head[42:])), uint64(bo.Uint16(head[44:]))
	}
	var out []byte
	for i := range phnum {
		ph := phoff + i*phentsize
		if ph+phentsize > uint64(len(head)) {
			break
		}
		var typ, off, size uint64
		if is64 {
			typ, off, size = uint64(bo.Uint32(head[ph:])), bo.Uint64(head[ph+8:]), bo.Uint64(head[ph+32:])
		} else {
			typ, off, size = uint64(bo.Uint32(head[ph:])), uint64(bo.Uint32(head[ph+4:])), uint64(bo.Uint32(head[ph+16:]))
		}
		if typ != ptNote || size > elfNoteMax || off > elfNoteMax {
			continue
		}
		var seg []byte
		if off+size <= uint64(len(head)) {
			seg = head[off : off+size]
		} else {
			seg = make([]byte, size)
			if n, _ := r.ReadAt(seg, int64(off)); uint64(n) != size {
				continue
			}
		}
		out = append(out, buildNotes(seg, bo)...)
	}
	return out
}

// buildNotes picks the Go (type 4) and GNU (type 3) build ID notes out of a
// PT_NOTE segment.
func buildNotes(seg []byte, bo binary.ByteOrder) []byte {
	align4 := func(n uint32) uint32 { return (n + 3) &^ 3 }
	var out []byte
	for len(seg) >= 12 {
		namesz, descsz, typ := bo.Uint32(seg), bo.Uint32(seg[4:]), bo.Uint32(seg[8:])
		end := 12 + uint64(align4(namesz)) + uint64(align4(descsz))
		if end > uint64(len(seg)) {
			break
		}
		name := strings.TrimRight(string(seg[12:12+namesz]), "\x00")
		desc := seg[12+align4(namesz) : 12+align4(namesz)+descsz]
		if (name == "Go" && typ == 4 && string(desc) != "redacted") || (name == "GNU" && typ == 3) {
			out = append(out, "\x00"+name+"\x00"...)
			out = append(out, desc...)
		}
		seg = seg[end:]
	}
	return out
}
