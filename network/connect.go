package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A container connected to more user networks (hako network connect) has
// one more entry per network in state.json, keyed by attachKey: the same
// container ID, owner and netns as its first entry, its own address, veth
// and interface (eth1, eth2, …). Its hosts file lists the members of each
// of its networks (writeHostsBlock). Release removes these entries with
// the first one; the veths go with the namespace.

// attachKey is the state key of container id's connection to network netID.
func attachKey(id, netID string) string { return id + "/" + netID }

// AttachRequest connects a running container to one more user network.
type AttachRequest struct {
	ID, Owner      string // the container's
	Network        string // the network's ID
	Name, Hostname string
	Aliases        []string
	IP             netip.Addr // connect --ip; zero: the next free address
}

// Attach gives a running container an interface on another user network:
// an address from that network's pool, a veth pair from its bridge into
// the container's network namespace, and its name in the other members'
// hosts files, all under the state lock. A container with no entry (not
// running) gets nothing: its connection is applied when it starts. One
// already on the network is left as it is. It returns the connection's
// entry (nil when not running).
func Attach(req AttachRequest) (*Entry, error) {
	cfg, err := LoadConfig(ConfigPath())
	if err != nil {
		return nil, err
	}
	var out *Entry
	err = withState(Dir(), func(st *state) error {
		prune(st)
		first := st.Entries[req.ID]
		if first == nil || !isNetNS(first.NetNS) {
			return nil // not running, or its start has not made its namespace yet: the start connects it
		}
		if e := st.Entries[attachKey(req.ID, req.Network)]; e != nil {
			out = e
			return nil
		}
		if !first.Detached && (first.Network == req.Network || (first.Network == "" && req.Network == BridgeID())) {
			out = first
			return nil
		}
		d, netID, err := attachTarget(cfg, req.Network) // connectbridge.go
		if err != nil {
			return err
		}
		if err := sweepLinks(st); err != nil {
			return err
		}
		addr, err := pickAddress(st, d, req.IP)
		if err != nil {
			return err
		}
		e := &Entry{}
		if err := assign6(st, d, e); err != nil {
			return err
		}
		iface, err := freeIface(first.NetNS)
		if err != nil {
			return err
		}
		*e = Entry{
			Address6: e.Address6, Subnet6: e.Subnet6, Gateway6: e.Gateway6,
			ID: req.ID, Owner: req.Owner, Address: addr, HostLink: attachLink(req.ID, d.ID),
			NetNS: first.NetNS, BridgeNet: d.Subnet, Network: netID, Bridge: d.Bridge,
			Name: req.Name, Hostname: req.Hostname, Aliases: req.Aliases, Iface: iface,
		}
		err = addVeth(e)
		if err == nil {
			err = setup6(e, e.Iface, false)
		}
		if err != nil {
			if l, lerr := netlink.LinkByName(e.HostLink); lerr == nil {
				netlink.LinkDel(l)
			}
			return err
		}
		if !req.IP.IsValid() {
			if st.LastIn == nil {
				st.LastIn = map[string]netip.Addr{}
			}
			st.LastIn[d.ID] = addr
		}
		st.Entries[attachKey(req.ID, d.ID)] = e
		syncHosts(st, netID)
		out = e
		return nil
	})
	return out, err
}

// Detach removes a running container's connection to the user network
// netID: its veth pair (the interface leaves the container), its entry,
// its name from the other members' hosts files and theirs from its own.
// Not connected (or not running) is fine.
func Detach(id, netID string) error {
	return withState(Dir(), func(st *state) error {
		key := attachKey(id, netID)
		e := st.Entries[key]
		if e == nil {
			return nil
		}
		if l, err := netlink.LinkByName(e.HostLink); err == nil {
			if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("deleting %s: %w", e.HostLink, err)
			}
		}
		delete(st.Entries, key)
		syncHosts(st, netID)
		writeHostsBlock(st, id)
		return nil
	})
}

// Attached is the entry of container id's connection to network netID
// while it runs, or nil. Read without the lock (state.json is replaced
// atomically), as Members.
func Attached(id, netID string) (*Entry, error) {
	b, err := os.ReadFile(filepath.Join(Dir(), "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading network state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("reading network state: %w", err)
	}
	return st.Entries[attachKey(id, netID)], nil
}

// releaseAttached drops the entries of container id's connections and
// returns their networks. Their veths go with its namespace (or sweepLinks).
func releaseAttached(st *state, id string) []string {
	var nets []string
	for k, e := range st.Entries {
		if strings.HasPrefix(k, id+"/") {
			delete(st.Entries, k)
			nets = append(nets, e.Network)
		}
	}
	return nets
}

// attachLink is the host side's name of a connection's veth: "hako", part
// of the container's ID, "-", part of the network's (15 bytes, the most a
// link name has; no first veth's name has a "-").
func attachLink(id, netID string) string {
	return "hako" + id[:6] + "-" + netID[:4]
}

// pickAddress is ip when it is a free host address of d's subnet, or, with
// no ip, the next free one. Called under the state lock.
func pickAddress(st *state, d *Def, ip netip.Addr) (netip.Addr, error) {
	used := map[netip.Addr]bool{}
	for _, o := range st.Entries {
		used[o.Address] = true
	}
	if !ip.IsValid() {
		a, ok := nextFree(d.Subnet, d.Gateway, st.LastIn[d.ID], used)
		if !ok {
			return netip.Addr{}, fmt.Errorf("no free address left in the subnet %s", d.Subnet)
		}
		return a, nil
	}
	switch {
	case !d.Subnet.Contains(ip):
		return netip.Addr{}, fmt.Errorf("invalid address %s: it is not in network %s's subnet %s", ip, d.Name, d.Subnet)
	case ip == d.Subnet.Masked().Addr() || ip == lastAddr(d.Subnet) || ip == d.Gateway:
		return netip.Addr{}, fmt.Errorf("invalid address %s: it is the network, broadcast or gateway address of %s", ip, d.Subnet)
	case used[ip]:
		return netip.Addr{}, fmt.Errorf("address %s is already in use on network %s", ip, d.Name)
	}
	return ip, nil
}

// freeIface is the first of eth1, eth2, … not in the namespace at nsPath.
func freeIface(nsPath string) (string, error) {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return "", fmt.Errorf("opening network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return "", fmt.Errorf("entering network namespace: %w", err)
	}
	defer h.Close()
	links, err := retryDump(h.LinkList)
	if err != nil {
		return "", fmt.Errorf("listing the container's links: %w", err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	for i := 1; ; i++ {
		if n := "eth" + strconv.Itoa(i); !slices.Contains(names, n) {
			return n, nil
		}
	}
}

// addVeth connects e's namespace to its bridge: host side e.HostLink on
// the bridge, e.Iface inside with e's address and no route but its
// subnet's (the default route stays on eth0, as in Docker).
func addVeth(e *Entry) error {
	br, err := netlink.LinkByName(e.Bridge)
	if err != nil {
		return fmt.Errorf("looking up bridge %s: %w", e.Bridge, err)
	}
	ns, err := netns.GetFromPath(e.NetNS)
	if err != nil {
		return fmt.Errorf("opening network namespace: %w", err)
	}
	defer ns.Close()
	la := netlink.NewLinkAttrs()
	la.Name = e.HostLink
	la.MasterIndex = br.Attrs().Index
	la.MTU = br.Attrs().MTU
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: e.Iface, PeerNamespace: netlink.NsFd(ns)}); err != nil {
		return fmt.Errorf("creating veth pair %s: %w", e.HostLink, err)
	}
	host, err := netlink.LinkByName(e.HostLink)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", e.HostLink, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("bringing up %s: %w", e.HostLink, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("entering network namespace: %w", err)
	}
	defer h.Close()
	l, err := h.LinkByName(e.Iface)
	if err != nil {
		return fmt.Errorf("looking up %s in the container: %w", e.Iface, err)
	}
	addr := netip.PrefixFrom(e.Address, e.BridgeNet.Bits())
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipnet(addr)}); err != nil {
		return fmt.Errorf("adding %s to the container's %s: %w", addr, e.Iface, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bringing up the container's %s: %w", e.Iface, err)
	}
	return nil
}

// isNetNS reports whether path is a mounted namespace (Setup records the
// entry before it makes and mounts the namespace).
func isNetNS(path string) bool {
	var fs unix.Statfs_t
	return unix.Statfs(path, &fs) == nil && fs.Type == unix.NSFS_MAGIC
}
