package network

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

// dumpTries bounds retryDump: a dump is interrupted only while something
// else changes the same table, and another hako's veth is added in well
// under a millisecond.
const dumpTries = 10

// retryDump runs a netlink dump until the kernel reports it consistent.
// A dump that races a change elsewhere (another hako adding its veth, a
// container's namespace going away, any nftables commit on the host) comes
// back flagged NLM_F_DUMP_INTR: vishvananda/netlink returns the partial
// list with its ErrDumpInterrupted, hako's nftables copy its own error
// (third_party/nftables/HAKO.md), and the only safe answer is to ask
// again, as moby's nlwrap does.
func retryDump[T any](dump func() (T, error)) (T, error) {
	var v T
	var err error
	for i := range dumpTries {
		// A growing pause (45 ms in all) outlasts a burst of commits, such
		// as Docker's iptables-nft calls for a container it starts.
		time.Sleep(time.Duration(i) * time.Millisecond)
		if v, err = dump(); !interrupted(err) {
			return v, err
		}
	}
	return v, fmt.Errorf("%w (%d tries while the kernel's table kept changing)", err, dumpTries)
}

func interrupted(err error) bool {
	return errors.Is(err, netlink.ErrDumpInterrupted) || errors.Is(err, nftables.ErrDumpInterrupted)
}

// getRules lists a chain's rules, whole.
func getRules(c *nftables.Conn, t *nftables.Table, ch *nftables.Chain) ([]*nftables.Rule, error) {
	return retryDump(func() ([]*nftables.Rule, error) { return c.GetRules(t, ch) })
}
