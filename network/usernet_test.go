package network

import (
	"net/netip"
	"testing"
)

func TestPickSubnet(t *testing.T) {
	pool := netip.MustParsePrefix("10.90.0.0/15")
	pp := netip.MustParsePrefix
	for _, c := range []struct {
		taken []netip.Prefix
		want  string
	}{
		{nil, "10.90.0.0/24"},
		{[]netip.Prefix{pp("10.90.0.0/24")}, "10.90.1.0/24"},
		{[]netip.Prefix{pp("10.90.0.0/24"), pp("10.90.2.0/24")}, "10.90.1.0/24"},
		// a wide host route covers many candidates
		{[]netip.Prefix{pp("10.90.0.0/16")}, "10.91.0.0/24"},
		// a narrow one inside a candidate still rules it out
		{[]netip.Prefix{pp("10.90.0.128/25"), pp("10.90.1.5/32")}, "10.90.2.0/24"},
		// the default bridge and unrelated routes change nothing
		{[]netip.Prefix{pp("10.89.0.0/24"), pp("172.17.0.0/16"), pp("192.168.1.0/24")}, "10.90.0.0/24"},
	} {
		got, ok := pickSubnet(pool, 24, c.taken)
		if !ok || got.String() != c.want {
			t.Errorf("pickSubnet(%v) = %v, %v; want %s", c.taken, got, ok, c.want)
		}
	}
	if got, ok := pickSubnet(pool, 24, []netip.Prefix{pp("10.0.0.0/8")}); ok {
		t.Errorf("full pool: got %v", got)
	}
	// The pool itself avoids the defaults of hako, Docker and Podman.
	for _, p := range []string{"10.89.0.0/24", "172.17.0.0/16", "10.88.0.0/16"} {
		if userPool.Overlaps(pp(p)) {
			t.Errorf("the user network pool %s overlaps %s", userPool, p)
		}
	}
}

func TestLookupIn(t *testing.T) {
	defs := []*Def{{Name: "a", ID: "abc123"}, {Name: "b", ID: "abd456"}, {Name: "abd456x", ID: "ffff"}}
	for ref, want := range map[string]string{"a": "a", "abc": "a", "abd456": "b", "ff": "abd456x", "abd456x": "abd456x"} {
		d, err := lookupIn(defs, ref)
		if err != nil || d.Name != want {
			t.Errorf("lookupIn(%q) = %v, %v; want %s", ref, d, err, want)
		}
	}
	for _, ref := range []string{"ab", "zzz", ""} {
		if d, err := lookupIn(defs, ref); err == nil {
			t.Errorf("lookupIn(%q) = %v, want an error", ref, d)
		}
	}
}
