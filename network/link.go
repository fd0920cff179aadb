package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// bridgeSpec is a bridge hako owns: hako0 or a user network's.
type bridgeSpec struct {
	Name    string
	Subnet  netip.Prefix
	Gateway netip.Addr
}

// bridge is hako0 as configured.
func (c Config) bridge() bridgeSpec {
	return bridgeSpec{Name: BridgeName, Subnet: c.Subnet, Gateway: c.gateway()}
}

// ensureBridge creates the bridge with its gateway address, unless it
// exists, after checking that no other route of the host covers the
// subnet (hint says what to do then). It sets the forwarding sysctls
// every time (cheap, and someone may have reset them).
func ensureBridge(bs bridgeSpec, hint string) error {
	br, err := netlink.LinkByName(bs.Name)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		if err := checkClash(bs.Subnet, hint); err != nil {
			return err
		}
		la := netlink.NewLinkAttrs()
		la.Name = bs.Name
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("creating bridge %s: %w", bs.Name, err)
		}
		if br, err = netlink.LinkByName(bs.Name); err != nil {
			return fmt.Errorf("creating bridge %s: %w", bs.Name, err)
		}
	case err != nil:
		return fmt.Errorf("looking up bridge %s: %w", bs.Name, err)
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(br, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("listing addresses of %s: %w", bs.Name, err)
	}
	want := netip.PrefixFrom(bs.Gateway, bs.Subnet.Bits())
	found := false
	for _, a := range addrs {
		p, _ := netip.AddrFromSlice(a.IP.To4())
		ones, _ := a.Mask.Size()
		if netip.PrefixFrom(p, ones) == want {
			found = true
		} else {
			return fmt.Errorf("bridge %s has address %s/%d, not %s as configured: remove it (ip link del %s) once no container uses it", bs.Name, p, ones, want, bs.Name)
		}
	}
	if !found {
		if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: ipnet(want)}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("adding %s to %s: %w", want, bs.Name, err)
		}
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("bringing up %s: %w", bs.Name, err)
	}
	// Forwarding for the containers' traffic; route_localnet lets the
	// host's own connections to 127.0.0.1:PORT be DNATed out of the bridge.
	for _, s := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/conf/" + bs.Name + "/route_localnet"} {
		if err := setSysctl(s, "1"); err != nil {
			return err
		}
	}
	return nil
}

// checkClash fails when a route of the host (not one of hako's bridges)
// overlaps subnet.
func checkClash(subnet netip.Prefix, hint string) error {
	routes, err := hostRoutes()
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.dst.Overlaps(subnet) {
			return fmt.Errorf("the bridge subnet %s overlaps the host's route to %s (dev %s): %s", subnet, r.dst, r.dev, hint)
		}
	}
	return nil
}

func setSysctl(path, v string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == v+"\n" {
		return nil
	}
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		return fmt.Errorf("setting %s: %w", path, err)
	}
	return nil
}

// createNetNS makes a new network namespace and bind-mounts it at path,
// on a thread that ends afterwards (it is left in the new namespace).
func createNetNS(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("creating network namespace file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	goLockedThread(func() {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("creating network namespace: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", unix.Getpid(), unix.Gettid())
		if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("mounting network namespace at %s: %w", path, err)
			return
		}
		errc <- nil
	})
	return <-errc
}

// removeNetNS unmounts and deletes a namespace file made by createNetNS.
func removeNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing network namespace %s: %w", path, err)
	}
	return nil
}

// goLockedThread runs f in a new goroutine locked to an OS thread that ends
// with it, for work that changes the thread's namespaces. Never on the main
// thread, which Go cannot end: then f runs on yet another.
func goLockedThread(f func()) {
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with f
		if unix.Gettid() == unix.Getpid() {
			done := make(chan struct{})
			goLockedThread(func() {
				defer close(done)
				f()
			})
			<-done
			runtime.UnlockOSThread()
			return
		}
		f()
	}()
}

// createVeth connects the namespace at nsPath to the bridge: host side hostName
// on the bridge, eth0 inside with addr, the default route via gw, and lo up.
func createVeth(bridge, hostName, nsPath string, addr netip.Prefix, gw netip.Addr) error {
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("looking up bridge %s: %w", bridge, err)
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("opening network namespace: %w", err)
	}
	defer ns.Close()
	la := netlink.NewLinkAttrs()
	la.Name = hostName
	la.MasterIndex = br.Attrs().Index
	la.MTU = br.Attrs().MTU
	veth := &netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(ns)}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("creating veth pair %s: %w", hostName, err)
	}
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", hostName, err)
	}
	// Hairpin: a container's connection to its own published port comes
	// back out of the bridge port it came in by.
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("setting hairpin mode on %s: %w", hostName, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("bringing up %s: %w", hostName, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("entering network namespace: %w", err)
	}
	defer h.Close()
	for _, name := range []string{"lo", "eth0"} {
		l, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("looking up %s in the container: %w", name, err)
		}
		if name == "eth0" {
			if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipnet(addr)}); err != nil {
				return fmt.Errorf("adding %s to the container's eth0: %w", addr, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("bringing up the container's %s: %w", name, err)
		}
		if name == "eth0" {
			r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.IP(gw.AsSlice())}
			if err := h.RouteAdd(r); err != nil {
				return fmt.Errorf("adding the container's default route: %w", err)
			}
		}
	}
	return nil
}

// sweepLinks deletes the veths on hako's bridges that no entry names:
// pairs whose namespace outlived its container (someone held it open).
// Every pair of a live entry is named by it before it is created, so none
// is taken.
func sweepLinks(st *state) error {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	bridges := map[int]bool{}
	for _, l := range links {
		if n := l.Attrs().Name; l.Type() == "bridge" && (n == BridgeName || strings.HasPrefix(n, "hako-")) {
			bridges[l.Attrs().Index] = true
		}
	}
	named := map[string]bool{}
	for _, e := range st.Entries {
		named[e.HostLink] = true
	}
	for _, l := range links {
		a := l.Attrs()
		if !bridges[a.MasterIndex] || l.Type() != "veth" || !strings.HasPrefix(a.Name, "hako") || named[a.Name] {
			continue
		}
		if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("deleting the stale link %s: %w", a.Name, err)
		}
	}
	return nil
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}
}
