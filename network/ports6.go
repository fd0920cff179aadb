package network

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// IPv6 port publishing. On a network with IPv6, -p without a host address
// publishes on both families, as Docker does: each 0.0.0.0 mapping gets a
// twin on [::] with the same host port, reserved the same way and
// forwarded by the ip6 table (nat6.go) to the container's IPv6 address.
// -p [::]:8080:80 or -p [ADDR6]:8080:80 publishes on IPv6 only. The
// kernel cannot forward connections to [::1] (IPv6 has no route_localnet:
// a packet from ::1 never leaves lo) and hako has no userland proxy, as
// Docker uses there: the ip6 table does not DNAT [::1], and a TCP
// connection to [::1]:PORT is refused at once (bind6); use 127.0.0.1, or
// one of the host's IPv6 addresses, which are forwarded.

// is6 reports whether the mapping is published on IPv6.
func (m PortMapping) is6() bool { return m.HostIP.IsValid() && m.HostIP.Is6() }

// family is "4" or "6", for net.Listen's network.
func (m PortMapping) family() string {
	if m.is6() {
		return "6"
	}
	return "4"
}

// ports4 are the mappings published on IPv4.
func ports4(ports []PortMapping) []PortMapping {
	var out []PortMapping
	for _, p := range ports {
		if !p.is6() {
			out = append(out, p)
		}
	}
	return out
}

// publish6 adds the [::] twins of the endpoint's mappings on an IPv6
// network and their forwarding rules; an IPv6 mapping on a network
// without IPv6 is refused. Called by Setup after allocate.
func (ep *Endpoint) publish6() error {
	ok6, err := nat6()
	if err != nil {
		return err
	}
	if t, err := ipt6(); err != nil {
		return err
	} else if t != nil {
		ok6 = true // ip6tables (iptables6.go)
	}
	var out []PortMapping
	for _, p := range ep.Ports {
		if p.is6() && (!ep.Address6.IsValid() || !ok6) {
			why := "a network with IPv6 (hako network create --ipv6)"
			if !ok6 {
				why = "nftables (hako's iptables fallback forwards IPv4 only)"
			}
			return fmt.Errorf("publishing on %s needs %s", p.Host(), why)
		}
		out = append(out, p)
		if !ep.Address6.IsValid() || !ok6 || p.HostIP.IsValid() {
			continue
		}
		twin := p
		twin.HostIP = netip.IPv6Unspecified()
		l, _, err := reserve(twin)
		if err != nil {
			return err
		}
		ep.listeners = append(ep.listeners, l)
		out = append(out, twin)
	}
	ep.Ports = out
	if !ep.Address6.IsValid() || !ok6 {
		return nil
	}
	return addPortRules6(ep.ID, ep.Address6, ep.Ports)
}

// bind6 reserves a TCP port on an IPv6 address with a socket that is bound
// but does not listen: connections from other hosts are DNATed before
// they reach it, and one to [::1], which is not forwarded, is refused at
// once instead of waiting in a backlog nobody accepts. Without
// SO_REUSEADDR no other socket can bind the port.
func bind6(ip netip.Addr, port uint16) (*os.File, net.Addr, error) {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, nil, fmt.Errorf("creating a socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "[::]:port")
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("setting IPV6_V6ONLY: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet6{Port: int(port), Addr: ip.As16()}); err != nil {
		f.Close()
		return nil, nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading the reserved port: %w", err)
	}
	a := sa.(*unix.SockaddrInet6)
	return f, &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}, nil
}

// dupFile duplicates f, for Files.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating a port reservation: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
