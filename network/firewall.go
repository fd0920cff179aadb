package network

import (
	"fmt"
	"os"
	"os/exec"
	"sync"

	"github.com/google/nftables"
)

// hako programs its rules with nftables (nft.go) where the kernel has it,
// else with the iptables binary in chains of its own (iptables.go); the
// config file's "firewall" chooses one. The nft functions ask
// useIptables first and hand over to their iptables twins.
var firewall struct {
	once sync.Once
	ipt  *iptables // nil: nftables
	err  error
}

// useIptables returns the iptables binary to use, or nil for nftables.
func useIptables() (*iptables, error) {
	firewall.once.Do(func() {
		cfg, err := LoadConfig(ConfigPath())
		if err != nil {
			firewall.err = err
			return
		}
		switch cfg.Firewall {
		case "nftables":
		case "iptables":
			if firewall.ipt, err = findIptables("iptables"); err != nil {
				firewall.err = fmt.Errorf("%s says \"firewall\": \"iptables\", but there is no iptables binary (install iptables): %w", ConfigPath(), err)
			}
		default:
			if !nftAvailable() {
				if ipt, err := findIptables("iptables"); err == nil {
					firewall.ipt = ipt
				}
			}
		}
	})
	return firewall.ipt, firewall.err
}

// nftAvailable reports whether the kernel answers nftables requests (no
// nf_tables support: it does not).
func nftAvailable() bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	_, err = c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	return err == nil
}

// FirewallName says how hako programs its rules here, for hako info.
func FirewallName() string {
	ipt, err := useIptables()
	switch {
	case err != nil:
		return "unknown: " + err.Error()
	case ipt != nil:
		return "iptables (" + ipt.bin + ", chains HAKO-PORTS, HAKO-POSTROUTING, HAKO-FORWARD; IPv6 with ip6tables)"
	}
	return "nftables (table ip hako; IPv6 networks: table ip6 hako)"
}

// findIptables finds name in PATH, else in the sbin directories a PATH
// without them (a service's, cron's) lacks.
func findIptables(name string) (*iptables, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return &iptables{bin: p}, nil
	}
	for _, d := range []string{"/usr/sbin/", "/sbin/"} {
		if _, serr := os.Stat(d + name); serr == nil {
			return &iptables{bin: d + name}, nil
		}
	}
	return nil, err
}
