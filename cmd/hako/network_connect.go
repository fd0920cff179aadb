package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

// newNetworkConnectCommand is docker network connect: one more user
// network for a container, at once if it runs, else from its next start.
func newNetworkConnectCommand(g *globalOptions) *cobra.Command {
	var aliases []string
	var ip string
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var addr netip.Addr
			if ip != "" {
				var err error
				if addr, err = netip.ParseAddr(ip); err != nil || !addr.Is4() {
					return errors.New("invalid IPv4 address: " + ip)
				}
			}
			if err := checkAliases(aliases); err != nil {
				return err
			}
			return runtime.Connect(g.root, args[1], args[0], aliases, addr)
		},
	}
	f := cmd.Flags()
	stringArrayVar(f, &aliases, "alias", nil, "add a network-scoped alias for the container")
	f.StringVar(&ip, "ip", "", "IPv4 address (e.g., 10.90.5.10)")
	return cmd
}

// newNetworkDisconnectCommand is docker network disconnect.
func newNetworkDisconnectCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runtime.Disconnect(g.root, args[1], args[0], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the container to disconnect from a network (also one removed since)")
	return cmd
}

// networkAliases checks --network-alias: Docker takes it only on a user
// network.
func networkAliases(o runOptions) error {
	if len(o.networkAliases) == 0 {
		return nil
	}
	switch {
	case o.network == "bridge", o.network == "host", o.network == "none", o.network == "default",
		strings.HasPrefix(o.network, runtime.ContainerNetworkPrefix):
		return errors.New("network-scoped alias is supported only for containers in user defined networks")
	}
	return checkAliases(o.networkAliases)
}

// checkAliases refuses an alias that is not one word of a hosts file: it
// is written into the other members' /etc/hosts, where a newline would add
// a line of the caller's choosing and a blank or '#' would cut it.
func checkAliases(aliases []string) error {
	for _, a := range aliases {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool { return r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return fmt.Errorf("invalid network alias %q: give a name without blanks, control characters or '#'", a)
		}
	}
	return nil
}
