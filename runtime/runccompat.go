package runtime

import (
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// PrecompileSeccomp is hako's seccomp program cache (seccomp.go) for the
// runc-compatible mode (package runccompat), which runs bundles outside
// hako's container records: it sets sc.Program from the cache in dir,
// compiling on a miss, and says how it got it.
func PrecompileSeccomp(dir string, sc *configs.Seccomp) (how string, err error) {
	return precompileSeccomp(dir, sc)
}

// ConvertRlimit converts an OCI rlimit ("RLIMIT_NOFILE") for libcontainer.
func ConvertRlimit(r specs.POSIXRlimit) (configs.Rlimit, error) {
	return convertRlimit(r)
}
