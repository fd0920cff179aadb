package network

import (
	"net/netip"
	"reflect"
	"testing"
)

// IPv6 host addresses publish on IPv6 only; Docker's forms print them in
// brackets.
func TestParsePublish6(t *testing.T) {
	any6, lo6 := netip.IPv6Unspecified(), netip.IPv6Loopback()
	for spec, want := range map[string][]PortMapping{
		"[::]:8080:80":      {{HostIP: any6, HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		"[::1]:8080:80/udp": {{HostIP: lo6, HostPort: 8080, ContainerPort: 80, Proto: "udp"}},
		"[::]::80":          {{HostIP: any6, ContainerPort: 80, Proto: "tcp"}},
	} {
		got, err := ParsePublish([]string{spec})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", spec, got, err, want)
		}
	}
	m := PortMapping{HostIP: any6, HostPort: 8080, ContainerPort: 80, Proto: "tcp"}
	if m.String() != "[::]:8080->80/tcp" || m.Host() != "[::]:8080" || !m.is6() {
		t.Errorf("%q %q", m.String(), m.Host())
	}
	m.HostIP = netip.Addr{}
	if m.String() != "0.0.0.0:8080->80/tcp" || m.is6() {
		t.Errorf("%q", m.String())
	}
	if got := ports4([]PortMapping{m, {HostIP: any6}}); len(got) != 1 || got[0] != m {
		t.Errorf("ports4: %+v", got)
	}
}
