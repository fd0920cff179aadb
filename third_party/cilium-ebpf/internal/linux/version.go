package linux

import (
	"fmt"

	"github.com/cilium/ebpf/internal/unix"
)

// hako: KernelVersion (upstream's package-level
// sync.OnceValues(detectKernelVersion)) and its vDSO parsing are gone, with
// internal's SafeELFFile and its Go source formatting helpers: hako uses
// only package asm (through opencontainers/cgroups' device filter) and never
// asks for the kernel version, and merely importing debug/elf and go/format
// made every hako process run the package inits of debug/elf, debug/dwarf,
// internal/zstd, go/token, go/scanner, go/parser and go/printer
// (third_party/cilium-ebpf/HAKO.md).

// KernelRelease returns the release string of the running kernel.
// Its format depends on the Linux distribution and corresponds to directory
// names in /lib/modules by convention. Some examples are 5.15.17-1-lts and
// 4.19.0-16-amd64.
func KernelRelease() (string, error) {
	var uname unix.Utsname
	if err := unix.Uname(&uname); err != nil {
		return "", fmt.Errorf("uname failed: %w", err)
	}

	return unix.ByteSliceToString(uname.Release[:]), nil
}
