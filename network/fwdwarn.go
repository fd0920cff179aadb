package network

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/nftables"
)

// ForwardWarnings names the host's forward hooks, outside hako's own
// rules, that drop by default: each drops what hako forwards (containers
// to other hosts, other hosts to published ports) unless one of its rules
// accepts it. Connections from the host itself to -p ports are not
// forwarded and work anyway. Docker sets iptables' FORWARD policy to DROP;
// its DOCKER-USER chain, when it accepts hako+ both ways (README), is
// taken as the fix. For hako info and run --debug: it may run iptables.
func ForwardWarnings() []string {
	var ws []string
	if c, err := nftables.New(); err == nil {
		chains, _ := c.ListChains()
		for _, ch := range chains {
			if ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookForward ||
				ch.Policy == nil || *ch.Policy != nftables.ChainPolicyDrop || ch.Table == nil || ch.Table.Name == tableName ||
				(ch.Table.Family != nftables.TableFamilyIPv4 && ch.Table.Family != nftables.TableFamilyINet) {
				continue
			}
			if ch.Table.Family == nftables.TableFamilyIPv4 && ch.Table.Name == "filter" && ch.Name == "FORWARD" {
				ws = appendIptablesWarning(ws, "iptables-nft")
				continue
			}
			fam := "ip"
			if ch.Table.Family == nftables.TableFamilyINet {
				fam = "inet"
			}
			ws = append(ws, fmt.Sprintf("nftables chain %s %s %s drops forwarded packets by default (policy drop): %s; accept them there: iifname \"hako*\" accept; oifname \"hako*\" accept",
				fam, ch.Table.Name, ch.Name, dropped))
		}
	}
	// iptables-legacy keeps its tables outside nftables.
	if b, err := os.ReadFile("/proc/net/ip_tables_names"); err == nil && strings.Contains(string(b), "filter") {
		if ipt, err := findIptables("iptables-legacy"); err == nil {
			if out, err := ipt.run("-t", "filter", "-S", "FORWARD"); err == nil && strings.Contains(out, "-P FORWARD DROP") {
				ws = appendIptablesWarning(ws, "iptables-legacy")
			}
		}
	}
	return ws
}

const dropped = "hako's containers cannot reach other hosts, nor other hosts their published ports (this host can)"

// appendIptablesWarning warns of iptables' FORWARD policy DROP, unless
// DOCKER-USER already lets hako's bridges through.
func appendIptablesWarning(ws []string, bin string) []string {
	fix := "iptables -I FORWARD -i hako+ -j ACCEPT; iptables -I FORWARD -o hako+ -j ACCEPT"
	if ipt, err := findIptables(bin); err == nil {
		if out, err := ipt.run("-t", "filter", "-S", "DOCKER-USER"); err == nil {
			if strings.Contains(out, "-i hako+ -j ACCEPT") && strings.Contains(out, "-o hako+ -j ACCEPT") {
				return ws
			}
			fix = "iptables -I DOCKER-USER -i hako+ -j ACCEPT; iptables -I DOCKER-USER -o hako+ -j ACCEPT (Docker's chain for this; README, Networking)"
		}
	}
	return append(ws, fmt.Sprintf("%s: the FORWARD chain's policy is DROP (Docker sets it): %s; let them through: %s", bin, dropped, fix))
}
