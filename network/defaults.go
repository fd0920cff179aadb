package network

import "fmt"

// fileConfig is the network part of config.json as written.
type fileConfig struct {
	BridgeSubnet string `json:"bridge-subnet"`
	Bridge       string `json:"bridge"`   // "none": no network by default
	Firewall     string `json:"firewall"` // "nftables", "iptables" or empty
}

func (f fileConfig) check(path string) error {
	if f.Bridge != "" && f.Bridge != "none" && f.Bridge != BridgeName {
		return fmt.Errorf("%s: invalid \"bridge\" %q: want \"none\" (no network unless --network or -p asks) or %q", path, f.Bridge, BridgeName)
	}
	if f.Firewall != "" && f.Firewall != "nftables" && f.Firewall != "iptables" {
		return fmt.Errorf("%s: invalid \"firewall\" %q: want \"nftables\" or \"iptables\"", path, f.Firewall)
	}
	return nil
}

// DefaultMode is the network of a container started without --network
// or -p: "bridge", as Docker's, unless the config file says
// {"bridge": "none"}, as dockerd's --bridge none.
func DefaultMode() (string, error) {
	cfg, err := LoadConfig(ConfigPath())
	if err != nil {
		return "", err
	}
	if cfg.NoBridge {
		return "none", nil
	}
	return "bridge", nil
}
