package e2e

import (
	"strings"
	"testing"
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
