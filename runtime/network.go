package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hako-run/hako/network"
)

// BridgeOptions puts a container on the hako0 bridge (--network bridge).
type BridgeOptions struct {
	Ports []network.PortMapping // -p; host port 0 means a free one
	// PublishAll (-P) also publishes every port the image EXPOSEs, each
	// on a free host port.
	PublishAll bool
	// Network is a user network (hako network create) instead of hako0.
	Network *network.Def
	// Aliases (--network-alias) are more names for it on Network.
	Aliases []string
}

// NetworkRecord is what a container's record keeps of its bridge network:
// enough to show it (ps, port, inspect) after its creator is gone, and to
// set it up again when the container is started again.
type NetworkRecord struct {
	Mode      string                `json:"mode"`                // "bridge"
	Requested []network.PortMapping `json:"requested,omitempty"` // -p and -P as given (host port 0: any)
	Ports     []network.PortMapping `json:"ports,omitempty"`     // as published by the current or last run
	Address   string                `json:"address,omitempty"`
	Gateway   string                `json:"gateway,omitempty"`
	PrefixLen int                   `json:"prefix_len,omitempty"`
	// A user network's ID and name; none: hako0.
	NetworkID   string   `json:"network_id,omitempty"`
	NetworkName string   `json:"network_name,omitempty"`
	Aliases     []string `json:"aliases,omitempty"` // --network-alias
	// An IPv6 network's address, prefix length and gateway.
	Address6   string `json:"address6,omitempty"`
	PrefixLen6 int    `json:"prefix_len6,omitempty"`
	Gateway6   string `json:"gateway6,omitempty"`
}

// setupNetwork gives the container its network namespace on hako0 and
// points the spec at it. The namespace exists before libcontainer creates
// the container, which only joins it: no hook between create and start.
func (c *Container) setupNetwork(b *BridgeOptions, img ocispec.ImageConfig, o *SpecOptions) error {
	if b == nil {
		return nil
	}
	t := time.Now()
	ports := b.Ports
	if b.PublishAll {
		exposed, err := network.ExposedPorts(img.ExposedPorts)
		if err != nil {
			return err
		}
		ports = append(slices.Clone(ports), exposed...)
	}
	req := network.Request{ID: c.ID, Owner: c.dir, Ports: ports, Name: c.Name, Aliases: b.Aliases, Debugf: c.debugf}
	if cs, _ := readConnections(c.dir); markerIndex(cs) >= 0 {
		req.Ports = nil // disconnected from this network: nothing published (disconnectfirst.go)
	}
	if b.Network != nil {
		req.Network = b.Network.ID
		h, err := containerHostname(*o)
		if err != nil {
			return err
		}
		req.Hostname = h
	}
	ep, err := network.Setup(req)
	if err != nil {
		return err
	}
	c.net = ep
	c.Network = &NetworkRecord{Mode: "bridge", Requested: ports, Aliases: b.Aliases}
	if b.Network != nil {
		c.Network.NetworkID, c.Network.NetworkName = b.Network.ID, b.Network.Name
	}
	c.Network.published(ep)
	o.NetNSPath = ep.NetNS
	c.debug("network ready: %s on %s via %s, netns %s, ports %v (%s)", ep.Address, ep.Bridge, ep.HostLink, ep.NetNS, ep.Ports, since(t))
	if c.debugf != nil {
		for _, w := range network.ForwardWarnings() {
			c.debug("network: WARNING: %s", w)
		}
	}
	return nil
}

func (r *NetworkRecord) published(ep *network.Endpoint) {
	r.Ports, r.Address, r.Gateway = ep.Ports, ep.Address.String(), ep.Gateway.String()
	r.PrefixLen = ep.BridgeNet.Bits()
	r.Address6, r.PrefixLen6, r.Gateway6 = "", 0, ""
	if ep.Address6.IsValid() {
		r.Address6, r.PrefixLen6, r.Gateway6 = ep.Address6.String(), ep.Subnet6.Bits(), ep.Gateway6.String()
	}
}

// closeNetwork tears the container's network down, if it has one: its own
// endpoint, or, in a monitor that adopted the container, the one its
// record names. The reserved host ports are let go last.
func (c *Container) closeNetwork() error {
	t := time.Now()
	var err error
	switch {
	case c.net != nil:
		err = c.net.Close()
		c.net = nil
	case c.Network != nil && c.Network.Mode == "bridge":
		err = network.Release(c.ID)
	default:
		return nil
	}
	for _, f := range c.heldPorts {
		f.Close()
	}
	c.heldPorts = nil
	if err != nil {
		return fmt.Errorf("removing the container's network: %w", err)
	}
	c.debug("network removed (%s)", since(t))
	return nil
}

// Ports are the container's published ports with their host ports chosen.
func (r *Record) Ports() []network.PortMapping {
	if r.Network == nil || r.Network.Mode != "bridge" {
		return nil
	}
	return r.Network.Ports
}

// PortFiles are duplicates of the sockets reserving the container's host
// ports, to be handed to its monitor with the lock (nil without a network).
func (c *Container) PortFiles() ([]*os.File, error) {
	if c.net == nil {
		return nil, nil
	}
	return c.net.Files()
}

// HoldPorts keeps the handed-over port reservations until teardown.
func (c *Container) HoldPorts(files []*os.File) { c.heldPorts = files }

// reopenNetwork sets a bridged container's network up again for hako
// start: a new address and the same -p requests (a free host port again
// where none was given), at the netns path its spec already names.
func (c *Container) reopenNetwork() error {
	if other := c.joinedContainer(); other != "" {
		return c.rejoinNetwork(other)
	}
	if c.Network == nil || c.Network.Mode != "bridge" {
		return nil
	}
	req := network.Request{ID: c.ID, Owner: c.dir, Ports: c.Network.Requested, Network: c.Network.NetworkID, Name: c.Name, Aliases: c.Network.Aliases}
	if c.Spec != nil {
		req.Hostname = c.Spec.Hostname
	}
	ep, err := network.Setup(req)
	if err != nil {
		return err
	}
	if !specJoins(c, ep.NetNS) {
		ep.Close()
		return errors.New("the container's network namespace moved since it was created: remove it and run it again")
	}
	c.net = ep
	c.Network.published(ep)
	// The hosts file ends with the container's own line: only that one
	// changes (--add-host lines stay).
	hostsPath := filepath.Join(c.dir, "hosts")
	old, _ := os.ReadFile(hostsPath)
	old = network.StripHostsBlock(old)
	hosts := hostsFor(c.net.Address.String(), c.Spec.Hostname)
	if len(old) > 1 && old[len(old)-1] == '\n' {
		i := bytes.LastIndexByte(old[:len(old)-1], '\n') + 1
		hosts = append(bytes.Clone(old[:i]), hosts[len(defaultHosts):]...)
	}
	if !bytes.Equal(old, hosts) {
		if err := os.WriteFile(hostsPath, hosts, 0o644); err != nil {
			c.closeNetwork()
			return fmt.Errorf("writing hosts: %w", err)
		}
	}
	if err := network.SyncHosts(c.Network.NetworkID); err != nil {
		return err
	}
	return c.attachConnections() // hako network connect's (connect.go)
}

// specJoins reports whether the container's spec joins the netns at path.
func specJoins(c *Container, path string) bool {
	if c.Spec == nil || c.Spec.Linux == nil {
		return false
	}
	for _, ns := range c.Spec.Linux.Namespaces {
		if ns.Type == "network" {
			return ns.Path == path
		}
	}
	return false
}

// rejoinNetwork points a container that joins another's network (hako
// start) at that container's namespace as it is now.
func (c *Container) rejoinNetwork(other string) error {
	root := filepath.Dir(filepath.Dir(c.dir)) // ROOT/containers/<id>
	j, err := NetworkOf(root, other)
	if err != nil {
		return err
	}
	for i, ns := range c.Spec.Linux.Namespaces {
		if ns.Type == "network" {
			c.Spec.Linux.Namespaces[i].Path = j.NetNS
		}
	}
	return nil
}
