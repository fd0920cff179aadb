package network

import (
	"net/netip"
	"strings"
	"testing"
)

// TestPickSubnet6: a subnet asked for must be a free IPv6 network; none
// asked for gives a unique local /64; members get the lowest free address
// after the gateway.
func TestPickSubnet6(t *testing.T) {
	defs := []*Def{{Name: "a", Subnet6: netip.MustParsePrefix("fd00:1::/64")}}
	for s, ok := range map[string]bool{"fd00:2::/64": true, "fd00:1::/80": false, "10.0.0.0/24": false, "fd00:3::1/64": false, "fd00:4::/124": false} {
		_, _, err := pickSubnet6(netip.MustParsePrefix(s), defs)
		if (err == nil) != ok {
			t.Errorf("%s: %v", s, err)
		}
	}
	p, gw, err := pickSubnet6(netip.Prefix{}, defs)
	if err != nil || p.Bits() != 64 || !strings.HasPrefix(p.String(), "fd") || gw != p.Addr().Next() {
		t.Errorf("random subnet %s, gateway %s, %v", p, gw, err)
	}
	d := &Def{Subnet6: netip.MustParsePrefix("fd00:2::/64"), Gateway6: netip.MustParseAddr("fd00:2::1")}
	st := &state{Entries: map[string]*Entry{"x": {Address6: netip.MustParseAddr("fd00:2::2")}}}
	e := &Entry{}
	if err := assign6(st, d, e); err != nil || e.Address6.String() != "fd00:2::3" || e.Gateway6 != d.Gateway6 {
		t.Errorf("assign6: %+v, %v", e, err)
	}
	if err := assign6(st, &Def{}, &Entry{}); err != nil {
		t.Errorf("assign6 without IPv6: %v", err)
	}
}
