package runtime

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hako-run/hako/network"
)

// HostGatewayName is --add-host's stand-in for the host's own address.
const HostGatewayName = "host-gateway"

// ExtraHost is one --add-host NAME:IP.
type ExtraHost struct {
	Name string
	IP   string // an address, or HostGatewayName
}

// ParseAddHost parses --add-host NAME:IP (or NAME=IP) as Docker does; IP may
// be an IPv6 address (the part after the first separator) or host-gateway.
func ParseAddHost(s string) (ExtraHost, error) {
	name, ip, ok := strings.Cut(s, "=")
	if !ok {
		name, ip, ok = strings.Cut(s, ":")
	}
	if !ok || name == "" || ip == "" {
		return ExtraHost{}, fmt.Errorf("bad format for add-host: %q (want NAME:IP)", s)
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if ip != HostGatewayName {
		if _, err := netip.ParseAddr(ip); err != nil {
			return ExtraHost{}, fmt.Errorf("invalid IP address in add-host: %q", ip)
		}
	}
	return ExtraHost{Name: name, IP: ip}, nil
}

// ParseDNS checks --dns addresses.
func ParseDNS(servers []string) error {
	for _, s := range servers {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("%s is not an ip address", s)
		}
	}
	return nil
}

// extraHostLines are the /etc/hosts lines of --add-host, host-gateway
// resolved to the host's address on hako0.
func extraHostLines(hosts []ExtraHost) ([]byte, error) {
	var out []byte
	for _, h := range hosts {
		ip := h.IP
		if ip == HostGatewayName {
			gw, err := network.HostGateway()
			if err != nil {
				return nil, err
			}
			ip = gw.String()
		}
		out = fmt.Appendf(out, "%s\t%s\n", ip, h.Name)
	}
	return out, nil
}
