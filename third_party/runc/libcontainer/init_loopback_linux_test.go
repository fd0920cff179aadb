package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 8).

import (
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestLoopbackUp brings lo up in a new network namespace, on a thread of
// its own that ends with the test (never the main thread, see
// goLockedThread), and checks the result through netlink.
func TestLoopbackUp(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	type result struct {
		before, after uint
		err           error
	}
	done := make(chan result, 1)
	goLockedThread(func() {
		var r result
		defer func() { done <- r }()
		if r.err = unix.Unshare(unix.CLONE_NEWNET); r.err != nil {
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			r.err = err
			return
		}
		r.before = uint(lo.Attrs().RawFlags)
		if r.err = loopbackUp(); r.err != nil {
			return
		}
		// Twice is fine: lo is up already.
		if r.err = loopbackUp(); r.err != nil {
			return
		}
		lo, r.err = netlink.LinkByName("lo")
		if r.err == nil {
			r.after = uint(lo.Attrs().RawFlags)
		}
	})
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.before&unix.IFF_UP != 0 {
		t.Fatalf("lo of a new network namespace is up already (flags %#x)", r.before)
	}
	if r.after&unix.IFF_UP == 0 || r.after&unix.IFF_LOOPBACK == 0 {
		t.Fatalf("lo flags after loopbackUp: %#x, want LOOPBACK and UP", r.after)
	}
}
