package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/network"
)

func newNetworkCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network COMMAND",
		Short: "Manage networks",
		Args:  exactArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newNetworkCreateCommand(), newNetworkLsCommand(), newNetworkInspectCommand(),
		newNetworkRmCommand(), newNetworkPruneCommand(),
		newNetworkConnectCommand(g), newNetworkDisconnectCommand(g)) // network_connect.go
	return cmd
}

func newNetworkCreateCommand() *cobra.Command {
	var gateway, driver string
	var subnets []string // --subnet, once per family
	var ipv6 bool
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "bridge" {
				return fmt.Errorf("network driver %q is not supported: hako has only the bridge driver", driver)
			}
			var sub netip.Prefix
			var gw netip.Addr
			subnet, sub6, err := splitSubnets(subnets, ipv6) // network_ipv6.go
			if err != nil {
				return err
			}
			if subnet != "" {
				if sub, err = netip.ParsePrefix(subnet); err != nil {
					return usageError("invalid --subnet %q: want an IPv4 network such as 10.90.5.0/24", subnet)
				}
			}
			if gateway != "" {
				if subnet == "" {
					return usageError("--gateway needs --subnet")
				}
				if gw, err = netip.ParseAddr(gateway); err != nil {
					return usageError("invalid --gateway %q: want an IPv4 address", gateway)
				}
			}
			d, err := network.Create(args[0], sub, gw, ipv6, sub6)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), d.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "bridge", "driver to manage the network (only bridge)")
	stringArrayVar(f, &subnets, "subnet", nil, "subnet in CIDR format (default: a free /24 of 10.90.0.0/15); with --ipv6 also an IPv6 one (default: a random fdXX:…::/64)")
	f.BoolVar(&ipv6, "ipv6", false, "enable IPv6 networking")
	f.StringVar(&gateway, "gateway", "", "gateway for the subnet (default: its first address)")
	return cmd
}

// networkView is one network as ls and inspect show it: the predefined
// ones (bridge is hako0) and the user networks.
type networkView struct {
	name, id, driver, bridge string
	subnet                   netip.Prefix
	gateway                  netip.Addr
	created                  time.Time
	userID                   string // a user network's ID; "" for bridge
	subnet6                  netip.Prefix
	gateway6                 netip.Addr
}

func loadNetworks() ([]networkView, error) {
	cfg, err := network.LoadConfig(network.ConfigPath())
	if err != nil {
		return nil, err
	}
	gw, _ := network.HostGateway()
	var views []networkView
	for _, n := range network.Predefined {
		v := networkView{name: n, id: network.PredefinedID(n), driver: n}
		if n == "bridge" {
			v.bridge, v.subnet, v.gateway = network.BridgeName, cfg.Subnet, gw
		} else if n == "none" {
			v.driver = "null"
		}
		views = append(views, v)
	}
	defs, err := network.LoadDefs()
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		views = append(views, networkView{name: d.Name, id: d.ID, driver: "bridge", bridge: d.Bridge,
			subnet: d.Subnet, gateway: d.Gateway, created: d.Created, userID: d.ID, subnet6: d.Subnet6, gateway6: d.Gateway6})
	}
	// sort.Slice, not slices.SortFunc: each struct type slices sorts
	// instantiates ~25 KB of sorting code in the binary.
	sort.Slice(views, func(i, j int) bool { return views[i].name < views[j].name })
	return views, nil
}

// networkRow has the fields of Docker's `network ls --format`.
type networkRow struct {
	ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt string
}

func newNetworkLsCommand() *cobra.Command {
	var quiet, noTrunc bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			views, err := loadNetworks()
			if err != nil {
				return err
			}
			keep, err := networkFilter(filters)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var rows []networkRow
			for _, v := range views {
				if !keep(v) {
					continue
				}
				id := v.id
				if !noTrunc {
					id = id[:12]
				}
				r := networkRow{ID: id, Name: v.name, Driver: v.driver, Scope: "local", IPv6: strconv.FormatBool(v.subnet6.IsValid()), Internal: "false"}
				if !v.created.IsZero() {
					r.CreatedAt = v.created.Local().Format("2006-01-02 15:04:05.999999999 -0700 MST")
				}
				rows = append(rows, r)
			}
			switch {
			case quiet:
				for _, r := range rows {
					fmt.Fprintln(out, r.ID)
				}
				return nil
			case format != "":
				return printTemplate(out, format, rows)
			}
			tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
			fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSCOPE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Driver, r.Scope)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "only display network IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "do not truncate the output")
	f.StringVar(&format, "format", "", "format output with a Go template, or 'json'")
	stringArrayVarP(f, &filters, "filter", "f", nil, "filter output (name=NAME, id=ID, driver=DRIVER, type=custom|builtin)")
	return cmd
}

// networkFilter parses `network ls --filter` values: filters on different
// keys must all match, values of one key any (Docker's rule).
func networkFilter(filters []string) (func(networkView) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return nil, usageError("bad format of filter (expected name=value)")
		}
		switch k {
		case "name", "id", "driver", "type":
		default:
			return nil, usageError("invalid filter '%s'", k)
		}
		if k == "type" && val != "custom" && val != "builtin" {
			return nil, usageError("invalid filter: 'type'='%s'", val)
		}
		byKey[k] = append(byKey[k], val)
	}
	match := func(k string, v networkView, val string) bool {
		switch k {
		case "name":
			return strings.Contains(v.name, val)
		case "id":
			return strings.HasPrefix(v.id, val)
		case "driver":
			return v.driver == val
		default: // type
			return (v.userID != "") == (val == "custom")
		}
	}
	return func(v networkView) bool {
		for k, vals := range byKey {
			if !slices.ContainsFunc(vals, func(val string) bool { return match(k, v, val) }) {
				return false
			}
		}
		return true
	}, nil
}

// Docker's network inspect shape.
type (
	networkInspect struct {
		Name       string
		Id         string //nolint:revive // Docker's key
		Created    time.Time
		Scope      string
		Driver     string
		EnableIPv6 bool
		IPAM       ipamInspect
		Internal   bool
		Attachable bool
		Ingress    bool
		ConfigFrom struct{ Network string }
		ConfigOnly bool
		Containers map[string]endpointInspect
		Options    map[string]string
		Labels     map[string]string
	}
	ipamInspect struct {
		Driver  string
		Options map[string]string
		Config  []ipamConfig
	}
	ipamConfig struct {
		Subnet  string
		Gateway string
	}
	endpointInspect struct {
		Name        string
		EndpointID  string
		MacAddress  string
		IPv4Address string
		IPv6Address string
	}
)

func (v networkView) inspect() (networkInspect, error) {
	ni := networkInspect{
		Name: v.name, Id: v.id, Created: v.created, Scope: "local", Driver: v.driver,
		IPAM:       ipamInspect{Driver: "default", Options: map[string]string{}, Config: []ipamConfig{}},
		Containers: map[string]endpointInspect{}, Options: map[string]string{}, Labels: map[string]string{},
	}
	if v.bridge == "" {
		return ni, nil // host, none
	}
	ni.IPAM.Config = append(ni.IPAM.Config, ipamConfig{Subnet: v.subnet.String(), Gateway: v.gateway.String()})
	if v.subnet6.IsValid() {
		ni.EnableIPv6 = true
		ni.IPAM.Config = append(ni.IPAM.Config, ipamConfig{Subnet: v.subnet6.String(), Gateway: v.gateway6.String()})
	}
	ni.Options["com.docker.network.bridge.name"] = v.bridge
	members, err := network.Members(v.userID)
	if err != nil {
		return ni, err
	}
	for _, e := range members {
		ep := endpointInspect{Name: e.Name, EndpointID: e.HostLink,
			IPv4Address: netip.PrefixFrom(e.Address, e.BridgeNet.Bits()).String()}
		if e.Address6.IsValid() {
			ep.IPv6Address = netip.PrefixFrom(e.Address6, e.Subnet6.Bits()).String()
		}
		ni.Containers[e.ID] = ep
	}
	return ni, nil
}

// findNetwork is the network a name, ID or ID prefix names.
func findNetwork(views []networkView, ref string) (networkView, bool) {
	for _, v := range views {
		if v.name == ref || v.id == ref {
			return v, true
		}
	}
	var found []networkView
	for _, v := range views {
		if strings.HasPrefix(v.id, ref) {
			found = append(found, v)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return networkView{}, false
}

func newNetworkInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			views, err := loadNetworks()
			if err != nil {
				return err
			}
			found := []networkInspect{}
			var errs []error
			for _, a := range args {
				v, ok := findNetwork(views, a)
				if !ok {
					errs = append(errs, fmt.Errorf("No such network: %s", a))
					continue
				}
				ni, err := v.inspect()
				if err != nil {
					errs = append(errs, err)
					continue
				}
				found = append(found, ni)
			}
			out := cmd.OutOrStdout()
			if format != "" {
				if err := printTemplate(out, format, found); err != nil {
					return err
				}
			} else {
				data, err := json.MarshalIndent(found, "", "    ")
				if err != nil {
					return err
				}
				fmt.Fprintln(out, string(data))
			}
			return lastError(cmd, errs)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output with a Go template")
	return cmd
}

func newNetworkRmCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs []error
			for _, a := range args {
				if _, err := network.Remove(a); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), a)
			}
			return lastError(cmd, errs)
		},
	}
	return cmd
}

func newNetworkPruneCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if !force {
				fmt.Fprint(out, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ")
				if !confirmed(cmd.InOrStdin()) {
					return nil // Docker: cancelled, exit 0
				}
			}
			defs, err := network.LoadDefs()
			if err != nil {
				return err
			}
			var deleted []string
			for _, d := range defs {
				members, err := network.Members(d.ID)
				if err != nil {
					return err
				}
				if len(members) > 0 {
					continue
				}
				// Remove checks again under the lock: a container that
				// joined meanwhile keeps its network.
				if _, err := network.Remove(d.ID); err == nil {
					deleted = append(deleted, d.Name)
				}
			}
			if len(deleted) > 0 {
				fmt.Fprintln(out, "Deleted Networks:")
				for _, n := range deleted {
					fmt.Fprintln(out, n)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}
