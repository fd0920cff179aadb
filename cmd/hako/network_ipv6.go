package main

import (
	"net/netip"
	"strings"
)

// splitSubnets sorts network create's --subnet values: the IPv4 one as
// given (create parses it), and the IPv6 one, which needs --ipv6.
func splitSubnets(subnets []string, ipv6 bool) (subnet4 string, subnet6 netip.Prefix, err error) {
	for _, s := range subnets {
		if !strings.Contains(s, ":") {
			if subnet4 != "" {
				return "", netip.Prefix{}, usageError("more than one IPv4 --subnet: hako networks have one")
			}
			subnet4 = s
			continue
		}
		if !ipv6 {
			return "", netip.Prefix{}, usageError("IPv6 --subnet %s needs --ipv6", s)
		}
		if subnet6.IsValid() {
			return "", netip.Prefix{}, usageError("more than one IPv6 --subnet: hako networks have one")
		}
		if subnet6, err = netip.ParsePrefix(s); err != nil {
			return "", netip.Prefix{}, usageError("invalid --subnet %q: want an IPv6 network such as fd00:1::/64", s)
		}
	}
	return subnet4, subnet6, nil
}
