package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/network"
)

// A container's connections to more user networks (hako network connect)
// are kept in networks.json in its directory, apart from its record,
// which only the holder of its lock (its monitor) writes: connect and
// disconnect change them while it runs. networks.lock serialises them,
// and start reads them under it once the container's first network is up,
// so a connection made while it starts is applied either by connect or by
// start (network.Attach does nothing twice).
const (
	connectionsFile = "networks.json"
	connectionsLock = "networks.lock"
)

// Connection is one network a container was connected to after its creation.
type Connection struct {
	NetworkID   string   `json:"network_id"`
	NetworkName string   `json:"network_name"`
	Aliases     []string `json:"aliases,omitempty"`
	IP          string   `json:"ip,omitempty"` // connect --ip; "": any free address
	// Disconnected marks the network it was created on as disconnected
	// (disconnectfirst.go), not a connection.
	Disconnected bool `json:"disconnected,omitempty"`
}

// Docker's words for the network modes that take no other network.
var (
	errConnectShared = errors.New("container sharing network namespace with another container or host cannot be connected to any other network")
	errConnectHost   = errors.New("container cannot be disconnected from host network or connected to host network")
	errConnectNone   = errors.New("container cannot be connected to multiple networks with one of the networks in private (none) mode")
)

// Connect connects container ref to the user network netRef (hako
// network connect): recorded, and applied at once when it runs, else at
// its next start. ip, when valid, is the address it asks for there.
func Connect(root, ref, netRef string, aliases []string, ip netip.Addr) error {
	switch netRef {
	case "host":
		return errConnectHost
	case "none":
		return errConnectNone
	}
	d, err := network.LookupAny(netRef) // the default bridge too
	if err != nil {
		return err
	}
	if d.ID == network.BridgeID() && len(aliases) > 0 {
		return errors.New("network-scoped alias is supported only for containers in user defined networks")
	}
	if d.ID == network.BridgeID() && ip.IsValid() {
		return errors.New("user specified IP address is supported on user defined networks only")
	}
	info, err := FindContainer(root, ref)
	if err != nil {
		return err
	}
	if err := connectable(info); err != nil {
		return err
	}
	exists := fmt.Errorf("endpoint with name %s already exists in network %s", info.Name, d.Name)
	if ip.IsValid() && !d.Subnet.Contains(ip) {
		return fmt.Errorf("invalid address %s: it is not in network %s's subnet %s", ip, d.Name, d.Subnet)
	}
	unlock, err := atomicfile.Lock(filepath.Join(info.Dir, connectionsLock), true)
	if err != nil {
		return err
	}
	defer unlock()
	cs, err := readConnections(info.Dir)
	if err != nil {
		return err
	}
	orig := cs
	if creationNetwork(info, d) { // back on it after a disconnect, as a connection
		i := markerIndex(cs)
		if i < 0 {
			return exists
		}
		cs = slices.Delete(slices.Clone(cs), i, i+1)
	}
	if slices.ContainsFunc(cs, func(c Connection) bool { return c.NetworkID == d.ID }) {
		return exists
	}
	cn := Connection{NetworkID: d.ID, NetworkName: d.Name, Aliases: aliases}
	if ip.IsValid() {
		cn.IP = ip.String()
	}
	if err := writeJSON(filepath.Join(info.Dir, connectionsFile), append(cs, cn)); err != nil {
		return err
	}
	hostname := ""
	if info.Spec != nil {
		hostname = info.Spec.Hostname
	}
	// Always asked: it may have started since FindContainer looked.
	if _, err := network.Attach(attachRequest(info.ID, info.Dir, info.Name, hostname, cn)); err != nil {
		return errors.Join(err, writeJSON(filepath.Join(info.Dir, connectionsFile), orig))
	}
	return nil
}

// Disconnect undoes Connect (hako network disconnect). netRef is a
// network's name or ID; with force, a connection to a network removed
// since is dropped too.
func Disconnect(root, ref, netRef string, force bool) error {
	info, err := FindContainer(root, ref)
	if err != nil {
		return err
	}
	d, lookupErr := network.LookupAny(netRef) // the default bridge too
	unlock, err := atomicfile.Lock(filepath.Join(info.Dir, connectionsLock), true)
	if err != nil {
		return err
	}
	defer unlock()
	cs, err := readConnections(info.Dir)
	if err != nil {
		return err
	}
	if d != nil && creationNetwork(info, d) && markerIndex(cs) < 0 {
		return disconnectFirst(info, d, cs) // disconnectfirst.go
	}
	i := slices.IndexFunc(cs, func(c Connection) bool {
		if c.Disconnected {
			return false
		}
		if d != nil {
			return c.NetworkID == d.ID
		}
		return force && (c.NetworkName == netRef || c.NetworkID == netRef)
	})
	if i < 0 {
		if lookupErr != nil {
			return lookupErr
		}
		return fmt.Errorf("container %s is not connected to network %s", info.ID, d.Name)
	}
	netID := cs[i].NetworkID
	if err := writeJSON(filepath.Join(info.Dir, connectionsFile), slices.Delete(cs, i, i+1)); err != nil {
		return err
	}
	return network.Detach(info.ID, netID)
}

// connectable fails for the network modes Docker connects nothing to.
func connectable(info *Info) error {
	if info.joinedContainer() != "" {
		return errConnectShared
	}
	if info.Network != nil && info.Network.Mode == "bridge" {
		return nil
	}
	if info.Spec != nil && info.Spec.Linux != nil && !hasNetworkNamespace(info) {
		return errConnectHost
	}
	return errConnectNone
}

func attachRequest(id, dir, name, hostname string, c Connection) network.AttachRequest {
	req := network.AttachRequest{ID: id, Owner: dir, Network: c.NetworkID, Name: name, Hostname: hostname, Aliases: c.Aliases}
	req.IP, _ = netip.ParseAddr(c.IP)
	return req
}

// readConnections reads networks.json (none: no connections).
func readConnections(dir string) ([]Connection, error) {
	b, err := os.ReadFile(filepath.Join(dir, connectionsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the container's networks: %w", err)
	}
	var cs []Connection
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("reading the container's networks %s: %w", filepath.Join(dir, connectionsFile), err)
	}
	return cs, nil
}

// attachConnections applies the container's connections once its first
// network is up (start, a restart).
func (c *Container) attachConnections() error {
	unlock, err := atomicfile.Lock(filepath.Join(c.dir, connectionsLock), true)
	if err != nil {
		return err
	}
	defer unlock()
	cs, err := readConnections(c.dir)
	if err != nil {
		return err
	}
	hostname := ""
	if c.Spec != nil {
		hostname = c.Spec.Hostname
	}
	for _, cn := range cs {
		if cn.Disconnected {
			if err := network.DetachFirst(c.ID); err != nil {
				return fmt.Errorf("disconnecting from network %s: %w", cn.NetworkName, err)
			}
			continue
		}
		if _, err := network.Attach(attachRequest(c.ID, c.dir, c.Name, hostname, cn)); err != nil {
			return fmt.Errorf("connecting to network %s: %w", cn.NetworkName, err)
		}
	}
	return nil
}

// addConnections puts the container's connections into inspect's
// NetworkSettings.Networks, with their addresses while it runs.
func (i *Info) addConnections(ci *ContainerInspect) {
	cs, _ := readConnections(i.Dir)
	for _, cn := range cs {
		if cn.Disconnected {
			ci.disconnectedFirst()
			continue
		}
		ep := InspectEndpoint{NetworkID: cn.NetworkID, Aliases: cn.Aliases}
		if i.State.Running {
			if e, _ := network.Attached(i.ID, cn.NetworkID); e != nil {
				ep.IPAddress, ep.IPPrefixLen = e.Address.String(), e.BridgeNet.Bits()
				if d, err := network.LookupAny(cn.NetworkID); err == nil {
					ep.Gateway = d.Gateway.String()
				}
				if e.Address6.IsValid() {
					ep.GlobalIPv6Address, ep.GlobalIPv6PrefixLen, ep.IPv6Gateway = e.Address6.String(), e.Subnet6.Bits(), e.Gateway6.String()
				}
			}
		}
		ci.NetworkSettings.Networks[cn.NetworkName] = ep
	}
}
