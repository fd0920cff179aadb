package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNetworkConnect: hako network connect and disconnect, and
// --network-alias, in a test-made namespace. A running container
// connected to a second user network gets an interface there (at the
// address asked for), reaches its members by name and alias (ping, and a
// TCP exchange with nc) and they reach it by its name and alias; inspect
// shows both networks; disconnect takes the interface and the names away.
// A created container connected before its start is connected once it
// starts, and again after a restart. Docker's errors, exit 1; nothing left.
func TestNetworkConnect(t *testing.T) {
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
		if got != code || !strings.Contains(errOut, want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
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
	idA := strings.TrimSpace(hako("network", "create", "--subnet", "10.93.8.0/24", "neta"))
	hako("network", "create", "--subnet", "10.93.9.0/24", "netb")
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "srv")
		n.hako(t, s, "network", "rm", "neta", "netb")
	})

	hako("run", "-d", "--name", "c1", "--network", "neta", "--network-alias", "web", "--network-alias", "www", busybox.ref, "sleep", "300")
	hako("run", "-d", "--name", "srv", "--network", "neta", busybox.ref, "sh", "-c", "while true; do echo hello-from-srv | nc -l -p 7000; done")
	hako("run", "-d", "--name", "c2", "-h", "c2host", "--network", "netb", busybox.ref, "sleep", "300")
	c1Addr := strings.TrimSpace(hako("inspect", "--format", "{{.NetworkSettings.Networks.neta.IPAddress}}", "c1"))
	reaches("c2", c1Addr, false) // another network: isolated
	reaches("c2", "web", false)

	// Connected while it runs, at the address asked for.
	if out := hako("network", "connect", "--alias", "db", "--ip", "10.93.8.50", "neta", "c2"); out != "" {
		t.Errorf("connect printed %q", out)
	}
	if out := hako("exec", "c2", "ip", "-4", "-o", "addr", "show", "eth1"); !strings.Contains(out, "inet 10.93.8.50/24") {
		t.Errorf("c2's eth1: %q", out)
	}
	if out := hako("exec", "c2", "ip", "route"); !strings.Contains(out, "default via 10.93.9.1 dev eth0") {
		t.Errorf("c2's routes (the default stays on eth0):\n%s", out)
	}
	for _, to := range []string{"c1", "web", "www", c1Addr} {
		reaches("c2", to, true)
	}
	for _, to := range []string{"c2", "db", "c2host", "10.93.8.50"} {
		reaches("c1", to, true)
	}
	dial := "for i in $(seq 50); do nc srv 7000 </dev/null && break; sleep 0.1; done"
	if out, errOut, code := n.hako(t, s, "exec", "c2", "sh", "-c", dial); code != 0 || out != "hello-from-srv\n" {
		t.Errorf("c2 to srv:7000 by name: exit %d, %q, %s", code, out, errOut)
	}
	if out := hako("exec", "c1", "cat", "/etc/hosts"); !strings.Contains(out, "10.93.8.50\tc2 c2host db\n") || !strings.Contains(out, c1Addr+"\tc1 web www\n") {
		t.Errorf("c1's /etc/hosts:\n%s", out)
	}
	var ci struct {
		NetworkSettings struct {
			Networks map[string]struct {
				NetworkID, IPAddress, Gateway string
				IPPrefixLen                   int
				Aliases                       []string
			}
		}
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(hako("inspect", "--format", "{{json .}}", "c2"))), &ci); err != nil {
		t.Fatal(err)
	}
	nets := ci.NetworkSettings.Networks
	if a := nets["neta"]; len(nets) != 2 || a.NetworkID != idA || a.IPAddress != "10.93.8.50" || a.IPPrefixLen != 24 || a.Gateway != "10.93.8.1" ||
		len(a.Aliases) != 1 || a.Aliases[0] != "db" || !strings.HasPrefix(nets["netb"].IPAddress, "10.93.9.") {
		t.Errorf("c2's NetworkSettings.Networks: %+v", nets)
	}
	if got := hako("inspect", "--format", "{{.NetworkSettings.Networks.neta.Aliases}}", "c1"); got != "[web www]\n" {
		t.Errorf("c1's aliases: %q", got)
	}
	if got := hako("network", "inspect", "--format", "{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}", "neta"); !strings.Contains(got, "c2=10.93.8.50/24 ") || !strings.Contains(got, "c1=") {
		t.Errorf("network inspect neta: %q", got)
	}

	// Docker's errors, exit 1.
	fails(1, "endpoint with name c2 already exists in network neta", "network", "connect", "neta", "c2")
	fails(1, "endpoint with name c1 already exists in network neta", "network", "connect", "neta", "c1")
	fails(1, "network nosuch not found", "network", "connect", "nosuch", "c2")
	fails(1, "No such container: nosuch", "network", "connect", "neta", "nosuch")
	c2B := nets["netb"].IPAddress
	fails(1, "address "+c2B+" is already in use on network netb", "network", "connect", "--ip", c2B, "netb", "c1")
	fails(1, "not in network netb's subnet", "network", "connect", "--ip", "10.1.2.3", "netb", "c1")
	hako("run", "-d", "--name", "c4", "--network", "none", busybox.ref, "sleep", "300")
	fails(1, "private (none) mode", "network", "connect", "neta", "c4")
	hako("run", "-d", "--name", "c6", "--network", "host", busybox.ref, "sleep", "300")
	fails(1, "container cannot be disconnected from host network or connected to host network", "network", "connect", "neta", "c6")
	hako("run", "-d", "--name", "c7", "--network", "container:c1", busybox.ref, "sleep", "300")
	fails(1, "container sharing network namespace with another container or host cannot be connected to any other network", "network", "connect", "netb", "c7")
	hako("rm", "-f", "c6", "c7")
	fails(125, "network-scoped alias is supported only for containers in user defined networks",
		"run", "--rm", "--network", "bridge", "--network-alias", "x", busybox.ref, "true")

	// Disconnected: the interface, the route and the names go.
	link := "hako" + strings.TrimSpace(hako("inspect", "--format", "{{.ID}}", "c2"))[:6] + "-" + idA[:4]
	if out := mustCmd(t, "nsenter", "--net="+n.ns, "ip", "-o", "link"); !strings.Contains(out, link+"@") {
		t.Errorf("no host link %s:\n%s", link, out)
	}
	hako("network", "disconnect", "neta", "c2")
	if out, _, code := n.hako(t, s, "exec", "c2", "ip", "link", "show", "eth1"); code == 0 {
		t.Errorf("c2 has eth1 after disconnect:\n%s", out)
	}
	reaches("c2", c1Addr, false)
	reaches("c1", "10.93.8.50", false)
	if out := hako("exec", "c1", "cat", "/etc/hosts"); hostsHasName(out, "c2") || hostsHasName(out, "db") {
		t.Errorf("c1's /etc/hosts after disconnect:\n%s", out)
	}
	if out := hako("exec", "c2", "cat", "/etc/hosts"); hostsHasName(out, "web") || hostsHasName(out, "c1") {
		t.Errorf("c2's /etc/hosts after disconnect:\n%s", out)
	}
	if out := mustCmd(t, "nsenter", "--net="+n.ns, "ip", "-o", "link"); strings.Contains(out, link) {
		t.Errorf("host link %s left:\n%s", link, out)
	}
	if got := hako("inspect", "--format", "{{len .NetworkSettings.Networks}}", "c2"); got != "1\n" {
		t.Errorf("c2's networks after disconnect: %s", got)
	}
	fails(1, "is not connected to network neta", "network", "disconnect", "neta", "c2")
	// What a connect and a disconnect of a running container take, each
	// a whole hako process (logged; -v shows it).
	var conn, disc []time.Duration
	for range 10 {
		t0 := time.Now()
		hako("network", "connect", "neta", "c2")
		t1 := time.Now()
		hako("network", "disconnect", "neta", "c2")
		conn, disc = append(conn, t1.Sub(t0)), append(disc, time.Since(t1))
	}
	slices.Sort(conn)
	slices.Sort(disc)
	t.Logf("network connect: median %v (min %v); disconnect: median %v (min %v)", conn[5], conn[0], disc[5], disc[0])

	// Created, connected, then started: connected from the start, and
	// again after a stop and start.
	hako("create", "--name", "c3", "--network", "netb", busybox.ref, "sleep", "300")
	hako("network", "connect", "--alias", "cache", "neta", "c3")
	if got := hako("inspect", "--format", "{{.NetworkSettings.Networks.neta.NetworkID}}", "c3"); got != idA+"\n" {
		t.Errorf("created c3's neta: %q", got)
	}
	hako("start", "c3")
	reaches("c1", "cache", true)
	reaches("c3", "web", true)
	hako("stop", "-t", "0", "c3")
	if out := hako("exec", "c1", "cat", "/etc/hosts"); strings.Contains(out, "cache") {
		t.Errorf("c1's /etc/hosts with c3 stopped:\n%s", out)
	}
	hako("start", "c3")
	reaches("c1", "cache", true)
	if out := hako("exec", "c3", "ip", "-4", "-o", "addr", "show", "eth1"); !strings.Contains(out, "inet 10.93.8.") {
		t.Errorf("c3's eth1 after a restart: %q", out)
	}
	// Disconnected while stopped: not connected at the next start.
	hako("stop", "-t", "0", "c3")
	hako("network", "disconnect", "neta", "c3")
	hako("start", "c3")
	if out, _, code := n.hako(t, s, "exec", "c3", "ip", "link", "show", "eth1"); code == 0 {
		t.Errorf("c3 has eth1 after disconnect while stopped:\n%s", out)
	}

	// On the default bridge (which resolves no names), connected to neta:
	// it reaches neta's members by name, and they it.
	hako("run", "-d", "--name", "c5", "--network", "bridge", busybox.ref, "sleep", "300")
	hako("network", "connect", "neta", "c5")
	reaches("c5", "web", true)
	reaches("c1", "c5", true)

	// Removed while connected: its connection goes with it.
	hako("network", "connect", "netb", "c1")
	reaches("c2", "c1", true)
	hako("rm", "-f", "c1")
	if out := hako("exec", "c2", "cat", "/etc/hosts"); strings.Contains(out, "\tc1") {
		t.Errorf("c2's /etc/hosts after c1 was removed:\n%s", out)
	}
	hako("rm", "-f", "c2", "c3", "c4", "c5", "srv")
	hako("network", "rm", "neta", "netb")
	n.checkClean(t)
}

// TestNetworkConnectRepair: a foreground hako run connected to a second
// network, killed with SIGKILL, leaves both entries and its names in the
// other members' hosts files; the next hako command's repair releases
// both, and the members of either network forget it.
func TestNetworkConnectRepair(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	becomeSubreaper(t)
	for _, net := range []string{"netr", "netq"} {
		if _, errOut, code := n.hako(t, s, "network", "create", net); code != 0 {
			t.Fatalf("network create %s: exit %d: %s", net, code, errOut)
		}
	}
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "q1")
		n.hako(t, s, "network", "rm", "netr", "netq")
	})
	if _, errOut, code := n.hako(t, s, "run", "-d", "--name", "q1", "--network", "netq", busybox.ref, "sleep", "300"); code != 0 {
		t.Fatalf("run q1: exit %d: %s", code, errOut)
	}
	cmd, e := n.startServer(t, s, "--network", "netr", "--name", "victim")
	if _, errOut, code := n.hako(t, s, "network", "connect", "--alias", "vic", "netq", "victim"); code != 0 {
		t.Fatalf("connect: exit %d: %s", code, errOut)
	}
	if out, _, _ := n.hako(t, s, "exec", "q1", "cat", "/etc/hosts"); !strings.Contains(out, "victim") || !strings.Contains(out, " vic\n") {
		t.Fatalf("q1's hosts does not name the connected server:\n%s", out)
	}
	if out, errOut, code := n.hako(t, s, "exec", "q1", "ping", "-c1", "-W5", "vic"); code != 0 {
		t.Errorf("q1 ping vic: exit %d: %s %s", code, out, errOut)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, errOut, code := n.hako(t, s, "run", "--rm", "--network", "netq", busybox.ref, "true"); code != 0 {
		t.Fatalf("run after the kill: exit %d: %s", code, errOut)
	}
	if out, _, _ := n.hako(t, s, "exec", "q1", "cat", "/etc/hosts"); strings.Contains(out, "victim") || strings.Contains(out, "vic") {
		t.Errorf("q1's hosts still names the killed server:\n%s", out)
	}
	for k := range n.entries(t) {
		if strings.HasPrefix(k, e.ID) {
			t.Errorf("the killed server's entry %s is left", k)
		}
	}
	n.hako(t, s, "rm", "-f", "q1")
	if _, errOut, code := n.hako(t, s, "network", "rm", "netr", "netq"); code != 0 {
		t.Errorf("network rm: exit %d: %s", code, errOut)
	}
	n.checkClean(t)
}

// hostsHasName tells whether a hosts file names name on some line (as a
// whole word: a container ID such as fedb63… must not count as "db").
func hostsHasName(hosts, name string) bool {
	for _, line := range strings.Split(hosts, "\n") {
		if f := strings.Fields(line); len(f) > 1 && slices.Contains(f[1:], name) {
			return true
		}
	}
	return false
}
