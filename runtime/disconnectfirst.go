package runtime

import (
	"errors"
	"path/filepath"
	"slices"

	"github.com/hako-run/hako/network"
)

// hako network disconnect NET CTR for the network CTR was created on, as
// Docker allows: networks.json gets a marker (a Connection with
// Disconnected set) that the container's record, written only by its
// monitor, cannot hold. While it runs, network.DetachFirst takes eth0,
// its address and its port rules away; at each later start the network
// is set up without ports and detached again at once (attachConnections),
// so the container keeps only its loopback and its other connections.
// Connecting it to that network again drops the marker and connects it
// as any other network (eth1, …), and from its next start on eth0 again.
// Ports published at creation are not forwarded any more, nor shown (ps,
// port, inspect); a running container's monitor keeps holding their
// host ports until it ends.

// creationNetwork reports whether d is the network info was created on.
func creationNetwork(info *Info, d *network.Def) bool {
	n := info.Network
	return n != nil && n.Mode == "bridge" && (n.NetworkID == d.ID || (n.NetworkID == "" && d.ID == network.BridgeID()))
}

// markerIndex is the index of the disconnected marker in cs, or -1.
func markerIndex(cs []Connection) int {
	return slices.IndexFunc(cs, func(c Connection) bool { return c.Disconnected })
}

// disconnectFirst records the marker (in place of a connection to the
// network made since an earlier disconnect) and detaches the running
// container from it. Called with networks.lock held.
func disconnectFirst(info *Info, d *network.Def, cs []Connection) error {
	path := filepath.Join(info.Dir, connectionsFile)
	rest := slices.DeleteFunc(slices.Clone(cs), func(c Connection) bool { return c.NetworkID == d.ID })
	if err := writeJSON(path, append(rest, Connection{NetworkID: d.ID, NetworkName: d.Name, Disconnected: true})); err != nil {
		return err
	}
	if err := errors.Join(network.Detach(info.ID, d.ID), network.DetachFirst(info.ID)); err != nil {
		return errors.Join(err, writeJSON(path, cs))
	}
	return nil
}

// Ports are Record.Ports, none once the container was disconnected from
// the network it was created on.
func (i *Info) Ports() []network.PortMapping {
	if cs, _ := readConnections(i.Dir); markerIndex(cs) >= 0 {
		return nil
	}
	return i.Record.Ports()
}

// disconnectedFirst takes the network it was created on out of inspect.
func (ci *ContainerInspect) disconnectedFirst() {
	delete(ci.NetworkSettings.Networks, ci.HostConfig.NetworkMode)
	ci.NetworkSettings.IPAddress, ci.NetworkSettings.IPPrefixLen, ci.NetworkSettings.Gateway = "", 0, ""
	ci.NetworkSettings.Ports = map[string][]PortBinding{}
}
