package network

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// With "firewall": "iptables", IPv6 networks' rules (nat6.go's) are made
// with ip6tables, the iptables binary's sibling, in the same HAKO-* chain
// scheme as iptables.go's:
//
//	nat PREROUTING:        -m addrtype --dst-type LOCAL -j HAKO-PORTS
//	nat OUTPUT:            ! -d ::1 -m addrtype --dst-type LOCAL -j HAKO-PORTS
//	nat HAKO-PORTS:        a DNAT rule per port published on IPv6
//	nat POSTROUTING:       -j HAKO-POSTROUTING
//	nat HAKO-POSTROUTING:  per IPv6 network: -s S6 ! -o BR -j MASQUERADE,
//	                       -s S6 -o BR -m conntrack --ctstate DNAT -j MASQUERADE
//	filter HAKO-FORWARD:   per IPv6 network, as iptables.go's isolation
//
// and go as those do (releaseIdle once no container has a network).

var ip6tablesBin = sync.OnceValues(func() (*iptables, error) {
	ipt, err := useIptables()
	if err != nil || ipt == nil {
		return nil, err
	}
	dir, base := filepath.Split(ipt.bin)
	if strings.Contains(base, "iptables") {
		sib := filepath.Join(dir, strings.Replace(base, "iptables", "ip6tables", 1))
		if _, err := os.Stat(sib); err == nil {
			return &iptables{bin: sib}, nil
		}
	}
	if t, err := findIptables("ip6tables"); err == nil {
		return t, nil
	}
	return nil, nil // none: IPv6 networks cannot be made (ensureNet6)
})

var natJumps6 = []jump{
	{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", iptPorts}},
	{"nat", "OUTPUT", []string{"!", "-d", "::1/128", "-m", "addrtype", "--dst-type", "LOCAL", "-j", iptPorts}},
	{"nat", "POSTROUTING", []string{"-j", iptPost}},
}

// ensureNet6 is nat6.go's ensureNet6 with ip6tables: all five rules of
// the network, or (after a crash's half) none and all again.
func (t *iptables) ensureNet6(d *Def) error {
	tag := "hako:net " + d.ID
	n := 0
	for _, tc := range [][2]string{{"nat", iptPost}, {"filter", iptFwd}} {
		rs, err := t.rules(tc[0], tc[1])
		if err != nil && !errors.Is(err, errNoChain) {
			return err
		}
		for _, r := range rs {
			if comment(r) == tag {
				n++
			}
		}
	}
	if n == 5 {
		return t.ensureJumps6() // releaseIdle may have taken them
	}
	if err := t.deleteNetRules(d.ID); err != nil {
		return err
	}
	for _, c := range []string{iptPorts, iptPost} {
		if err := t.ensureChain("nat", c); err != nil {
			return err
		}
	}
	if err := t.ensureChain("filter", iptFwd); err != nil {
		return err
	}
	if err := t.ensureJump(fwdJump, true); err != nil {
		return err
	}
	if err := t.ensureJumps6(); err != nil {
		return err
	}
	s6 := d.Subnet6.String()
	for _, spec := range [][]string{
		{"-s", s6, "!", "-o", d.Bridge, "-j", "MASQUERADE"},
		{"-s", s6, "-o", d.Bridge, "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE"},
	} {
		if err := t.add("nat", iptPost, tag, spec...); err != nil {
			return err
		}
	}
	for _, spec := range [][]string{
		{"-i", d.Bridge, "-o", d.Bridge, "-j", "RETURN"},
		{"-i", d.Bridge, "-o", "hako+", "-j", "DROP"},
		{"-o", d.Bridge, "-i", "hako+", "-j", "DROP"},
	} {
		if err := t.add("filter", iptFwd, tag, spec...); err != nil {
			return err
		}
	}
	return nil
}

func (t *iptables) ensureJumps6() error {
	for _, c := range []string{iptPorts, iptPost} {
		if err := t.ensureChain("nat", c); err != nil {
			return err
		}
	}
	for _, j := range natJumps6 {
		if err := t.ensureJump(j, false); err != nil {
			return err
		}
	}
	return nil
}

// releaseIdle6 is releaseIdle for ip6tables; one listing when hako never
// made an IPv6 rule here.
func (t *iptables) releaseIdle6() error {
	if _, err := t.run("-t", "nat", "-S", iptPost); errors.Is(err, errNoChain) {
		if _, err := t.run("-t", "filter", "-S", iptFwd); errors.Is(err, errNoChain) {
			return nil
		}
	}
	return errors.Join(
		t.removeChain("nat", iptPorts, natJumps6[:2]...),
		t.removeChain("nat", iptPost, natJumps6[2]),
		t.removeChain("filter", iptFwd, fwdJump))
}
