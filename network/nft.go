package network

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// hako's rules all live in one table of its own, so the host's rules
// (Docker's, podman's, the admin's) are never read or changed:
//
//	table ip hako {
//	  chain prerouting  { type nat hook prerouting priority dstnat; fib daddr type local jump ports }
//	  chain output      { type nat hook output priority dstnat; fib daddr type local jump ports }
//	  chain ports       { one dnat rule per published port, commented "hako:<id>" }
//	  chain postrouting { type nat hook postrouting priority srcnat;
//	                      ip saddr SUBNET oifname != "hako0" masquerade comment "hako:subnet SUBNET"  # outbound
//	                      oifname "hako0" ct status dnat ip saddr 127.0.0.0/8 masquerade  # from localhost
//	                      oifname "hako0" ct status dnat ip saddr SUBNET masquerade       # hairpin
//	                      jump netpost }
//	  chain forward     { type filter hook forward priority filter; jump netfwd; iifname "hako0" accept; oifname "hako0" accept }
//	  chain netpost     { the user networks' masquerade rules, as hako0's, commented "hako:net <id>" }
//	  chain netfwd      { per user network BR, commented "hako:net <id>":
//	                      iifname BR oifname != BR oifname "hako*" drop   # isolation from hako's other bridges
//	                      oifname BR iifname != BR iifname "hako*" drop
//	                      iifname BR accept; oifname BR accept }
//	}
const (
	ipsDstNAT  = 1 << 5 // IPS_DST_NAT of the conntrack status bits
	tableName  = "hako"
	portsChain = "ports"
	netPost    = "netpost"
	netFwd     = "netfwd"
)

var table = &nftables.Table{Name: tableName, Family: nftables.TableFamilyIPv4}

// baseChains are the table's hooked chains; ensureTable rewrites their rules.
func baseChains() []*nftables.Chain {
	return []*nftables.Chain{
		{Name: "prerouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		{Name: "output", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		{Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		{Name: "forward", Table: table, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter},
	}
}

// ensureTable creates hako's table and chains if missing and sets the
// hooked chains' rules for subnet, in one atomic batch; the ports chain
// keeps its rules. When the table is already set up for subnet (its
// postrouting chain is as written), it is left alone: rewriting it costs
// several milliseconds of every start.
func ensureTable(subnet netip.Prefix) error {
	if ipt, err := useIptables(); err != nil || ipt != nil {
		if err != nil {
			return err
		}
		return ipt.ensureTable(subnet)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tag := userdata.AppendString(nil, userdata.TypeComment, "hako:subnet "+subnet.String())
	rules, err := getRules(c, table, &nftables.Chain{Name: "postrouting", Table: table})
	if err == nil && len(rules) == 4 && bytes.Equal(rules[0].UserData, tag) {
		return nil
	}
	c.AddTable(table)
	ports := c.AddChain(&nftables.Chain{Name: portsChain, Table: table})
	c.AddChain(&nftables.Chain{Name: netPost, Table: table})
	c.AddChain(&nftables.Chain{Name: netFwd, Table: table})
	chains := map[string]*nftables.Chain{}
	for _, ch := range baseChains() {
		chains[ch.Name] = c.AddChain(ch)
		c.FlushChain(ch)
	}
	jump := []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: ports.Name},
	}
	c.AddRule(&nftables.Rule{Table: table, Chain: chains["prerouting"], Exprs: jump})
	c.AddRule(&nftables.Rule{Table: table, Chain: chains["output"], Exprs: jump})

	post := chains["postrouting"]
	c.AddRule(&nftables.Rule{Table: table, Chain: post, Exprs: concat(
		matchPrefix(12, subnet, expr.CmpOpEq),
		matchIfname(unix.NFT_META_OIFNAME, BridgeName, expr.CmpOpNeq),
		[]expr.Any{&expr.Masq{}}), UserData: tag})
	for _, src := range []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), subnet} {
		c.AddRule(&nftables.Rule{Table: table, Chain: post, Exprs: concat(
			matchIfname(unix.NFT_META_OIFNAME, BridgeName, expr.CmpOpEq),
			matchDNATed(),
			matchPrefix(12, src, expr.CmpOpEq),
			[]expr.Any{&expr.Masq{}})})
	}
	c.AddRule(&nftables.Rule{Table: table, Chain: post, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: netPost}}})
	c.AddRule(&nftables.Rule{Table: table, Chain: chains["forward"], Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: netFwd}}})
	for _, key := range []uint32{unix.NFT_META_IIFNAME, unix.NFT_META_OIFNAME} {
		c.AddRule(&nftables.Rule{Table: table, Chain: chains["forward"], Exprs: concat(
			matchIfname(key, BridgeName, expr.CmpOpEq),
			[]expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}})})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("setting up nftables table ip %s: %w", tableName, err)
	}
	return nil
}

// addPortRules adds a DNAT rule per published port of the container with
// address addr, each commented with the container's ID.
func addPortRules(id string, addr netip.Addr, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	if ipt, err := useIptables(); err != nil || ipt != nil {
		if err != nil {
			return err
		}
		return ipt.addPortRules(id, addr, ports)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	ch := &nftables.Chain{Name: portsChain, Table: table}
	for _, p := range ports {
		var ex []expr.Any
		if p.HostIP.IsValid() {
			ex = append(ex, matchPrefix(16, netip.PrefixFrom(p.HostIP, 32), expr.CmpOpEq)...)
		}
		proto := byte(unix.IPPROTO_TCP)
		if p.Proto == "udp" {
			proto = unix.IPPROTO_UDP
		}
		a4 := addr.As4()
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
			&expr.Immediate{Register: 1, Data: a4[:]},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		)
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: ex, UserData: ruleComment(id)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("adding port forwarding rules: %w", err)
	}
	return nil
}

// deletePortRules removes the container's rules; none (or no table) is fine.
func deletePortRules(id string) error {
	if ipt, err := useIptables(); err != nil || ipt != nil {
		if err != nil {
			return err
		}
		return ipt.deletePortRules(id)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	rules, err := getRules(c, table, &nftables.Chain{Name: portsChain, Table: table})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing port forwarding rules: %w", err)
	}
	want := ruleComment(id)
	n := 0
	for _, r := range rules {
		if bytes.Equal(r.UserData, want) {
			if err := c.DelRule(r); err != nil {
				return fmt.Errorf("deleting port forwarding rule: %w", err)
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("deleting port forwarding rules: %w", err)
	}
	return nil
}

// ruleComment is the rule's comment, as nft list shows it: hako:<id>.
func ruleComment(id string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, "hako:"+id)
}

// matchPrefix matches the IPv4 source (offset 12) or destination (16)
// address against p.
func matchPrefix(offset uint32, p netip.Prefix, op expr.CmpOp) []expr.Any {
	m := make([]byte, 4)
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	a := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: op, Register: 1, Data: a[:]},
	}
}

// matchIfname matches the input or output interface name.
func matchIfname(key uint32, name string, op expr.CmpOp) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKey(key), Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: b},
	}
}

// matchDNATed matches connections whose destination was translated.
func matchDNATed() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
