package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/internal/atomicfile"
)

// DefaultDir holds the host-wide network state: lock, state.json and
// netns/<id>. On tmpfs, so it dies with a reboot, as do the links, rules
// and namespaces it describes.
const DefaultDir = "/run/hako-network"

// Dir is the state directory: $HAKO_NETWORK_DIR (for tests that give hako
// a network namespace of their own), else DefaultDir.
func Dir() string {
	if d := os.Getenv("HAKO_NETWORK_DIR"); d != "" {
		return d
	}
	return DefaultDir
}

// Entry is one container's allocation in state.json. It names everything
// Setup creates, and is written before any of it is, so Release can remove
// what a killed hako left.
type Entry struct {
	ID        string        `json:"id"`
	Owner     string        `json:"owner"` // the container's directory: once it is gone, so is the entry's reason to be
	Address   netip.Addr    `json:"address"`
	HostLink  string        `json:"host_link"`
	NetNS     string        `json:"netns"`
	Ports     []PortMapping `json:"ports,omitempty"`
	BridgeNet netip.Prefix  `json:"subnet"`
	// A user network's: its ID and bridge (none: hako0), and the names
	// its other members find this container by.
	Network  string `json:"network,omitempty"`
	Bridge   string `json:"bridge,omitempty"`
	Name     string `json:"name,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	// Aliases (--network-alias, connect --alias) resolve to it too; Iface
	// is its interface in the container when not eth0 (connect.go).
	Aliases []string `json:"aliases,omitempty"`
	Iface   string   `json:"iface,omitempty"`
	// An IPv6 network's address for it, with the subnet and gateway (ipv6.go).
	Address6 netip.Addr   `json:"address6,omitzero"`
	Subnet6  netip.Prefix `json:"subnet6,omitzero"`
	Gateway6 netip.Addr   `json:"gateway6,omitzero"`
	// Detached: the container was disconnected from the network it was
	// created on; the entry holds its namespace only (detachfirst.go).
	Detached bool `json:"detached,omitempty"`
}

// bridge is the bridge the entry's veth is on.
func (e *Entry) bridge() string {
	if e.Bridge == "" {
		return BridgeName
	}
	return e.Bridge
}

type state struct {
	Entries map[string]*Entry `json:"entries"`
	// Last is the address handed out last: the next one is taken after
	// it (as Docker does), so an address just released, whose namespace
	// the kernel may still be dismantling, is not reused at once.
	Last netip.Addr `json:"last,omitzero"`
	// LastIn is the same for each user network, by ID.
	LastIn map[string]netip.Addr `json:"last_in,omitempty"`
}

// Request asks Setup for a container's network.
type Request struct {
	ID    string        // the container's ID (64 hex digits)
	Owner string        // the container's directory; the entry is stale once it is gone
	Ports []PortMapping // -p and -P
	// Network is a user network's ID; none means the default hako0. Name
	// and Hostname are what its other members resolve to the container.
	Network, Name, Hostname string
	Aliases                 []string // --network-alias
	// Debugf, when set, is told each step with its values and time
	// (hako --debug; debug.go).
	Debugf func(format string, args ...any)
}

// Endpoint is a container's network while it exists. Close tears it down.
type Endpoint struct {
	Entry
	Gateway   netip.Addr
	listeners []io.Closer // the reserved host ports
}

// Setup gives a container a network namespace on hako0: it reserves the
// host ports, allocates an address, creates the namespace, the veth pair
// and the port forwarding rules. On failure nothing is left.
func Setup(req Request) (_ *Endpoint, err error) {
	if len(req.ID) < 11 {
		return nil, fmt.Errorf("network setup: bad container ID %q", req.ID)
	}
	cfg, err := LoadConfig(ConfigPath())
	if err != nil {
		return nil, err
	}
	ep := &Endpoint{}
	defer func() {
		if err != nil {
			ep.closeListeners()
		}
	}()
	step := newSteps(req.Debugf)
	if ep.Ports, ep.listeners, err = reservePorts(req.Ports); err != nil {
		return nil, err
	}
	step.ports(ep.Ports)
	dir := Dir()
	ep.Entry = Entry{
		ID: req.ID, Owner: req.Owner, Ports: ep.Ports,
		HostLink: "hako" + req.ID[:11],
		NetNS:    filepath.Join(dir, "netns", req.ID),
		Network:  req.Network, Name: req.Name, Hostname: req.Hostname, Aliases: req.Aliases,
	}
	if ep.Gateway, err = allocate(dir, cfg, &ep.Entry); err != nil {
		return nil, err
	}
	step.done("address %s/%d allocated on bridge %s (gateway %s), bridge and NAT rules in place", ep.Address, ep.BridgeNet.Bits(), ep.bridge(), ep.Gateway)
	defer func() {
		if err != nil {
			Release(req.ID)
		}
	}()
	if err := createNetNS(ep.NetNS); err != nil {
		return nil, err
	}
	step.done("new network namespace (unshare), kept by a bind mount at %s", ep.NetNS)
	if err := createVeth(ep.bridge(), ep.HostLink, ep.NetNS, netip.PrefixFrom(ep.Address, ep.BridgeNet.Bits()), ep.Gateway); err != nil {
		return nil, err
	}
	step.done("veth pair: %s on the host, a port of bridge %s <-> eth0 in the namespace, %s/%d, default route via %s", ep.HostLink, ep.bridge(), ep.Address, ep.BridgeNet.Bits(), ep.Gateway)
	if err := setup6(&ep.Entry, "eth0", true); err != nil {
		return nil, err
	}
	if ep.Address6.IsValid() {
		step.done("IPv6 %s on eth0", ep.Address6)
	}
	if err := ep.publish6(); err != nil { // ports6.go
		return nil, err
	}
	if err := addPortRules(ep.ID, ep.Address, ports4(ep.Ports)); err != nil {
		return nil, err
	}
	step.rules(ep.ID, ep.Address, ports4(ep.Ports))
	return ep, nil
}

// Close tears the endpoint down: rules, links, namespace, address, ports.
func (ep *Endpoint) Close() error {
	err := Release(ep.ID)
	ep.closeListeners()
	return err
}

func (ep *Endpoint) closeListeners() {
	for _, l := range ep.listeners {
		l.Close()
	}
	ep.listeners = nil
}

// allocate takes the state lock, prunes stale entries, makes sure the
// bridge and table exist, and records e with the next free address of its
// network; it returns the network's gateway.
func allocate(dir string, cfg Config, e *Entry) (gw netip.Addr, err error) {
	err = withState(dir, func(st *state) error {
		prune(st)
		bs := cfg.bridge()
		last := st.Last
		var def *Def // a user network's
		if e.Network == "" {
			if err := ensureBridge(bs, fmt.Sprintf("set another \"bridge-subnet\" in %s", ConfigPath())); err != nil {
				return err
			}
			if err := ensureTable(cfg.Subnet); err != nil {
				return err
			}
		} else {
			defs, err := LoadDefs()
			if err != nil {
				return err
			}
			d, err := lookupIn(defs, e.Network)
			if err != nil {
				return err
			}
			if err := d.ensure(cfg); err != nil {
				return err
			}
			bs, last, def = d.bridge(), st.LastIn[d.ID], d
		}
		if err := sweepLinks(st); err != nil {
			return err
		}
		used := map[netip.Addr]bool{}
		for _, o := range st.Entries {
			used[o.Address] = true
		}
		a, ok := nextFree(bs.Subnet, bs.Gateway, last, used)
		if !ok {
			return fmt.Errorf("no free address left in the subnet %s", bs.Subnet)
		}
		e.Address, e.BridgeNet, e.Bridge, gw = a, bs.Subnet, bs.Name, bs.Gateway
		if err := assign6(st, def, e); err != nil {
			return err
		}
		if e.Network == "" {
			st.Last = a
		} else {
			if st.LastIn == nil {
				st.LastIn = map[string]netip.Addr{}
			}
			st.LastIn[e.Network] = a
		}
		st.Entries[e.ID] = e
		return nil
	})
	return gw, err
}

// Release removes a container's network, as named in its state entry:
// port rules, veth pair, namespace, then the entry. An unknown ID is fine.
func Release(id string) error {
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "state.json")); errors.Is(err, fs.ErrNotExist) {
		return nil // no container ever had a network here
	}
	return withState(dir, func(st *state) error {
		e := st.Entries[id]
		if e == nil {
			for _, n := range releaseAttached(st, id) { // none, unless a crash left some
				syncHosts(st, n)
			}
			return nil
		}
		if err := teardown(e); err != nil {
			return err
		}
		delete(st.Entries, id)
		nets := releaseAttached(st, id) // its connections to other networks (connect.go)
		for _, n := range append(nets, e.Network) {
			if n != "" {
				syncHosts(st, n)
			}
		}
		if len(st.Entries) == 0 {
			return firewallIdle() // iptables: the tables as before hako
		}
		return nil
	})
}

// teardown removes what e names; each step is a no-op when already done.
// The veth pair is not deleted here: that waits for an RCU grace period
// (20-40 ms). With its namespace unmounted and its processes gone, the
// kernel destroys the namespace and the pair with it in the background;
// sweepLinks deletes any pair still there at the next Setup (a namespace
// someone else still holds).
func teardown(e *Entry) error {
	return errors.Join(deletePortRules(e.ID), deletePortRules6(e.ID), removeNetNS(e.NetNS))
}

// nextFree is the first address of subnet after last that is not used,
// wrapping around, skipping the network, gateway and broadcast addresses.
func nextFree(subnet netip.Prefix, gw, last netip.Addr, used map[netip.Addr]bool) (netip.Addr, bool) {
	first := subnet.Masked().Addr().Next()
	if first == gw {
		first = first.Next() // the usual gateway, first
	}
	bcast := lastAddr(subnet)
	a := first
	if subnet.Contains(last) && last.Compare(first) >= 0 && last.Less(bcast) {
		a = last.Next()
	}
	for range 1 << (32 - subnet.Bits()) {
		if a == bcast {
			a = first
		}
		if !used[a] && a != gw {
			return a, true
		}
		a = a.Next()
	}
	return netip.Addr{}, false
}

// prune releases the entries whose owner directory is gone (a hako killed
// between removing a container and releasing its network).
func prune(st *state) {
	changed := map[string]bool{}
	for id, e := range st.Entries {
		if _, err := os.Stat(e.Owner); errors.Is(err, fs.ErrNotExist) {
			if teardown(e) == nil {
				delete(st.Entries, id)
				changed[e.Network] = true
			}
		}
	}
	for n := range changed {
		if n != "" {
			syncHosts(st, n) // the other members forget it
		}
	}
}

// withState runs f on state.json under the state lock and writes it back
// (atomically) when f succeeds.
func withState(dir string, f func(*state) error) error {
	return lockedState(dir, true, f)
}

// lockedState is withState, writing state.json back only if write is set
// (for f that reads it only: no fsync).
func lockedState(dir string, write bool, f func(*state) error) error {
	if err := os.MkdirAll(filepath.Join(dir, "netns"), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	unlock, err := atomicfile.Lock(filepath.Join(dir, "lock"), true)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(dir, "state.json")
	st := &state{Entries: map[string]*Entry{}}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading network state: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(b, st); err != nil {
			return fmt.Errorf("reading network state %s: %w", path, err)
		}
		if st.Entries == nil {
			st.Entries = map[string]*Entry{}
		}
	}
	ferr := f(st)
	if !write {
		return ferr
	}
	b, err = json.MarshalIndent(st, "", "\t")
	if err == nil {
		err = atomicfile.Write(path, append(b, '\n'), 0o600)
	}
	if err != nil {
		return errors.Join(ferr, fmt.Errorf("writing network state: %w", err))
	}
	return ferr
}

// reservePorts binds every host port, choosing free ones where none or a
// range was given; the listeners hold them until the container ends.
func reservePorts(ports []PortMapping) ([]PortMapping, []io.Closer, error) {
	var out []PortMapping
	var ls []io.Closer
	for _, p := range ports {
		l, port, err := reserve(p)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, nil, err
		}
		p.HostPort, p.HostPortEnd = port, 0
		out = append(out, p)
		ls = append(ls, l)
	}
	return out, ls, nil
}

func reserve(p PortMapping) (io.Closer, uint16, error) {
	first, last := p.HostPort, p.HostPortEnd
	if last == 0 {
		last = first
	}
	var err error
	for port := int(first); port <= int(last); port++ {
		var l io.Closer
		var got net.Addr
		if p.Proto != "udp" && p.is6() {
			l, got, err = bind6(p.HostIP, uint16(port)) // ports6.go
		} else if p.Proto == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp"+p.family(), p.hostAddr(uint16(port))); err == nil {
				l, got = c, c.LocalAddr()
			}
		} else {
			var c net.Listener
			if c, err = net.Listen("tcp"+p.family(), p.hostAddr(uint16(port))); err == nil {
				l, got = c, c.Addr()
			}
		}
		if err == nil {
			ap, _ := netip.ParseAddrPort(got.String())
			return l, ap.Port(), nil
		}
	}
	if errors.Is(err, unix.EADDRINUSE) {
		return nil, 0, fmt.Errorf("Bind for %s failed: port is already allocated", p.hostAddr(first))
	}
	return nil, 0, fmt.Errorf("reserving host port %s/%s: %w", p.hostAddr(first), p.Proto, err)
}

// lastAddr is the subnet's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(a)
}

// Files returns duplicates of the sockets that reserve the endpoint's host
// ports, so another process (the container's monitor) can hold them for
// the container's life after this one exits. The caller closes them.
func (ep *Endpoint) Files() ([]*os.File, error) {
	var files []*os.File
	for _, l := range ep.listeners {
		var f *os.File
		var err error
		switch l := l.(type) {
		case *net.TCPListener:
			f, err = l.File()
		case *net.UDPConn:
			f, err = l.File()
		case *os.File:
			f, err = dupFile(l)
		default:
			err = fmt.Errorf("unexpected port reservation %T", l)
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("handing over the reserved ports: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}
