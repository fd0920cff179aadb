package network

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// IPv6 for user networks (hako network create --ipv6): the network has an
// IPv6 subnet besides its IPv4 one, its bridge the subnet's gateway
// address, and each member an address in it next to its IPv4 one (on eth0
// with a default route via the gateway, on a connected network's
// interface without), which the hosts files name too. Members of one
// network talk over the bridge; outbound IPv6 NAT and IPv6 port
// forwarding are nat6.go's and ports6.go's.

// pickSubnet6 checks an IPv6 subnet asked for (free of the other
// networks'), or makes a random unique local /64 (fdXX:…::/64, RFC 4193),
// and returns it with its gateway, its first address.
func pickSubnet6(subnet netip.Prefix, defs []*Def) (netip.Prefix, netip.Addr, error) {
	if !subnet.IsValid() {
		for {
			var a [16]byte
			a[0] = 0xfd
			rand.Read(a[1:8])
			subnet = netip.PrefixFrom(netip.AddrFrom16(a), 64)
			if !overlaps6(subnet, defs) {
				break
			}
		}
	} else {
		if !subnet.Addr().Is6() || subnet.Addr().Is4In6() || subnet.Bits() > 120 || subnet.Masked() != subnet {
			return netip.Prefix{}, netip.Addr{}, fmt.Errorf("invalid subnet %s: want an IPv6 network such as fd00:1::/64 (at most /120)", subnet)
		}
		if overlaps6(subnet, defs) {
			return netip.Prefix{}, netip.Addr{}, fmt.Errorf("invalid subnet %s: it overlaps another hako network's (Pool overlaps with other one on this address space)", subnet)
		}
	}
	return subnet, subnet.Addr().Next(), nil
}

func overlaps6(p netip.Prefix, defs []*Def) bool {
	for _, d := range defs {
		if d.Subnet6.IsValid() && d.Subnet6.Overlaps(p) {
			return true
		}
	}
	return false
}

// ensureBridge6 gives an IPv6 network's bridge its gateway address (no
// duplicate address detection: the address is usable at once).
func ensureBridge6(d *Def) error {
	if !d.Subnet6.IsValid() {
		return nil
	}
	br, err := netlink.LinkByName(d.Bridge)
	if err != nil {
		return fmt.Errorf("looking up bridge %s: %w", d.Bridge, err)
	}
	if err := setSysctl("/proc/sys/net/ipv6/conf/"+d.Bridge+"/disable_ipv6", "0"); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("network %s has IPv6, which this kernel has disabled (ipv6.disable=1)", d.Name)
		}
		return err
	}
	want := netip.PrefixFrom(d.Gateway6, d.Subnet6.Bits())
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(br, netlink.FAMILY_V6) })
	if err != nil {
		return fmt.Errorf("listing addresses of %s: %w", d.Bridge, err)
	}
	for _, a := range addrs {
		if p, ok := netip.AddrFromSlice(a.IP); ok && p == d.Gateway6 {
			return ensureNet6(d) // nat6.go
		}
	}
	if err := netlink.AddrAdd(br, addr6(want)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("adding %s to %s: %w", want, d.Bridge, err)
	}
	return ensureNet6(d)
}

// assign6 gives e an IPv6 address on d when d has IPv6: the lowest free
// one after the gateway. Called under the state lock.
func assign6(st *state, d *Def, e *Entry) error {
	if d == nil || !d.Subnet6.IsValid() {
		return nil
	}
	used := map[netip.Addr]bool{}
	for _, o := range st.Entries {
		used[o.Address6] = true
	}
	for a, i := d.Gateway6.Next(), 0; d.Subnet6.Contains(a) && i < 1<<16; a, i = a.Next(), i+1 {
		if !used[a] {
			e.Address6, e.Subnet6, e.Gateway6 = a, d.Subnet6, d.Gateway6
			return nil
		}
	}
	return fmt.Errorf("no free IPv6 address left in the subnet %s", d.Subnet6)
}

// setup6 puts e's IPv6 address on iface in its namespace, with the default
// IPv6 route via the gateway when route is set (eth0).
func setup6(e *Entry, iface string, route bool) error {
	if !e.Address6.IsValid() {
		return nil
	}
	ns, err := netns.GetFromPath(e.NetNS)
	if err != nil {
		return fmt.Errorf("opening network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("entering network namespace: %w", err)
	}
	defer h.Close()
	l, err := h.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("looking up %s in the container: %w", iface, err)
	}
	// A namespace's interfaces take IPv6 as the host's "default" says.
	if err := sysctlIn(e.NetNS, "/proc/sys/net/ipv6/conf/"+iface+"/disable_ipv6", "0"); err != nil {
		return err
	}
	p := netip.PrefixFrom(e.Address6, e.Subnet6.Bits())
	if err := h.AddrAdd(l, addr6(p)); err != nil {
		return fmt.Errorf("adding %s to the container's %s: %w", p, iface, err)
	}
	if route {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.IP(e.Gateway6.AsSlice())}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("adding the container's default IPv6 route: %w", err)
		}
	}
	return nil
}

// sysctlIn sets a sysctl of the network namespace at nsPath, from a thread
// that enters it and then ends.
func sysctlIn(nsPath, path, v string) error {
	errc := make(chan error, 1)
	goLockedThread(func() {
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			errc <- fmt.Errorf("entering network namespace: %w", err)
			return
		}
		errc <- setSysctl(path, v)
	})
	return <-errc
}

func addr6(p netip.Prefix) *netlink.Addr {
	return &netlink.Addr{
		IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 128)},
		Flags: unix.IFA_F_NODAD,
	}
}
