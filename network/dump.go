package network

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// dumpTries bounds retryDump: a dump is interrupted only while something
// else changes the same table, and another hako's veth is added in well
// under a millisecond.
const dumpTries = 10

// retryDump runs a netlink dump until the kernel reports it consistent.
// A dump that races a change elsewhere (another hako adding its veth, a
// container's namespace going away) comes back flagged NLM_F_DUMP_INTR:
// netlink returns the partial list with ErrDumpInterrupted, and the only
// safe answer is to ask again, as moby's nlwrap does.
func retryDump[T any](dump func() (T, error)) (T, error) {
	var v T
	var err error
	for range dumpTries {
		if v, err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, fmt.Errorf("%w (%d tries while the kernel's table kept changing)", err, dumpTries)
}
