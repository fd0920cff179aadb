package network

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Where nftables is absent, hako's rules are the same as in its nftables
// table (nft.go), made with the iptables binary in chains of its own, each
// rule commented as there ("hako:<id>", "hako:subnet S", "hako:net <id>").
// Other chains get one jump rule each, nothing else, and lose it again:
//
//	nat PREROUTING, OUTPUT:  -m addrtype --dst-type LOCAL -j HAKO-PORTS
//	nat HAKO-PORTS:          a DNAT rule per published port
//	nat POSTROUTING:         -j HAKO-POSTROUTING
//	nat HAKO-POSTROUTING:    per bridge BR with subnet S:
//	                         -s S ! -o BR -j MASQUERADE                              # outbound
//	                         -s 127.0.0.0/8 -o BR -m conntrack --ctstate DNAT -j MASQUERADE  # from localhost
//	                         -s S -o BR -m conntrack --ctstate DNAT -j MASQUERADE    # hairpin
//	filter FORWARD:          -j HAKO-FORWARD, first (only while user networks exist)
//	filter HAKO-FORWARD:     per user network BR: -i BR -o BR -j RETURN,
//	                         -i BR -o hako+ -j DROP, -o BR -i hako+ -j DROP   # isolation
//
// Unlike the nftables table, HAKO-FORWARD accepts nothing: an accept
// there would end the FORWARD chain for everyone and override the
// host's policy, which an nftables accept in hako's own table cannot.
// When the last container's network is released, every HAKO-* chain and
// jump goes (releaseIdle): the tables are as they were before hako.
const (
	iptPorts = "HAKO-PORTS"
	iptPost  = "HAKO-POSTROUTING"
	iptFwd   = "HAKO-FORWARD"
)

// iptables runs one iptables binary (iptables-nft or iptables-legacy).
type iptables struct{ bin string }

// jump is a jump rule hako adds to another chain.
type jump struct {
	table, from string
	spec        []string
}

var natJumps = []jump{
	{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", iptPorts}},
	{"nat", "OUTPUT", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", iptPorts}},
	{"nat", "POSTROUTING", []string{"-j", iptPost}},
}

var fwdJump = jump{"filter", "FORWARD", []string{"-j", iptFwd}}

var errNoChain = errors.New("no such chain")

// run runs iptables -w ARGS and returns its output.
func (t *iptables) run(args ...string) (string, error) {
	cmd := exec.Command(t.bin, append([]string{"-w"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		// iptables-nft 1.8.9 calls a missing chain "incompatible".
		if strings.Contains(msg, "No chain/target/match by that name") || strings.Contains(msg, "does not exist") ||
			strings.Contains(msg, "is incompatible, use 'nft' tool") {
			return "", fmt.Errorf("%s %s: %w", t.bin, strings.Join(args, " "), errNoChain)
		}
		return "", fmt.Errorf("%s %s: %v: %s", t.bin, strings.Join(args, " "), err, msg)
	}
	return out.String(), nil
}

// rules lists a chain's rules, each split into arguments ("-A", CHAIN, …).
func (t *iptables) rules(table, chain string) ([][]string, error) {
	out, err := t.run("-t", table, "-S", chain)
	if err != nil {
		return nil, err
	}
	var rs [][]string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-A ") {
			rs = append(rs, splitRule(l))
		}
	}
	return rs, nil
}

// deleteTagged deletes the chain's rules whose comment is tag (or, with
// prefix, starts with it); a missing chain has none.
func (t *iptables) deleteTagged(table, chain, tag string, prefix bool) error {
	rs, err := t.rules(table, chain)
	if errors.Is(err, errNoChain) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range rs {
		c := comment(r)
		if c == tag || (prefix && strings.HasPrefix(c, tag)) {
			if _, err := t.run(append([]string{"-t", table, "-D"}, r[1:]...)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureChain creates a chain unless it exists.
func (t *iptables) ensureChain(table, chain string) error {
	if _, err := t.run("-t", table, "-S", chain); err == nil {
		return nil
	}
	_, err := t.run("-t", table, "-N", chain)
	return err
}

// ensureJump adds j unless it is there: appended, or first with insert.
func (t *iptables) ensureJump(j jump, insert bool) error {
	if _, err := t.run(append([]string{"-t", j.table, "-C", j.from}, j.spec...)...); err == nil {
		return nil
	}
	op := "-A"
	if insert {
		op = "-I"
	}
	_, err := t.run(append([]string{"-t", j.table, op, j.from}, j.spec...)...)
	return err
}

// removeChain deletes the jumps to a chain, then the chain; a missing one
// is fine.
func (t *iptables) removeChain(table, chain string, jumps ...jump) error {
	for _, j := range jumps {
		for range 16 { // a copy added twice by hand goes too
			if _, err := t.run(append([]string{"-t", j.table, "-D", j.from}, j.spec...)...); err != nil {
				break
			}
		}
	}
	if _, err := t.run("-t", table, "-F", chain); errors.Is(err, errNoChain) {
		return nil
	} else if err != nil {
		return err
	}
	_, err := t.run("-t", table, "-X", chain)
	return err
}

// add appends the rule spec, commented tag (before its -j, where
// iptables -S shows it).
func (t *iptables) add(table, chain, tag string, spec ...string) error {
	j := slices.Index(spec, "-j")
	args := append([]string{"-t", table, "-A", chain}, spec[:j]...)
	args = append(args, "-m", "comment", "--comment", tag)
	_, err := t.run(append(args, spec[j:]...)...)
	return err
}

// masquerade adds a bridge's three masquerade rules (the layout above).
func (t *iptables) masquerade(br string, subnet netip.Prefix, tag string) error {
	s := subnet.String()
	for _, spec := range [][]string{
		{"-s", s, "!", "-o", br, "-j", "MASQUERADE"},
		{"-s", "127.0.0.0/8", "-o", br, "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE"},
		{"-s", s, "-o", br, "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE"},
	} {
		if err := t.add("nat", iptPost, tag, spec...); err != nil {
			return err
		}
	}
	return nil
}

// ensureTable is nft.go's ensureTable: hako's nat chains, their jumps and
// hako0's masquerade rules for subnet. One iptables call when all is set.
func (t *iptables) ensureTable(subnet netip.Prefix) error {
	out, err := t.run("-t", "nat", "-S")
	if err != nil {
		return err
	}
	tag := "hako:subnet " + subnet.String()
	chains, jumps, tagged := map[string]bool{}, map[string]bool{}, 0
	for _, l := range strings.Split(out, "\n") {
		r := splitRule(l)
		switch {
		case len(r) == 2 && r[0] == "-N":
			chains[r[1]] = true
		case len(r) > 2 && r[0] == "-A" && r[1] == iptPost && comment(r) == tag:
			tagged++
		case len(r) > 2 && r[0] == "-A":
			if i := slices.Index(r, "-j"); i > 0 && i+1 < len(r) {
				jumps[r[1]+" "+r[i+1]] = true
			}
		}
	}
	ok := chains[iptPorts] && chains[iptPost] && tagged == 3
	for _, j := range natJumps {
		ok = ok && jumps[j.from+" "+j.spec[len(j.spec)-1]]
	}
	if ok {
		return nil
	}
	for _, c := range []string{iptPorts, iptPost} {
		if err := t.ensureChain("nat", c); err != nil {
			return err
		}
	}
	if tagged != 3 { // none yet, another subnet's, or a crash's half
		if err := t.deleteTagged("nat", iptPost, "hako:subnet ", true); err != nil {
			return err
		}
		if err := t.masquerade(BridgeName, subnet, tag); err != nil {
			return err
		}
	}
	for _, j := range natJumps {
		if err := t.ensureJump(j, false); err != nil {
			return err
		}
	}
	return nil
}

// addPortRules is nft.go's addPortRules.
func (t *iptables) addPortRules(id string, addr netip.Addr, ports []PortMapping) error {
	for _, p := range ports {
		if err := t.add("nat", iptPorts, "hako:"+id, iptPortSpec(addr, p)...); err != nil {
			return fmt.Errorf("adding port forwarding rules: %w", err)
		}
	}
	return nil
}

// iptPortSpec is the DNAT rule of one published port.
func iptPortSpec(addr netip.Addr, p PortMapping) []string {
	var spec []string
	if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() { // [::]: any (ports6.go)
		spec = append(spec, "-d", netip.PrefixFrom(p.HostIP, p.HostIP.BitLen()).String())
	}
	proto := "tcp"
	if p.Proto == "udp" {
		proto = "udp"
	}
	return append(spec, "-p", proto, "-m", proto, "--dport", strconv.Itoa(int(p.HostPort)),
		"-j", "DNAT", "--to-destination", netip.AddrPortFrom(addr, p.ContainerPort).String())
}

// deletePortRules is nft.go's deletePortRules.
func (t *iptables) deletePortRules(id string) error {
	if err := t.deleteTagged("nat", iptPorts, "hako:"+id, false); err != nil {
		return fmt.Errorf("deleting port forwarding rules: %w", err)
	}
	return nil
}

// ensureNetRules is usernft.go's ensureNetRules.
func (t *iptables) ensureNetRules(d *Def) error {
	tag := "hako:net " + d.ID
	rs, err := t.rules("filter", iptFwd)
	if err != nil && !errors.Is(err, errNoChain) {
		return err
	}
	// All three, added last: iptables calls are one rule each, so a
	// killed hako may have left the first without the isolation DROPs.
	n := 0
	for _, r := range rs {
		if comment(r) == tag {
			n++
		}
	}
	if n == 3 {
		return nil
	}
	if err := t.deleteNetRules(d.ID); err != nil { // a crash's half
		return err
	}
	if err := t.ensureChain("filter", iptFwd); err != nil {
		return err
	}
	if err := t.ensureJump(fwdJump, true); err != nil {
		return err
	}
	if err := t.masquerade(d.Bridge, d.Subnet, tag); err != nil {
		return err
	}
	for _, spec := range [][]string{
		{"-i", d.Bridge, "-o", d.Bridge, "-j", "RETURN"},
		{"-i", d.Bridge, "-o", "hako+", "-j", "DROP"},
		{"-o", d.Bridge, "-i", "hako+", "-j", "DROP"},
	} {
		if err := t.add("filter", iptFwd, tag, spec...); err != nil {
			return fmt.Errorf("adding the rules of network %s: %w", d.Name, err)
		}
	}
	return nil
}

// deleteNetRules is usernft.go's deleteNetRules; HAKO-FORWARD and its
// jump go with the last user network's rules.
func (t *iptables) deleteNetRules(id string) error {
	tag := "hako:net " + id
	if err := t.deleteTagged("nat", iptPost, tag, false); err != nil {
		return err
	}
	if err := t.deleteTagged("filter", iptFwd, tag, false); err != nil {
		return err
	}
	rs, err := t.rules("filter", iptFwd)
	if errors.Is(err, errNoChain) || (err == nil && len(rs) > 0) {
		return nil
	}
	if err != nil {
		return err
	}
	return t.removeChain("filter", iptFwd, fwdJump)
}

// releaseIdle removes every HAKO-* chain and the jumps to them: called
// under the state lock once no container has a network.
func (t *iptables) releaseIdle() error {
	return errors.Join(
		t.removeChain("nat", iptPorts, natJumps[:2]...),
		t.removeChain("nat", iptPost, natJumps[2]),
		t.removeChain("filter", iptFwd, fwdJump))
}

// firewallIdle is releaseIdle where hako uses iptables; its nftables
// table stays (as Docker's rules do), costing nothing while idle.
func firewallIdle() error {
	ipt, err := useIptables()
	if ipt == nil || err != nil {
		return nil
	}
	if t, err := ipt6(); err == nil && t != nil { // iptables6.go
		return errors.Join(ipt.releaseIdle(), t.releaseIdle6())
	}
	return ipt.releaseIdle()
}

// comment is a rule's --comment argument, or "".
func comment(r []string) string {
	if i := slices.Index(r, "--comment"); i >= 0 && i+1 < len(r) {
		return r[i+1]
	}
	return ""
}

// splitRule splits a line of iptables -S into arguments as a shell would:
// double quotes group, a backslash escapes the next character.
func splitRule(l string) []string {
	var args []string
	var cur strings.Builder
	in, quoted, esc := false, false, false
	for _, c := range l {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case c == '\\':
			esc, in = true, true
		case c == '"':
			quoted, in = !quoted, true
		case (c == ' ' || c == '\t') && !quoted:
			if in {
				args = append(args, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if in {
		args = append(args, cur.String())
	}
	return args
}
