package runtime

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hako-run/hako/network"
)

// defaultHosts are the lines Docker writes into every container's /etc/hosts.
const defaultHosts = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`

// writeNetworkFiles writes hostname, hosts and resolv.conf into the
// container's directory and points o at them. With host networking the
// host's hosts and resolv.conf are copied (as Docker does); in a private
// network namespace without interfaces (--network none) hosts has only the
// localhost lines and resolv.conf names no server.
func (c *Container) writeNetworkFiles(o *SpecOptions) error {
	hostname, err := containerHostname(*o)
	if err != nil {
		return err
	}
	hosts := []byte(defaultHosts)
	resolv := []byte("# no network: --network none\n")
	if c.net != nil {
		hosts = hostsFor(c.net.Address.String(), hostname)
		resolv = network.HostResolvConf()
	}
	if o.HostNetwork {
		if b, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = b
		}
		if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
			resolv = b
		}
	}
	extra, err := extraHostLines(o.ExtraHosts)
	if err != nil {
		return err
	}
	hosts = insertHosts(hosts, extra, c.net != nil)
	resolv = network.WithDNS(resolv, o.DNS, o.DNSSearch, o.DNSOptions)
	files := []struct {
		name string
		data []byte
		dst  *string
	}{
		{"hostname", []byte(hostname + "\n"), &o.HostnamePath},
		{"hosts", hosts, &o.HostsPath},
		{"resolv.conf", bytes.Clone(resolv), &o.ResolvConfPath},
	}
	for _, f := range files {
		p := filepath.Join(c.dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		*f.dst = p
	}
	if c.net != nil {
		return network.SyncHosts(c.net.Network) // a user network's members by name
	}
	return nil
}

// hostsFor is a bridged container's /etc/hosts: Docker's lines and its own
// name at its address.
func hostsFor(addr, hostname string) []byte {
	return fmt.Appendf([]byte(defaultHosts), "%s\t%s\n", addr, hostname)
}

// insertHosts puts the --add-host lines after Docker's default block and
// before the container's own line (the last one, when it has an address).
func insertHosts(hosts, extra []byte, ownLast bool) []byte {
	if len(extra) == 0 {
		return hosts
	}
	if b := hosts; len(b) > 0 && b[len(b)-1] != '\n' {
		hosts = append(hosts, '\n')
	}
	if !ownLast {
		return append(hosts, extra...)
	}
	i := bytes.LastIndexByte(hosts[:len(hosts)-1], '\n') + 1
	out := append(bytes.Clone(hosts[:i]), extra...)
	return append(out, hosts[i:]...)
}
