package network

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/docker/go-connections/nat"
)

// PortMapping is one published port: connections to HostIP:HostPort (any
// local address when HostIP is unset) go to the container's ContainerPort.
type PortMapping struct {
	HostIP        netip.Addr `json:"host_ip,omitzero"`
	HostPort      uint16     `json:"host_port"`               // 0: a free port chosen at setup
	HostPortEnd   uint16     `json:"host_port_end,omitempty"` // with HostPort: the first free port of the range
	ContainerPort uint16     `json:"container_port"`
	Proto         string     `json:"proto"` // tcp or udp
}

// String is Docker's form, 0.0.0.0:8080->80/tcp or [::]:8080->80/tcp.
func (m PortMapping) String() string {
	return fmt.Sprintf("%s->%d/%s", m.hostAddr(m.HostPort), m.ContainerPort, m.Proto)
}

// Host is where the mapping listens, as hako port prints it: 0.0.0.0:8080.
func (m PortMapping) Host() string { return m.hostAddr(m.HostPort) }

// ParsePublish parses -p values in Docker's syntax,
// [HOSTIP:][HOSTPORT:]CTRPORT[/tcp|/udp], ports and ranges, with Docker's
// error messages.
func ParsePublish(specs []string) ([]PortMapping, error) {
	var out []PortMapping
	for _, s := range specs {
		pms, err := nat.ParsePortSpec(s)
		if err != nil {
			return nil, err
		}
		for _, pm := range pms {
			m, err := mapping(pm)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

func mapping(pm nat.PortMapping) (PortMapping, error) {
	var m PortMapping
	m.Proto = pm.Port.Proto()
	if m.Proto != "tcp" && m.Proto != "udp" {
		return m, fmt.Errorf("publishing %s ports is not supported: use tcp or udp", m.Proto)
	}
	cp := pm.Port.Int()
	if cp == 0 {
		return m, fmt.Errorf("invalid containerPort: %s", pm.Port.Port())
	}
	m.ContainerPort = uint16(cp)
	if ip := pm.Binding.HostIP; ip != "" {
		a, err := netip.ParseAddr(strings.Trim(ip, "[]"))
		if err != nil || a.Zone() != "" {
			return m, fmt.Errorf("invalid host IP %s: want an IPv4 or IPv6 address", ip)
		}
		a = a.Unmap()
		if a.Is6() {
			m.HostIP = a // IPv6 only (ports6.go); :: stays, meaning any
		} else if !a.IsUnspecified() {
			m.HostIP = a
		}
	}
	if hp := pm.Binding.HostPort; hp != "" {
		start, end, err := nat.ParsePortRangeToInt(hp)
		if err != nil {
			return m, fmt.Errorf("invalid hostPort: %s", hp)
		}
		m.HostPort = uint16(start)
		if end != start {
			m.HostPortEnd = uint16(end)
		}
	}
	return m, nil
}

// ExposedPorts maps every port an image EXPOSEs ("80/tcp", "53/udp",
// "8000-8002/tcp") to a random host port, as -P does.
func ExposedPorts(exposed map[string]struct{}) ([]PortMapping, error) {
	keys := make([]string, 0, len(exposed))
	for k := range exposed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []PortMapping
	for _, k := range keys {
		proto, ports := nat.SplitProtoPort(k)
		if !strings.Contains(k, "/") {
			proto = "tcp"
		}
		start, end, err := nat.ParsePortRangeToInt(ports)
		if err != nil || start == 0 {
			return nil, fmt.Errorf("the image exposes an invalid port %q", k)
		}
		if proto != "tcp" && proto != "udp" {
			continue // sctp: not supported, as with -p
		}
		for p := start; p <= end; p++ {
			out = append(out, PortMapping{ContainerPort: uint16(p), Proto: proto})
		}
	}
	return out, nil
}

// hostAddr is where the mapping's host port is reserved.
func (m PortMapping) hostAddr(port uint16) string {
	ip := netip.IPv4Unspecified()
	if m.HostIP.IsValid() {
		ip = m.HostIP
	}
	return netip.AddrPortFrom(ip, port).String()
}
