package network

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/internal/atomicfile"
)

// DefaultDefsDir holds the user networks' definitions (hako network
// create). Unlike the entries in Dir, they must survive a reboot, as
// Docker's do; the bridges and rules they describe are made again by the
// first container that joins after one. Host-wide like Dir, because
// bridges and subnets are.
const DefaultDefsDir = "/var/lib/hako-network/networks"

// DefsDir is $HAKO_NETWORK_DEFS (for tests), else DefaultDefsDir.
func DefsDir() string {
	if d := os.Getenv("HAKO_NETWORK_DEFS"); d != "" {
		return d
	}
	return DefaultDefsDir
}

// Predefined are the networks every host has, as Docker lists them.
var Predefined = []string{"bridge", "host", "none"}

// PredefinedID is a stable ID for a predefined network (Docker makes one
// at daemon start; hako has no daemon).
func PredefinedID(name string) string {
	sum := sha256.Sum256([]byte("hako network " + name))
	return hex.EncodeToString(sum[:])
}

// Def is a user network: its own bridge and subnet.
type Def struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"`
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	Bridge  string       `json:"bridge"`
	Created time.Time    `json:"created"`
	// IPv6 (--ipv6): the subnet and its gateway; none without (ipv6.go).
	Subnet6  netip.Prefix `json:"subnet6,omitzero"`
	Gateway6 netip.Addr   `json:"gateway6,omitzero"`
}

// userPool is where user networks' subnets are taken from, a /24 each:
// clear of the default 10.89.0.0/24, Docker's 172.17.0.0/16 and Podman's
// 10.88.0.0/16.
var userPool = netip.MustParsePrefix("10.90.0.0/15")

var netNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// ErrNotFound is a network name or ID that names no network.
var ErrNotFound = errors.New("network not found")

// LoadDefs reads every user network's definition, sorted by name.
func LoadDefs() ([]*Def, error) {
	dir := DefsDir()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading networks: %w", err)
	}
	var defs []*Def
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading network: %w", err)
		}
		d := &Def{}
		if err := json.Unmarshal(b, d); err != nil {
			return nil, fmt.Errorf("reading network %s: %w", e.Name(), err)
		}
		defs = append(defs, d)
	}
	slices.SortFunc(defs, func(a, b *Def) int { return strings.Compare(a.Name, b.Name) })
	return defs, nil
}

// Lookup finds a user network by name, ID or unique ID prefix.
func Lookup(ref string) (*Def, error) {
	defs, err := LoadDefs()
	if err != nil {
		return nil, err
	}
	return lookupIn(defs, ref)
}

func lookupIn(defs []*Def, ref string) (*Def, error) {
	for _, d := range defs {
		if d.Name == ref || d.ID == ref {
			return d, nil
		}
	}
	var found *Def
	for _, d := range defs {
		if ref != "" && strings.HasPrefix(d.ID, ref) {
			if found != nil {
				return nil, fmt.Errorf("network %s is ambiguous", ref)
			}
			found = d
		}
	}
	if found == nil {
		return nil, fmt.Errorf("network %s not found", ref)
	}
	return found, nil
}

// Create defines a user network and sets up its bridge and rules. A zero
// subnet means the first free /24 of hako's pool; a zero gateway the
// subnet's first address. With ipv6 the network has IPv6 too, in subnet6
// (zero: a random unique local /64).
func Create(name string, subnet netip.Prefix, gw netip.Addr, ipv6 bool, subnet6 netip.Prefix) (*Def, error) {
	if !netNameRe().MatchString(name) {
		return nil, fmt.Errorf("invalid network name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	if slices.Contains(Predefined, name) {
		return nil, fmt.Errorf("network with name %s already exists", name)
	}
	if subnet.IsValid() && (!subnet.Addr().Is4() || subnet.Bits() > 30 || subnet.Masked() != subnet) {
		return nil, fmt.Errorf("invalid subnet %s: want an IPv4 network such as 10.90.5.0/24 (at most /30)", subnet)
	}
	if gw.IsValid() && (!subnet.IsValid() || !subnet.Contains(gw) || gw == subnet.Addr() || gw == lastAddr(subnet)) {
		return nil, fmt.Errorf("invalid gateway %s: it must be a host address inside --subnet", gw)
	}
	cfg, err := LoadConfig(ConfigPath())
	if err != nil {
		return nil, err
	}
	var d *Def
	err = withState(Dir(), func(st *state) error {
		defs, err := LoadDefs()
		if err != nil {
			return err
		}
		taken := []netip.Prefix{cfg.Subnet}
		for _, o := range defs {
			if o.Name == name {
				return fmt.Errorf("network with name %s already exists", name)
			}
			taken = append(taken, o.Subnet)
		}
		routes, err := hostRoutes()
		if err != nil {
			return err
		}
		if subnet.IsValid() {
			for _, o := range taken {
				if o.Overlaps(subnet) {
					return fmt.Errorf("invalid subnet %s: it overlaps %s, which another hako network uses (Pool overlaps with other one on this address space)", subnet, o)
				}
			}
			for _, r := range routes {
				if r.dst.Overlaps(subnet) {
					return fmt.Errorf("invalid subnet %s: it overlaps the host's route to %s (dev %s): choose another --subnet", subnet, r.dst, r.dev)
				}
			}
		} else {
			for _, r := range routes {
				taken = append(taken, r.dst)
			}
			var ok bool
			if subnet, ok = pickSubnet(userPool, 24, taken); !ok {
				return fmt.Errorf("no free subnet left in %s: remove unused networks or give --subnet", userPool)
			}
		}
		if !gw.IsValid() {
			gw = subnet.Addr().Next()
		}
		id := newID()
		d = &Def{Name: name, ID: id, Subnet: subnet, Gateway: gw, Bridge: "hako-" + id[:8], Created: time.Now().UTC()}
		if ipv6 {
			if d.Subnet6, d.Gateway6, err = pickSubnet6(subnet6, defs); err != nil {
				return err
			}
		}
		b, err := json.MarshalIndent(d, "", "\t")
		if err != nil {
			return err
		}
		// The definition first: whatever a crash leaves after it, the next
		// container on the network or its rm completes or removes.
		if err := os.MkdirAll(DefsDir(), 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", DefsDir(), err)
		}
		if err := atomicfile.Write(filepath.Join(DefsDir(), id+".json"), append(b, '\n'), 0o600); err != nil {
			return fmt.Errorf("writing network %s: %w", name, err)
		}
		return d.ensure(cfg)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ensure makes the network's bridge and rules, unless they exist (after a
// reboot, they do not). Called under the state lock.
func (d *Def) ensure(cfg Config) error {
	if err := ensureTable(cfg.Subnet); err != nil {
		return err
	}
	if err := ensureBridge(d.bridge(), fmt.Sprintf("choose another --subnet for network %s (hako network rm %s, then create it again)", d.Name, d.Name)); err != nil {
		return err
	}
	if err := ensureBridge6(d); err != nil {
		return err
	}
	return ensureNetRules(d)
}

func (d *Def) bridge() bridgeSpec {
	return bridgeSpec{Name: d.Bridge, Subnet: d.Subnet, Gateway: d.Gateway}
}

// Remove deletes a user network that no running container uses: its
// rules, its bridge, then its definition.
func Remove(ref string) (*Def, error) {
	var d *Def
	err := withState(Dir(), func(st *state) error {
		defs, err := LoadDefs()
		if err != nil {
			return err
		}
		if d, err = lookupIn(defs, ref); err != nil {
			if slices.Contains(Predefined, ref) {
				return fmt.Errorf("%s is a pre-defined network and cannot be removed", ref)
			}
			return err
		}
		prune(st)
		for _, e := range st.Entries {
			if e.Network == d.ID {
				return fmt.Errorf("error while removing network: network %s id %s has active endpoints", d.Name, d.ID)
			}
		}
		if err := errors.Join(deleteNetRules(d.ID), deleteNet6Rules(d.ID)); err != nil {
			return err
		}
		if l, err := netlink.LinkByName(d.Bridge); err == nil {
			if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("deleting bridge %s: %w", d.Bridge, err)
			}
		}
		if err := os.Remove(filepath.Join(DefsDir(), d.ID+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing network %s: %w", d.Name, err)
		}
		return atomicfile.SyncDir(DefsDir())
	})
	return d, err
}

// Members are the entries of the containers on a network now: a user
// network's ID, or "" for the default bridge.
func Members(netID string) ([]Entry, error) {
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
	var out []Entry
	for _, e := range st.Entries {
		if e.Network == netID && !e.Detached {
			if _, err := os.Stat(e.Owner); err == nil {
				out = append(out, *e)
			}
		}
	}
	// sort.Slice, not slices.SortFunc: each struct type slices sorts
	// instantiates ~25 KB of sorting code in the binary.
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Less(out[j].Address) })
	return out, nil
}

// pickSubnet is the first /bits subnet of pool overlapping none of taken.
func pickSubnet(pool netip.Prefix, bits int, taken []netip.Prefix) (netip.Prefix, bool) {
	step := uint32(1) << (32 - bits)
	a4 := pool.Masked().Addr().As4()
	start := uint32(a4[0])<<24 | uint32(a4[1])<<16 | uint32(a4[2])<<8 | uint32(a4[3])
	n := uint32(1) << (bits - pool.Bits())
	for i := range n {
		v := start + i*step
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits)
		if !slices.ContainsFunc(taken, p.Overlaps) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

type hostRoute struct {
	dst netip.Prefix
	dev string
}

// hostRoutes are the main table's routes other than the default one and
// hako's own bridges' (whose subnets the definitions already hold).
func hostRoutes() ([]hostRoute, error) {
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	var out []hostRoute
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		a, _ := netip.AddrFromSlice(r.Dst.IP.To4())
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 {
			continue
		}
		dev := ""
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		if dev == BridgeName || strings.HasPrefix(dev, "hako-") {
			continue
		}
		out = append(out, hostRoute{netip.PrefixFrom(a, ones).Masked(), dev})
	}
	return out, nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
