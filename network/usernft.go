package network

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// netComment tags a user network's rules, as nft list shows them:
// hako:net <id>.
func netComment(id string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, "hako:net "+id)
}

// ensureNetRules adds the user network's masquerade, isolation and
// forwarding rules (see the table's layout in nft.go) unless they are
// there. Called under the state lock, after ensureTable.
func ensureNetRules(d *Def) error {
	if ipt, err := useIptables(); err != nil || ipt != nil {
		if err != nil {
			return err
		}
		return ipt.ensureNetRules(d)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tag := netComment(d.ID)
	fwd := &nftables.Chain{Name: netFwd, Table: table}
	post := &nftables.Chain{Name: netPost, Table: table}
	rules, err := getRules(c, table, fwd)
	if err != nil {
		return fmt.Errorf("listing nftables chain %s: %w", netFwd, err)
	}
	for _, r := range rules {
		if bytes.Equal(r.UserData, tag) {
			return nil
		}
	}
	br := d.Bridge
	c.AddRule(&nftables.Rule{Table: table, Chain: post, UserData: tag, Exprs: concat(
		matchPrefix(12, d.Subnet, expr.CmpOpEq),
		matchIfname(unix.NFT_META_OIFNAME, br, expr.CmpOpNeq),
		[]expr.Any{&expr.Masq{}})})
	for _, src := range []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), d.Subnet} {
		c.AddRule(&nftables.Rule{Table: table, Chain: post, UserData: tag, Exprs: concat(
			matchIfname(unix.NFT_META_OIFNAME, br, expr.CmpOpEq),
			matchDNATed(),
			matchPrefix(12, src, expr.CmpOpEq),
			[]expr.Any{&expr.Masq{}})})
	}
	drop := []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	for _, dir := range [][2]uint32{{unix.NFT_META_IIFNAME, unix.NFT_META_OIFNAME}, {unix.NFT_META_OIFNAME, unix.NFT_META_IIFNAME}} {
		c.AddRule(&nftables.Rule{Table: table, Chain: fwd, UserData: tag, Exprs: concat(
			matchIfname(dir[0], br, expr.CmpOpEq),
			matchIfname(dir[1], br, expr.CmpOpNeq),
			matchIfnamePrefix(dir[1], "hako"),
			drop)})
	}
	for _, key := range []uint32{unix.NFT_META_IIFNAME, unix.NFT_META_OIFNAME} {
		c.AddRule(&nftables.Rule{Table: table, Chain: fwd, UserData: tag, Exprs: concat(
			matchIfname(key, br, expr.CmpOpEq),
			[]expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}})})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("adding the rules of network %s: %w", d.Name, err)
	}
	return nil
}

// deleteNetRules removes a user network's rules; none (or no table) is fine.
func deleteNetRules(id string) error {
	if ipt, err := useIptables(); err != nil || ipt != nil {
		if err != nil {
			return err
		}
		return ipt.deleteNetRules(id)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tag := netComment(id)
	n := 0
	for _, ch := range []string{netPost, netFwd} {
		rules, err := getRules(c, table, &nftables.Chain{Name: ch, Table: table})
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("listing nftables chain %s: %w", ch, err)
		}
		for _, r := range rules {
			if bytes.Equal(r.UserData, tag) {
				if err := c.DelRule(r); err != nil {
					return fmt.Errorf("deleting a network rule: %w", err)
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("deleting the network's rules: %w", err)
	}
	return nil
}

// matchIfnamePrefix matches interface names starting with prefix (nft's
// "hako*"): only the prefix's bytes are compared.
func matchIfnamePrefix(key uint32, prefix string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKey(key), Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(prefix)},
	}
}
