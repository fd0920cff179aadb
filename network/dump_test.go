package network

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
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

// TestGetRulesUnderChurn: another table comes and goes while a chain of
// 300 rules is listed (any nftables commit, Docker's iptables-nft
// included, changes the generation a dump checks). Plain GetRules calls
// report the kernel's NLM_F_DUMP_INTR (hako's patch to nftables; without
// it they return whatever was read), and every list getRules returns
// holds all 300.
func TestGetRulesUnderChurn(t *testing.T) {
	inNewNetNS(t, func() {
		ns, err := netns.Get()
		if err != nil {
			t.Errorf("netns: %v", err)
			return
		}
		defer ns.Close()
		c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
		if err != nil {
			t.Errorf("nftables: %v", err)
			return
		}
		tbl := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "dumptest"})
		ch := c.AddChain(&nftables.Chain{Name: "many", Table: tbl})
		const rules = 300
		for i := range rules {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: ch, Exprs: []expr.Any{&expr.Counter{}}})
			if i%50 == 49 { // in batches: one batch's acks overflow the socket's buffer
				if err := c.Flush(); err != nil {
					t.Errorf("adding rules: %v", err)
					return
				}
			}
		}

		var stop atomic.Bool
		churned := make(chan error, 1)
		go func() {
			cc, err := nftables.New(nftables.WithNetNSFd(int(ns)))
			if err != nil {
				churned <- err
				return
			}
			other := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "churn"}
			for !stop.Load() {
				cc.AddTable(other)
				if err := cc.Flush(); err != nil {
					churned <- err
					return
				}
				cc.DelTable(other)
				if err := cc.Flush(); err != nil {
					churned <- err
					return
				}
				time.Sleep(5 * time.Millisecond) // busy, yet idle at times, as a host is
			}
			churned <- nil
		}()

		// 150 lists, and more until one plain dump was flagged (the patch's
		// check at work), for at most 20 s.
		interrupted := 0
		deadline := time.Now().Add(20 * time.Second)
		for i := 0; i < 150 || interrupted == 0 && time.Now().Before(deadline); i++ {
			if _, err := c.GetRules(tbl, ch); errors.Is(err, nftables.ErrDumpInterrupted) {
				interrupted++
			}
			got, err := getRules(c, tbl, ch)
			if err != nil {
				t.Errorf("getRules: %v", err)
				break
			}
			if len(got) != rules {
				t.Errorf("a list without error held %d of the %d rules", len(got), rules)
				break
			}
		}
		stop.Store(true)
		if err := <-churned; err != nil {
			t.Errorf("churning tables: %v", err)
		}
		t.Logf("%d plain dumps were interrupted", interrupted)
		if interrupted == 0 {
			t.Error("no dump was flagged interrupted under churn: GetRules no longer reports NLM_F_DUMP_INTR (third_party/nftables/HAKO.md)")
		}
	})
}
