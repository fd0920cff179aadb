package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
)

// BridgeName is the bridge every container on the default network joins.
const BridgeName = "hako0"

// DefaultSubnet is the bridge's subnet unless the config file says
// otherwise: neither Docker's 172.17.0.0/16 nor Podman's 10.88.0.0/16.
var DefaultSubnet = netip.MustParsePrefix("10.89.0.0/24")

// DefaultConfigPath is hako's host-wide config file.
const DefaultConfigPath = "/etc/hako/config.json"

// Config is the network part of hako's config file.
type Config struct {
	Subnet netip.Prefix // the bridge's subnet; its first address is the bridge's
	// NoBridge is "bridge": "none" (dockerd's --bridge none): a container
	// started without --network or -p gets none instead of bridge.
	NoBridge bool
	// Firewall is "nftables", "iptables" (the iptables binary, in hako's
	// HAKO-* chains), or "" to use nftables where the kernel has it.
	Firewall string
}

// ConfigPath is the config file hako reads: $HAKO_CONFIG, else
// DefaultConfigPath.
func ConfigPath() string {
	if p := os.Getenv("HAKO_CONFIG"); p != "" {
		return p
	}
	return DefaultConfigPath
}

// LoadConfig reads the config file at path; a missing file means the
// defaults.
func LoadConfig(path string) (Config, error) {
	cfg := Config{Subnet: DefaultSubnet}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("reading %s: %w", path, err)
	}
	var f fileConfig
	if err := json.Unmarshal(b, &f); err != nil {
		return cfg, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := f.check(path); err != nil {
		return cfg, err
	}
	cfg.NoBridge, cfg.Firewall = f.Bridge == "none", f.Firewall
	if f.BridgeSubnet == "" {
		return cfg, nil
	}
	p, err := netip.ParsePrefix(f.BridgeSubnet)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 || p.Masked() != p {
		return cfg, fmt.Errorf("%s: invalid \"bridge-subnet\" %q: want an IPv4 network such as 10.89.0.0/24 (at most /30)", path, f.BridgeSubnet)
	}
	cfg.Subnet = p
	return cfg, nil
}

// gateway is the bridge's own address: the subnet's first.
func (c Config) gateway() netip.Addr { return c.Subnet.Addr().Next() }

// HostGateway is the host's address on hako0, what --add-host NAME:host-gateway
// names (Docker uses its bridge's address the same way).
func HostGateway() (netip.Addr, error) {
	cfg, err := LoadConfig(ConfigPath())
	if err != nil {
		return netip.Addr{}, err
	}
	return cfg.gateway(), nil
}
