package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNetworkIPv6: a user network with IPv6 (network create --ipv6) in a
// test-made namespace. Each member has an IPv6 address next to its IPv4
// one and a default IPv6 route; members ping each other over IPv6 by
// name; a container connected to the network gets an IPv6 address on its
// second interface; inspect and network inspect show the addresses;
// without a subnet a unique local /64 is made; an IPv6 subnet needs
// --ipv6. Nothing is left.
func TestNetworkIPv6(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	hako := func(args ...string) string {
		t.Helper()
		out, errOut, code := n.hako(t, s, args...)
		if code != 0 {
			t.Fatalf("hako %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	ping6 := func(from, to string) {
		t.Helper()
		if out, errOut, code := n.hako(t, s, "exec", from, "ping", "-6", "-c1", "-W5", to); code != 0 {
			t.Errorf("%s ping -6 %s: exit %d: %s %s", from, to, code, out, errOut)
		}
	}
	hako("network", "create", "--ipv6", "--subnet", "10.93.10.0/24", "--subnet", "fd00:77::/64", "net6")
	hako("network", "create", "--ipv6", "auto6")
	hako("network", "create", "net4")
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "v1", "v2", "v3")
		n.hako(t, s, "network", "rm", "net6", "auto6", "net4")
	})
	if _, errOut, code := n.hako(t, s, "network", "create", "--subnet", "fd00:78::/64", "nov6"); code != 125 || !strings.Contains(errOut, "needs --ipv6") {
		t.Errorf("an IPv6 subnet without --ipv6: exit %d, %q", code, errOut)
	}
	var ni []struct {
		EnableIPv6 bool
		IPAM       struct {
			Config []struct{ Subnet, Gateway string }
		}
	}
	if err := json.Unmarshal([]byte(hako("network", "inspect", "net6", "auto6")), &ni); err != nil || len(ni) != 2 {
		t.Fatalf("network inspect: %v", err)
	}
	if c := ni[0].IPAM.Config; !ni[0].EnableIPv6 || len(c) != 2 || c[1].Subnet != "fd00:77::/64" || c[1].Gateway != "fd00:77::1" {
		t.Errorf("net6: %+v", ni[0])
	}
	if c := ni[1].IPAM.Config; !ni[1].EnableIPv6 || len(c) != 2 || !strings.HasPrefix(c[1].Subnet, "fd") || !strings.HasSuffix(c[1].Subnet, "::/64") {
		t.Errorf("auto6: %+v", ni[1])
	}
	if got := hako("network", "ls", "--format", "{{.Name}} {{.IPv6}}", "--filter", "type=custom"); got != "auto6 true\nnet4 false\nnet6 true\n" {
		t.Errorf("ls IPv6 column: %q", got)
	}

	hako("run", "-d", "--name", "v1", "--network", "net6", busybox.ref, "sleep", "300")
	hako("run", "-d", "--name", "v2", "--network", "net6", busybox.ref, "sleep", "300")
	if got := hako("inspect", "--format", "{{.NetworkSettings.Networks.net6.GlobalIPv6Address}}/{{.NetworkSettings.Networks.net6.GlobalIPv6PrefixLen}} {{.NetworkSettings.Networks.net6.IPv6Gateway}}", "v1"); got != "fd00:77::2/64 fd00:77::1\n" {
		t.Errorf("v1's IPv6: %q", got)
	}
	if out := hako("exec", "v1", "ip", "-6", "addr", "show", "eth0"); !strings.Contains(out, "inet6 fd00:77::2/64") {
		t.Errorf("v1's eth0:\n%s", out)
	}
	if out := hako("exec", "v1", "ip", "-6", "route"); !strings.Contains(out, "default via fd00:77::1 dev eth0") {
		t.Errorf("v1's IPv6 routes:\n%s", out)
	}
	if out := hako("exec", "v1", "cat", "/etc/hosts"); !strings.Contains(out, "fd00:77::3\tv2 ") {
		t.Errorf("v1's /etc/hosts:\n%s", out)
	}
	ping6("v1", "v2")
	ping6("v2", "v1")
	ping6("v1", "fd00:77::1") // the bridge

	// Connected to net6 from an IPv4-only network: IPv6 on eth1.
	hako("run", "-d", "--name", "v3", "--network", "net4", busybox.ref, "sleep", "300")
	hako("network", "connect", "net6", "v3")
	if out := hako("exec", "v3", "ip", "-6", "addr", "show", "eth1"); !strings.Contains(out, "inet6 fd00:77::4/64") {
		t.Errorf("v3's eth1:\n%s", out)
	}
	ping6("v3", "v1")
	ping6("v1", "v3")
	if got := hako("network", "inspect", "--format", "{{range .Containers}}{{.Name}}={{.IPv6Address}} {{end}}", "net6"); !strings.Contains(got, "v3=fd00:77::4/64 ") || !strings.Contains(got, "v1=fd00:77::2/64 ") {
		t.Errorf("network inspect net6: %q", got)
	}
	if got := hako("inspect", "--format", "{{.NetworkSettings.Networks.net6.GlobalIPv6Address}}", "v3"); got != "fd00:77::4\n" {
		t.Errorf("v3's net6 IPv6: %q", got)
	}

	hako("rm", "-f", "v1", "v2", "v3")
	hako("network", "rm", "net6", "auto6", "net4")
	n.checkClean(t)
}
