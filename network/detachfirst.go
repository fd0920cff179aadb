package network

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// hako network disconnect NET CTR for the network a container was created
// on (Docker allows it): its first entry, which owns the namespace, stays
// but is marked Detached and names no network, address or link any more;
// its veth (eth0) and port rules go, its address is free again, and the
// other members forget it. The namespace, its loopback and the
// container's other connections stay. Release removes it as any entry.

// DetachFirst disconnects running container id from the network it was
// created on. Not running, or already detached, is fine.
func DetachFirst(id string) error {
	return withState(Dir(), func(st *state) error {
		e := st.Entries[id]
		if e == nil || e.Detached {
			return nil
		}
		if err := errors.Join(deletePortRules(id), deletePortRules6(id)); err != nil {
			return err
		}
		if l, err := netlink.LinkByName(e.HostLink); err == nil {
			if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("deleting %s: %w", e.HostLink, err)
			}
		}
		netID := e.Network
		e.Detached, e.Network, e.Bridge, e.HostLink, e.Ports = true, "", "", "", nil
		e.Address, e.Address6, e.Subnet6, e.Gateway6 = netip.Addr{}, netip.Addr{}, netip.Prefix{}, netip.Addr{}
		if netID != "" {
			syncHosts(st, netID)
		}
		writeHostsBlock(st, id)
		return nil
	})
}
