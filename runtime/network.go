package runtime

import (
	"fmt"
	"time"

	"github.com/hako-run/hako/network"
)

// BridgeOptions puts a container on the hako0 bridge (--network bridge).
type BridgeOptions struct {
	Ports []network.PortMapping // -p and -P; host port 0 means a free one
}

// setupNetwork gives the container its network namespace on hako0 and
// points the spec at it. The namespace exists before libcontainer creates
// the container, which only joins it: no hook between create and start.
func (c *Container) setupNetwork(b *BridgeOptions, o *SpecOptions) error {
	if b == nil {
		return nil
	}
	t := time.Now()
	ep, err := network.Setup(network.Request{ID: c.ID, Owner: c.dir, Ports: b.Ports})
	if err != nil {
		return err
	}
	c.net = ep
	o.NetNSPath = ep.NetNS
	c.debug("network: %s on %s via %s, netns %s, ports %v (%s)", ep.Address, network.BridgeName, ep.HostLink, ep.NetNS, ep.Ports, since(t))
	return nil
}

// closeNetwork tears the container's network down, if it has one.
func (c *Container) closeNetwork() error {
	if c.net == nil {
		return nil
	}
	t := time.Now()
	if err := c.net.Close(); err != nil {
		return fmt.Errorf("removing the container's network: %w", err)
	}
	c.net = nil
	c.debug("network removed (%s)", since(t))
	return nil
}

// Ports are the container's published ports with their host ports chosen.
func (c *Container) Ports() []network.PortMapping {
	if c.net == nil {
		return nil
	}
	return c.net.Ports
}
