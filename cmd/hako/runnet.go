package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/network"
	"github.com/hako-run/hako/runtime"
)

// defaultNetwork sets the network of a container run without --network:
// the bridge when it publishes ports (which need it), else the config
// file's default (bridge, or none with {"bridge": "none"}).
func defaultNetwork(cmd *cobra.Command, o *runOptions) error {
	if cmd.Flags().Changed("network") {
		return nil
	}
	if len(o.publish) > 0 || o.publishAll {
		o.network = "bridge"
		return nil
	}
	mode, err := network.DefaultMode()
	if err != nil {
		return &exitError{code: 125, err: err}
	}
	o.network = mode
	return nil
}

// bridgeOptions turns --network bridge or a user network's name, -p and
// -P into the runtime's options (-P's ports come from the image, once it
// is resolved). Other modes publish nothing, as in Docker, which says so.
func bridgeOptions(o runOptions, ports []network.PortMapping, stderr io.Writer) *runtime.BridgeOptions {
	var def *network.Def
	switch {
	case o.network == "none" || o.network == "host" || strings.HasPrefix(o.network, runtime.ContainerNetworkPrefix):
	case o.network != "bridge":
		def, _ = network.Lookup(o.network) // specOptions made sure it exists
	}
	if o.network != "bridge" && def == nil {
		if len(ports) > 0 || o.publishAll {
			fmt.Fprintf(stderr, "WARNING: Published ports are discarded when using %s network mode\n", o.network)
		}
		return nil
	}
	return &runtime.BridgeOptions{Ports: ports, PublishAll: o.publishAll, Network: def, Aliases: o.networkAliases}
}
