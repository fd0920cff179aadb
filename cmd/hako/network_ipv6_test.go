package main

import "testing"

// TestSplitSubnets: network create's --subnet values, an IPv4 and (with
// --ipv6) an IPv6 one, at most one each.
func TestSplitSubnets(t *testing.T) {
	v4, v6, err := splitSubnets([]string{"fd00:1::/64", "10.9.0.0/24"}, true)
	if err != nil || v4 != "10.9.0.0/24" || v6.String() != "fd00:1::/64" {
		t.Errorf("both: %q %s %v", v4, v6, err)
	}
	for _, c := range []struct {
		subnets []string
		ipv6    bool
	}{
		{[]string{"fd00:1::/64"}, false},
		{[]string{"10.9.0.0/24", "10.9.1.0/24"}, true},
		{[]string{"fd00:1::/64", "fd00:2::/64"}, true},
		{[]string{"fd00:zz::/64"}, true},
	} {
		if _, _, err := splitSubnets(c.subnets, c.ipv6); err == nil {
			t.Errorf("%v (ipv6 %v): no error", c.subnets, c.ipv6)
		}
	}
}
