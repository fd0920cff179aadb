package network

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestRetryDumpUnderChurn: links come and go in a namespace while another
// handle lists them (CI saw "listing links: results may be incomplete or
// inconsistent" when parallel runs added veths during a sweep). Every
// list retryDump returns must be whole: no error, and each of the links
// that never change is in it.
func TestRetryDumpUnderChurn(t *testing.T) {
	inNewNetNS(t, func() {
		ns, err := netns.Get()
		if err != nil {
			t.Errorf("netns: %v", err)
			return
		}
		defer ns.Close()
		lister, err := netlink.NewHandleAt(ns)
		if err != nil {
			t.Errorf("handle: %v", err)
			return
		}
		defer lister.Close()
		const stable = 150
		for i := range stable {
			if err := lister.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("keep%d", i)}}); err != nil {
				t.Errorf("adding a bridge: %v", err)
				return
			}
		}

		var stop atomic.Bool
		churned := make(chan error, 1)
		go func() {
			churner, err := netlink.NewHandleAt(ns)
			if err != nil {
				churned <- err
				return
			}
			defer churner.Close()
			for i := 0; !stop.Load(); i++ {
				l := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("churn%d", i%4)}}
				if err := churner.LinkAdd(l); err != nil {
					churned <- err
					return
				}
				if err := churner.LinkDel(l); err != nil {
					churned <- err
					return
				}
			}
			churned <- nil
		}()

		interrupted := 0
		for range 150 {
			if _, err := lister.LinkList(); errors.Is(err, netlink.ErrDumpInterrupted) {
				interrupted++
			}
			links, err := retryDump(lister.LinkList)
			if err != nil {
				t.Errorf("retryDump: %v", err)
				break
			}
			kept := 0
			for _, l := range links {
				var n int
				if _, err := fmt.Sscanf(l.Attrs().Name, "keep%d", &n); err == nil {
					kept++
				}
			}
			if kept != stable {
				t.Errorf("a list without error held %d of the %d unchanging links", kept, stable)
				break
			}
		}
		stop.Store(true)
		if err := <-churned; err != nil {
			t.Errorf("churning links: %v", err)
		}
		t.Logf("%d of 150 plain dumps were interrupted", interrupted)
	})
}

// TestRetryDumpGivesUp: a table that never settles ends in an error that
// still says the dump was interrupted, after dumpTries tries.
func TestRetryDumpGivesUp(t *testing.T) {
	calls := 0
	_, err := retryDump(func() ([]netlink.Link, error) {
		calls++
		return nil, netlink.ErrDumpInterrupted
	})
	if !errors.Is(err, netlink.ErrDumpInterrupted) || calls != dumpTries {
		t.Fatalf("after %d calls: %v; want ErrDumpInterrupted after %d", calls, err, dumpTries)
	}
	calls = 0
	if _, err := retryDump(func() (int, error) {
		if calls++; calls < 3 {
			return 0, netlink.ErrDumpInterrupted
		}
		return 1, nil
	}); err != nil || calls != 3 {
		t.Fatalf("after %d calls: %v; want success on the third", calls, err)
	}
}
