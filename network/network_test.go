package network

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for spec, want := range map[string][]PortMapping{
		"80":                {{ContainerPort: 80, Proto: "tcp"}},
		"8080:80":           {{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		"127.0.0.1:8080:80": {{HostIP: lo, HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		"127.0.0.1::80/udp": {{HostIP: lo, ContainerPort: 80, Proto: "udp"}},
		"0.0.0.0:53:53/UDP": {{HostPort: 53, ContainerPort: 53, Proto: "udp"}},
		"8000-8001:80-81": {
			{HostPort: 8000, ContainerPort: 80, Proto: "tcp"},
			{HostPort: 8001, ContainerPort: 81, Proto: "tcp"},
		},
		"8000-8010:80": {{HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80, Proto: "tcp"}},
	} {
		got, err := ParsePublish([]string{spec})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for spec, want := range map[string]string{
		"":             "no port specified",
		"abc":          "invalid containerPort: abc",
		"0":            "invalid containerPort: 0",
		"99999":        "invalid containerPort: 99999",
		"x:80":         "invalid hostPort: x",
		"80/icmp":      "invalid proto: icmp",
		"80/sctp":      "sctp ports is not supported",
		"1.2.3:80:80":  "invalid IP address: 1.2.3",
		"8-9:80-82":    "invalid ranges specified",
		"9000-8000:80": "invalid hostPort: 9000-8000",
	} {
		if _, err := ParsePublish([]string{spec}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one with %q", spec, err, want)
		}
	}
}

func TestExposedPorts(t *testing.T) {
	got, err := ExposedPorts(map[string]struct{}{"80/tcp": {}, "53/udp": {}, "9000-9001": {}, "132/sctp": {}})
	want := []PortMapping{
		{ContainerPort: 53, Proto: "udp"},
		{ContainerPort: 80, Proto: "tcp"},
		{ContainerPort: 9000, Proto: "tcp"},
		{ContainerPort: 9001, Proto: "tcp"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%+v, %v; want %+v", got, err, want)
	}
	if _, err := ExposedPorts(map[string]struct{}{"http/tcp": {}}); err == nil {
		t.Error("a bad EXPOSE entry was accepted")
	}
}

func TestResolvConf(t *testing.T) {
	stub := "# systemd-resolved stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
	upstream := "nameserver 192.168.1.1\nnameserver 2001:db8::1\nsearch lan\n"
	for _, c := range []struct{ host, resolved, want string }{
		{stub, upstream, upstream},
		{"nameserver 10.0.0.2\nsearch corp", "", "nameserver 10.0.0.2\nsearch corp\n"},
		{"nameserver 127.0.0.1\nnameserver 10.0.0.2\n", "", "nameserver 10.0.0.2\n"},
		{"nameserver 127.0.0.1\nsearch x\n", "", "search x\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{stub, "", "# systemd-resolved stub\noptions edns0 trust-ad\nsearch lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
	} {
		if got := string(ResolvConf([]byte(c.host), []byte(c.resolved))); got != c.want {
			t.Errorf("ResolvConf(%q, %q) = %q, want %q", c.host, c.resolved, got, c.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadConfig(filepath.Join(dir, "missing.json"))
	if err != nil || cfg.Subnet != DefaultSubnet || cfg.gateway() != netip.MustParseAddr("10.89.0.1") {
		t.Errorf("missing file: %+v, %v", cfg, err)
	}
	for body, want := range map[string]string{
		`{"bridge-subnet": "10.200.0.0/16"}`: "10.200.0.0/16",
		`{}`:                                 "10.89.0.0/24",
		`{"bridge-subnet": "10.200.0.1/16"}`: "invalid",
		`{"bridge-subnet": "fd00::/64"}`:     "invalid",
		`{"bridge-subnet": "10.0.0.0/31"}`:   "invalid",
		`{"bridge-subnet": 5}`:               "cannot unmarshal",
	} {
		p := filepath.Join(dir, "config.json")
		os.WriteFile(p, []byte(body), 0o644)
		cfg, err := LoadConfig(p)
		got := cfg.Subnet.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: %s, want %s", body, got, want)
		}
	}
}

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{"10.89.0.0/24": "10.89.0.255", "10.0.0.0/8": "10.255.255.255", "192.168.4.0/30": "192.168.4.3"} {
		if got := lastAddr(netip.MustParsePrefix(p)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", p, got, want)
		}
	}
}

func TestNextFree(t *testing.T) {
	subnet := netip.MustParsePrefix("10.89.0.0/29") // .2 to .6 for containers
	a := netip.MustParseAddr
	used := map[netip.Addr]bool{a("10.89.0.3"): true}
	for _, c := range []struct{ last, want string }{
		{"", "10.89.0.2"},          // nothing handed out yet
		{"10.89.0.2", "10.89.0.4"}, // after the last, skipping a used one
		{"10.89.0.6", "10.89.0.2"}, // wraps around before the broadcast
		{"10.1.2.3", "10.89.0.2"},  // from another subnet: start over
	} {
		var last netip.Addr
		if c.last != "" {
			last = a(c.last)
		}
		if got, ok := nextFree(subnet, a("10.89.0.1"), last, used); !ok || got != a(c.want) {
			t.Errorf("after %s: %s, %v; want %s", c.last, got, ok, c.want)
		}
	}
	full := map[netip.Addr]bool{}
	for i := 2; i <= 6; i++ {
		full[netip.AddrFrom4([4]byte{10, 89, 0, byte(i)})] = true
	}
	if got, ok := nextFree(subnet, a("10.89.0.1"), a("10.89.0.4"), full); ok {
		t.Errorf("full subnet gave %s", got)
	}
	// A gateway elsewhere (network create --gateway): the first address
	// is a container's, the gateway skipped.
	gw := a("10.89.0.5")
	for last, want := range map[string]string{"10.1.2.3": "10.89.0.1", "10.89.0.4": "10.89.0.6", "10.89.0.6": "10.89.0.1"} {
		if got, ok := nextFree(subnet, gw, a(last), used); !ok || got != a(want) {
			t.Errorf("gateway %s, after %s: %s, %v; want %s", gw, last, got, ok, want)
		}
	}
}

func TestWithDNS(t *testing.T) {
	host := []byte("# from the host\nnameserver 192.0.2.1\nsearch lan\noptions edns0\n")
	cases := []struct {
		servers, search, options []string
		want                     string
	}{
		{nil, nil, nil, string(host)},
		{[]string{"9.9.9.9", "1.1.1.1"}, nil, nil, "# from the host\nsearch lan\noptions edns0\nnameserver 9.9.9.9\nnameserver 1.1.1.1\n"},
		{nil, []string{"a.org", "b.org"}, nil, "# from the host\nnameserver 192.0.2.1\noptions edns0\nsearch a.org b.org\n"},
		{nil, []string{"."}, []string{"ndots:2"}, "# from the host\nnameserver 192.0.2.1\noptions ndots:2\n"},
	}
	for _, c := range cases {
		if got := string(WithDNS(host, c.servers, c.search, c.options)); got != c.want {
			t.Errorf("WithDNS(%v, %v, %v) = %q, want %q", c.servers, c.search, c.options, got, c.want)
		}
	}
}
