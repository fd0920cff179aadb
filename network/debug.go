package network

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// steps tells Setup's steps to Request.Debugf, each with its time since
// the previous one. A nil steps (no --debug) does nothing.
type steps struct {
	debugf func(format string, args ...any)
	t      time.Time
}

func newSteps(debugf func(format string, args ...any)) *steps {
	if debugf == nil {
		return nil
	}
	return &steps{debugf: debugf, t: time.Now()}
}

func (s *steps) done(format string, args ...any) {
	if s == nil {
		return
	}
	now := time.Now()
	s.debugf("network: "+format+" (%s)", append(args, now.Sub(s.t).Round(time.Microsecond))...)
	s.t = now
}

// ports tells the host ports held open for the container.
func (s *steps) ports(ports []PortMapping) {
	if s == nil || len(ports) == 0 {
		return
	}
	var l []string
	for _, p := range ports {
		l = append(l, p.String())
	}
	s.done("host ports reserved (hako holds each socket, so no other program takes the port): %s", strings.Join(l, ", "))
}

// rules tells each port forwarding rule added, as the firewall lists it.
func (s *steps) rules(id string, addr netip.Addr, ports []PortMapping) {
	if s == nil || len(ports) == 0 {
		return
	}
	var l []string
	ipt, err := useIptables()
	for _, p := range ports {
		if err == nil && ipt != nil {
			spec := iptPortSpec(addr, p)
			j := slices.Index(spec, "-j")
			l = append(l, fmt.Sprintf("iptables -t nat -A %s %s -m comment --comment hako:%s %s",
				iptPorts, strings.Join(spec[:j], " "), id, strings.Join(spec[j:], " ")))
			continue
		}
		r := ""
		if p.HostIP.IsValid() {
			r = "ip daddr " + p.HostIP.String() + " "
		}
		proto := "tcp"
		if p.Proto == "udp" {
			proto = "udp"
		}
		l = append(l, fmt.Sprintf("nft add rule ip %s %s %s%s dport %d dnat to %s comment \"hako:%s\"",
			tableName, portsChain, r, proto, p.HostPort, netip.AddrPortFrom(addr, p.ContainerPort), id))
	}
	s.done("%d port forwarding rules added (DNAT: a packet to the host port goes to the container): %s", len(l), strings.Join(l, "; "))
}
