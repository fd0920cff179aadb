package main

import (
	"fmt"
	"io"

	"github.com/hako-run/hako/network"
	"github.com/hako-run/hako/runtime"
)

// bridgeOptions turns --network bridge, -p and -P into the runtime's
// options; exposed are the image's EXPOSE ports (for -P). Other modes
// publish nothing, as in Docker, which says so.
func bridgeOptions(o runOptions, ports []network.PortMapping, exposed map[string]struct{}, stderr io.Writer) (*runtime.BridgeOptions, error) {
	if o.network != "bridge" {
		if len(ports) > 0 || o.publishAll {
			fmt.Fprintf(stderr, "WARNING: Published ports are discarded when using %s network mode\n", o.network)
		}
		return nil, nil
	}
	if o.publishAll {
		all, err := network.ExposedPorts(exposed)
		if err != nil {
			return nil, err
		}
		ports = append(ports, all...)
	}
	return &runtime.BridgeOptions{Ports: ports}, nil
}
