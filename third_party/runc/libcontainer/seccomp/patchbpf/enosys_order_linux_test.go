//go:build cgo && seccomp

package patchbpf

import (
	"slices"
	"testing"

	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/opencontainers/runc/libcontainer/configs"
)

// hako: the -ENOSYS stub, and so the whole program, must not depend on the
// order in which Go walks the map of architectures.
func TestEnosysStubIsDeterministic(t *testing.T) {
	last := lastSyscallMap{
		linuxAuditArch(0xc000003e): {libseccomp.ArchAMD64: 462, libseccomp.ArchX32: 547}, // x86_64
		linuxAuditArch(0x40000003): {libseccomp.ArchX86: 470},                            // i386
		linuxAuditArch(0xc00000b7): {libseccomp.ArchARM64: 462},                          // aarch64
	}
	first, err := generateEnosysStub(last)
	if err != nil {
		t.Fatal(err)
	}
	want, err := assemble(first)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		stub, err := generateEnosysStub(last)
		if err != nil {
			t.Fatal(err)
		}
		got, err := assemble(stub)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("stub %d differs from the first:\n%v\n%v", i, got, want)
		}
	}
}

// The same for a whole program compiled from a profile with Docker's
// architectures (x86_64, x86, x32 on amd64).
func TestCompileIsDeterministic(t *testing.T) {
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		t.Skip(err)
	}
	var arches []string
	switch native {
	case libseccomp.ArchAMD64:
		arches = []string{"x86_64", "x86", "x32"}
	case libseccomp.ArchARM64:
		arches = []string{"arm64", "arm"}
	default:
		t.Skipf("no two-architecture profile for %v here", native)
	}
	compile := func() []byte {
		t.Helper()
		filter, err := libseccomp.NewFilter(libseccomp.ActErrno.SetReturnCode(1))
		if err != nil {
			t.Fatal(err)
		}
		defer filter.Release()
		if err := filter.SetNoNewPrivsBit(false); err != nil {
			t.Fatal(err)
		}
		for _, a := range arches {
			arch, err := libseccomp.GetArchFromString(a)
			if err != nil {
				t.Fatal(err)
			}
			if err := filter.AddArch(arch); err != nil {
				t.Fatal(err)
			}
		}
		config := &configs.Seccomp{Architectures: arches}
		for _, name := range []string{"read", "write", "openat", "close", "exit_group", "clone3"} {
			config.Syscalls = append(config.Syscalls, &configs.Syscall{Name: name, Action: configs.Allow})
			no, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := filter.AddRule(no, libseccomp.ActAllow); err != nil {
				t.Fatal(err)
			}
		}
		program, _, err := Compile(config, filter)
		if err != nil {
			t.Fatal(err)
		}
		return program
	}
	want := compile()
	for i := range 30 {
		if got := compile(); !slices.Equal(got, want) {
			t.Fatalf("program %d (%d bytes) differs from the first (%d bytes)", i, len(got), len(want))
		}
	}
}
