package network

import (
	"net/netip"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// inNewNetNS runs f (which must not call t.Fatal) on a thread of its own in a network namespace of its
// own (iptables binaries it starts inherit it), so no rule reaches the host.
func inNewNetNS(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with its namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		f()
	}()
	<-done
}

// TestIptablesNetRulesAfterCrash: a hako killed while it added a user
// network's rules one iptables call at a time (not atomic, unlike an
// nftables batch) left only the first of the three HAKO-FORWARD rules; the
// next ensureNetRules must complete them, not take the one it finds as the
// set: the two missing ones are the isolation DROPs between networks.
func TestIptablesNetRulesAfterCrash(t *testing.T) {
	for _, variant := range []string{"iptables-nft", "iptables-legacy"} {
		bin, err := exec.LookPath(variant)
		if err != nil {
			t.Fatalf("%s is needed (Debian's iptables; make test installs it): %v", variant, err)
		}
		inNewNetNS(t, func() {
			ipt := &iptables{bin: bin}
			d := &Def{Name: "n", ID: "0123456789abcdef0123456789abcdef", Bridge: "hako-01234567", Subnet: netip.MustParsePrefix("10.90.5.0/24")}
			tag := "hako:net " + d.ID
			// What the killed hako did: chain, jump, masquerade, the first rule.
			for _, err := range []error{
				ipt.ensureTable(netip.MustParsePrefix("10.88.0.0/16")),
				ipt.ensureChain("filter", iptFwd), ipt.ensureJump(fwdJump, true),
				ipt.masquerade(d.Bridge, d.Subnet, tag),
				ipt.add("filter", iptFwd, tag, "-i", d.Bridge, "-o", d.Bridge, "-j", "RETURN"),
			} {
				if err != nil {
					t.Errorf("%s: %v", variant, err)
					return
				}
			}
			if err := ipt.ensureNetRules(d); err != nil {
				t.Errorf("%s: ensureNetRules: %v", variant, err)
				return
			}
			count := func(table, chain string) int {
				rs, err := ipt.rules(table, chain)
				if err != nil {
					t.Errorf("%s: %v", variant, err)
				}
				n := 0
				for _, r := range rs {
					if comment(r) == tag {
						n++
					}
				}
				return n
			}
			if n := count("filter", iptFwd); n != 3 {
				t.Errorf("%s: %d rules of the network in %s after the repair, want 3", variant, n, iptFwd)
			}
			if n := count("nat", iptPost); n != 3 {
				t.Errorf("%s: %d masquerade rules of the network after the repair, want 3", variant, n)
			}
		})
	}
}
