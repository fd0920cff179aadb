package network

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// IPv6 NAT for user networks created with --ipv6: outbound masquerade and
// -p forwarding to the members' IPv6 addresses, in a table of its own so
// that the IPv4 table (nft.go) stays exactly as it was:
//
//	table ip6 hako {
//	  chain prerouting  { type nat hook prerouting priority dstnat; fib daddr type local jump ports }
//	  chain output      { type nat hook output priority dstnat; ip6 daddr != ::1 fib daddr type local jump ports }
//	  chain ports       { one dnat rule per port published on IPv6, commented "hako:<id>" }
//	  chain postrouting { type nat hook postrouting priority srcnat; per IPv6 network BR with S6,
//	                      commented "hako:net <id>":
//	                      ip6 saddr S6 oifname != BR masquerade                 # outbound
//	                      oifname BR ct status dnat ip6 saddr S6 masquerade }   # hairpin
//	  chain forward     { type filter hook forward priority filter; per network, as netfwd in nft.go:
//	                      isolation drops, then iifname BR accept; oifname BR accept }
//	}
//
// The table is made with the first IPv6 network and stays (as the IPv4
// one does); a network's rules go with it (hako network rm), a
// container's port rules with its network. With "firewall": "iptables"
// the same is done with ip6tables (iptables6.go).

var table6 = &nftables.Table{Name: tableName, Family: nftables.TableFamilyIPv6}

// nat6 reports whether hako does IPv6 NAT with nftables here; false with
// iptables, where callers hand over to ip6tables first (ipt6).
func nat6() (bool, error) {
	ipt, err := useIptables()
	return err == nil && ipt == nil, err
}

// ipt6 is the ip6tables binary where hako uses iptables, else nil (also
// where there is none).
func ipt6() (*iptables, error) { return ip6tablesBin() }

// ensureNet6 sets up the ip6 table, IPv6 forwarding and d's rules, unless
// they are there. Called under the state lock from ensureBridge6.
func ensureNet6(d *Def) error {
	if t, err := ipt6(); err != nil || t != nil {
		if err != nil {
			return err
		}
		if err := forward6(); err != nil {
			return err
		}
		return t.ensureNet6(d)
	}
	ok, err := nat6()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("network %s has IPv6, which with \"firewall\": \"iptables\" needs the ip6tables binary (install iptables)", d.Name)
	}
	if err := forward6(); err != nil {
		return err
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tag := netComment(d.ID)
	// The prerouting chain holds the jump to ports only: without it, the
	// table is missing (or half made by a killed hako).
	if pre, err := getRules(c, table6, &nftables.Chain{Name: "prerouting", Table: table6}); err != nil || len(pre) == 0 {
		addTable6(c)
	}
	post := &nftables.Chain{Name: "postrouting", Table: table6}
	rules, err := getRules(c, table6, post)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("listing nftables chain ip6 hako postrouting: %w", err)
	}
	for _, r := range rules {
		if bytes.Equal(r.UserData, tag) {
			return nil
		}
	}
	br, s6 := d.Bridge, d.Subnet6
	c.AddRule(&nftables.Rule{Table: table6, Chain: post, UserData: tag, Exprs: concat(
		matchPrefix6(8, s6),
		matchIfname(unix.NFT_META_OIFNAME, br, expr.CmpOpNeq),
		[]expr.Any{&expr.Masq{}})})
	c.AddRule(&nftables.Rule{Table: table6, Chain: post, UserData: tag, Exprs: concat(
		matchIfname(unix.NFT_META_OIFNAME, br, expr.CmpOpEq),
		matchDNATed(),
		matchPrefix6(8, s6),
		[]expr.Any{&expr.Masq{}})})
	fwd := &nftables.Chain{Name: "forward", Table: table6}
	drop := []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	for _, dir := range [][2]uint32{{unix.NFT_META_IIFNAME, unix.NFT_META_OIFNAME}, {unix.NFT_META_OIFNAME, unix.NFT_META_IIFNAME}} {
		c.InsertRule(&nftables.Rule{Table: table6, Chain: fwd, UserData: tag, Exprs: concat(
			matchIfname(dir[0], br, expr.CmpOpEq),
			matchIfname(dir[1], br, expr.CmpOpNeq),
			matchIfnamePrefix(dir[1], "hako"),
			drop)})
	}
	for _, key := range []uint32{unix.NFT_META_IIFNAME, unix.NFT_META_OIFNAME} {
		c.AddRule(&nftables.Rule{Table: table6, Chain: fwd, UserData: tag, Exprs: concat(
			matchIfname(key, br, expr.CmpOpEq),
			[]expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}})})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("adding the IPv6 rules of network %s: %w", d.Name, err)
	}
	return nil
}

// addTable6 queues the ip6 table, its chains and the jumps to ports.
func addTable6(c *nftables.Conn) {
	c.AddTable(table6)
	ports := c.AddChain(&nftables.Chain{Name: portsChain, Table: table6})
	jump := []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: ports.Name},
	}
	for _, ch := range baseChains() {
		ch.Table = table6
		ch = c.AddChain(ch)
		switch ch.Name {
		case "prerouting":
			c.FlushChain(ch)
			c.AddRule(&nftables.Rule{Table: table6, Chain: ch, Exprs: jump})
		case "output": // not [::1], which cannot leave lo (ports6.go)
			c.FlushChain(ch)
			lo := netip.PrefixFrom(netip.IPv6Loopback(), 128)
			ex := matchPrefix6(24, lo)
			ex[2].(*expr.Cmp).Op = expr.CmpOpNeq
			c.AddRule(&nftables.Rule{Table: table6, Chain: ch, Exprs: concat(ex, jump)})
		}
	}
}

// deleteNet6Rules removes a network's IPv6 rules; none (or no table) is fine.
func deleteNet6Rules(id string) error {
	if t, err := ipt6(); err != nil || t != nil {
		if err != nil {
			return err
		}
		return t.deleteNetRules(id)
	}
	if ok, err := nat6(); !ok {
		return err
	}
	return deleteTagged6(netComment(id), "postrouting", "forward")
}

// deleteTagged6 deletes the rules commented tag from the ip6 table's chains.
func deleteTagged6(tag []byte, chains ...string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	n := 0
	for _, ch := range chains {
		rules, err := getRules(c, table6, &nftables.Chain{Name: ch, Table: table6})
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("listing nftables chain ip6 hako %s: %w", ch, err)
		}
		for _, r := range rules {
			if bytes.Equal(r.UserData, tag) {
				if err := c.DelRule(r); err != nil {
					return fmt.Errorf("deleting an IPv6 rule: %w", err)
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("deleting IPv6 rules: %w", err)
	}
	return nil
}

// addPortRules6 adds a DNAT rule per IPv6 mapping (HostIP an IPv6
// address, :: for any) to the container's IPv6 address addr.
func addPortRules6(id string, addr netip.Addr, ports []PortMapping) error {
	if t, err := ipt6(); err != nil || t != nil {
		if err != nil {
			return err
		}
		var ps []PortMapping
		for _, p := range ports {
			if p.is6() {
				ps = append(ps, p)
			}
		}
		return t.addPortRules(id, addr, ps)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	ch := &nftables.Chain{Name: portsChain, Table: table6}
	n := 0
	for _, p := range ports {
		if !p.is6() {
			continue
		}
		var ex []expr.Any
		if !p.HostIP.IsUnspecified() {
			ex = append(ex, matchPrefix6(24, netip.PrefixFrom(p.HostIP, 128))...)
		}
		proto := byte(unix.IPPROTO_TCP)
		if p.Proto == "udp" {
			proto = unix.IPPROTO_UDP
		}
		a16 := addr.As16()
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
			&expr.Immediate{Register: 1, Data: a16[:]},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV6, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		)
		c.AddRule(&nftables.Rule{Table: table6, Chain: ch, Exprs: ex, UserData: ruleComment(id)})
		n++
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("adding IPv6 port forwarding rules: %w", err)
	}
	return nil
}

// deletePortRules6 removes the container's IPv6 port rules, if any.
func deletePortRules6(id string) error {
	if t, err := ipt6(); err != nil || t != nil {
		if err != nil {
			return err
		}
		return t.deletePortRules(id)
	}
	if ok, err := nat6(); !ok {
		return err
	}
	return deleteTagged6(ruleComment(id), portsChain)
}

// matchPrefix6 matches the IPv6 source (offset 8) or destination (24)
// address against p.
func matchPrefix6(offset uint32, p netip.Prefix) []expr.Any {
	m := make([]byte, 16)
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	a := p.Masked().Addr().As16()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 16},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: m, Xor: make([]byte, 16)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}

// forward6 turns IPv6 forwarding on, as Docker does for IPv6 networks.
// A router ignores router advertisements on interfaces with accept_ra=1,
// so a host taking its IPv6 address and default route from them (SLAAC)
// would lose them: those interfaces (and "default", for new ones) get
// accept_ra=2 first, which accepts them while forwarding, as before.
func forward6() error {
	const fwd = "/proc/sys/net/ipv6/conf/all/forwarding"
	if b, err := os.ReadFile(fwd); err == nil && string(b) == "1\n" {
		return nil
	}
	ras, _ := filepath.Glob("/proc/sys/net/ipv6/conf/*/accept_ra")
	for _, p := range ras {
		if b, err := os.ReadFile(p); err == nil && string(b) == "1\n" && !strings.Contains(p, "/all/") {
			if err := setSysctl(p, "2"); err != nil {
				return err
			}
		}
	}
	return setSysctl(fwd, "1")
}
