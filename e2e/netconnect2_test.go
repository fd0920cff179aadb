package e2e

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestNetworkConnectBridge: hako network connect bridge CTR connects a
// container on a user network to the default hako0 too, while it runs
// (eth1 on hako0, reaching a default-bridge container that its user
// network's isolation kept away) and from its next start when stopped;
// network inspect bridge and inspect show it; aliases are refused there,
// as is connecting a container already on it; disconnect bridge takes
// eth1 away. Nothing is left.
func TestNetworkConnectBridge(t *testing.T) {
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
	fails := func(code int, want string, args ...string) {
		t.Helper()
		out, errOut, got := n.hako(t, s, args...)
		if got != code || !strings.Contains(errOut, want) {
			t.Errorf("hako %s: exit %d, %q %q; want %d and %q", strings.Join(args, " "), got, out, errOut, code, want)
		}
	}
	reaches := func(from, to string, want bool) {
		t.Helper()
		out, errOut, code := n.hako(t, s, "exec", from, "ping", "-c1", "-W2", to)
		if (code == 0) != want {
			t.Errorf("%s ping %s: exit %d, want success %v: %s %s", from, to, code, want, out, errOut)
		}
	}
	hako("network", "create", "--subnet", "10.93.30.0/24", "netx")
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "x1", "x2", "b0")
		n.hako(t, s, "network", "rm", "netx")
	})
	hako("run", "-d", "--name", "b0", "--network", "bridge", busybox.ref, "sleep", "300")
	hako("run", "-d", "--name", "x1", "--network", "netx", busybox.ref, "sleep", "300")
	b0 := strings.TrimSpace(hako("inspect", "--format", "{{.NetworkSettings.IPAddress}}", "b0"))
	reaches("x1", b0, false)

	hako("network", "connect", "bridge", "x1")
	if out := hako("exec", "x1", "ip", "-4", "addr", "show", "eth1"); !strings.Contains(out, "inet 10.89.0.") {
		t.Errorf("x1's eth1 after connect bridge:\n%s", out)
	}
	reaches("x1", b0, true)
	reaches("b0", "10.93.30.2", false) // still not into netx
	x1 := strings.TrimSpace(hako("inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}}", "x1"))
	if !strings.HasPrefix(x1, "10.89.0.") || !strings.HasSuffix(x1, " 10.89.0.1") {
		t.Errorf("inspect x1's bridge endpoint: %q", x1)
	}
	if got := hako("network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", "bridge"); !strings.Contains(got, "x1 ") || !strings.Contains(got, "b0 ") {
		t.Errorf("network inspect bridge: %q, want b0 and x1", got)
	}
	fails(1, "already exists", "network", "connect", "bridge", "x1")
	fails(1, "already exists", "network", "connect", "bridge", "b0")
	fails(1, "network-scoped alias is supported only for containers in user defined networks", "network", "connect", "--alias", "a", "bridge", "x1")
	fails(1, "user specified IP address is supported on user defined networks only", "network", "connect", "--ip", "10.89.0.77", "bridge", "x1")

	hako("network", "disconnect", "bridge", "x1")
	if out, _, code := n.hako(t, s, "exec", "x1", "ip", "link", "show", "eth1"); code == 0 {
		t.Errorf("x1 has eth1 after disconnect bridge:\n%s", out)
	}
	reaches("x1", b0, false)

	// Stopped: connected at its next start.
	hako("create", "--name", "x2", "--network", "netx", busybox.ref, "sleep", "300")
	hako("network", "connect", "bridge", "x2")
	hako("start", "x2")
	reaches("x2", b0, true)

	hako("rm", "-f", "x1", "x2", "b0")
	hako("network", "rm", "netx")
	n.checkClean(t)
}

// greeting is the server's first line at addr from ns over TCP (tcp4 or
// tcp6), or "" when none comes within a second.
func greeting(ns, network, addr string) string {
	var got string
	in(ns, func() error {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		got, _ = bufio.NewReader(c).ReadString('\n')
		return nil
	})
	return strings.TrimSpace(got)
}

// TestNetworkDisconnectCreation: hako network disconnect NET CTR for the
// network CTR was created on (user network or the default bridge): eth0,
// its address, its published ports and its name in the other members'
// hosts files go, inspect, port and ps forget them; disconnecting twice
// fails; connecting again gives it an interface on the network; after a
// stop and start it stays disconnected. Nothing is left.
func TestNetworkDisconnectCreation(t *testing.T) {
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
	reaches := func(from, to string, want bool) {
		t.Helper()
		out, errOut, code := n.hako(t, s, "exec", from, "ping", "-c1", "-W2", to)
		if (code == 0) != want {
			t.Errorf("%s ping %s: exit %d, want success %v: %s %s", from, to, code, want, out, errOut)
		}
	}
	hasEth0 := func(c string) bool {
		_, _, code := n.hako(t, s, "exec", c, "ip", "link", "show", "eth0")
		return code == 0
	}
	hako("network", "create", "--subnet", "10.93.31.0/24", "netd")
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "d1", "d2", "b1")
		n.hako(t, s, "network", "rm", "netd")
	})
	s.mustHako(t, "pull", "-q", netImage(t))
	hako("run", "-d", "--name", "d1", "--network", "netd", busybox.ref, "sleep", "300")
	hako("run", "-d", "--name", "d2", "--network", "netd", "-p", "8096:7000", netImage(t), "/srv", "7000")
	up := ""
	for i := 0; i < 50 && up == ""; i++ {
		if up = greeting(n.peer, "tcp4", hostAddr+":8096"); up == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if up != "from "+peerAddr {
		t.Fatalf("d2 through -p before the disconnect: %q", up)
	}
	reaches("d1", "d2", true)
	reaches("d1", "10.93.31.3", true) // d2's address

	hako("network", "disconnect", "netd", "d2")
	if hasEth0("d2") {
		t.Error("d2 still has eth0 after disconnect from the network it was created on")
	}
	if out := hako("exec", "d1", "cat", "/etc/hosts"); strings.Contains(out, "\td2") {
		t.Errorf("d1's /etc/hosts still names d2:\n%s", out)
	}
	reaches("d1", "10.93.31.3", false)
	if got := greeting(n.peer, "tcp4", hostAddr+":8096"); got != "" {
		t.Errorf("d2's port still forwarded after disconnect: %q", got)
	}
	if got := hako("port", "d2"); got != "" {
		t.Errorf("hako port d2 after disconnect: %q", got)
	}
	if got := hako("inspect", "--format", "{{len .NetworkSettings.Networks}} {{len .NetworkSettings.Ports}} [{{.NetworkSettings.IPAddress}}]", "d2"); got != "0 0 []\n" {
		t.Errorf("inspect d2 after disconnect: %q", got)
	}
	if got := hako("network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", "netd"); got != "d1 \n" {
		t.Errorf("network inspect netd: %q, want d1 only", got)
	}
	if _, errOut, code := n.hako(t, s, "network", "disconnect", "netd", "d2"); code != 1 || !strings.Contains(errOut, "is not connected to network netd") {
		t.Errorf("disconnect twice: exit %d, %q", code, errOut)
	}

	// Connected again: an interface on netd, found by name again.
	hako("network", "connect", "netd", "d2")
	reaches("d1", "d2", true)
	hako("network", "disconnect", "netd", "d2")
	reaches("d1", "10.93.31.3", false)

	// Stays disconnected across a restart.
	hako("stop", "-t", "1", "d2")
	hako("start", "d2")
	if hasEth0("d2") {
		t.Error("d2 has eth0 again after a restart")
	}
	if out := hako("exec", "d1", "cat", "/etc/hosts"); strings.Contains(out, "\td2") {
		t.Errorf("d1's /etc/hosts names d2 after its restart:\n%s", out)
	}
	if got := hako("port", "d2"); got != "" {
		t.Errorf("hako port d2 after a restart: %q", got)
	}

	// The default bridge too.
	hako("run", "-d", "--name", "b1", "--network", "bridge", busybox.ref, "sleep", "300")
	hako("network", "disconnect", "bridge", "b1")
	if hasEth0("b1") {
		t.Error("b1 still has eth0 after disconnect bridge")
	}
	hako("network", "connect", "netd", "b1")
	reaches("b1", "d1", true)

	hako("rm", "-f", "d1", "d2", "b1")
	hako("network", "rm", "netd")
	n.checkClean(t)
}
