package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestNetworkUser: user networks (hako network create) in a test-made
// namespace. Containers on one network reach each other by name, their
// hosts files list each other and follow a member that joins later; a
// container on another network cannot reach them; rm is refused while a
// container uses the network; -p works on it; ls and inspect have
// Docker's formats; a subnet clashing with a route is refused; nothing is
// left once the networks are removed.
func TestNetworkUser(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	name := filepath.Base(n.ns)
	// A host route over the pool's first subnets: allocation skips them.
	mustCmd(t, "ip", "-n", name, "route", "add", "10.90.0.0/23", "via", peerAddr)
	hako := func(args ...string) string {
		t.Helper()
		out, errOut, code := n.hako(t, s, args...)
		if code != 0 {
			t.Fatalf("hako %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	idA := strings.TrimSpace(hako("network", "create", "neta"))
	idB := strings.TrimSpace(hako("network", "create", "--subnet", "10.93.7.0/24", "--gateway", "10.93.7.254", "netb"))
	if len(idA) != 64 || len(idB) != 64 {
		t.Fatalf("network IDs %q, %q", idA, idB)
	}
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "a1", "a2", "a3", "b1")
		n.hako(t, s, "network", "rm", "neta", "netb")
	})
	if _, errOut, code := n.hako(t, s, "network", "create", "neta"); code != 1 || !strings.Contains(errOut, "network with name neta already exists") {
		t.Errorf("create twice: exit %d, %q", code, errOut)
	}

	// ls, ls -q, ls --format
	out := hako("network", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "NETWORK ID") || !strings.Contains(lines[0], "NAME") || !strings.Contains(lines[0], "DRIVER") || !strings.HasSuffix(lines[0], "SCOPE") {
		t.Fatalf("network ls:\n%s", out)
	}
	want := []string{"bridge bridge local", "host host local", "neta bridge local", "netb bridge local", "none null local"}
	for i, w := range want {
		f := strings.Fields(lines[i+1])
		if len(f) != 4 || strings.Join(f[1:], " ") != w || len(f[0]) != 12 {
			t.Errorf("ls line %d: %q, want ID and %q", i+1, lines[i+1], w)
		}
	}
	if !strings.HasPrefix(lines[3], idA[:12]+" ") {
		t.Errorf("neta's line %q, want its ID %s", lines[3], idA[:12])
	}
	if q := strings.Fields(hako("network", "ls", "-q")); len(q) != 5 || q[2] != idA[:12] || q[3] != idB[:12] {
		t.Errorf("ls -q: %q", q)
	}
	if f := hako("network", "ls", "--format", "{{.Name}}:{{.Driver}}"); f != "bridge:bridge\nhost:host\nneta:bridge\nnetb:bridge\nnone:null\n" {
		t.Errorf("ls --format: %q", f)
	}
	if f := hako("network", "ls", "--filter", "type=custom", "--filter", "name=net", "--format", "{{.Name}}"); f != "neta\nnetb\n" {
		t.Errorf("ls --filter type=custom --filter name=net: %q", f)
	}

	// inspect: subnets allocated past the route, or as given.
	inspect := func(ref string) (ni struct {
		Name, Id, Driver string
		IPAM             struct {
			Config []struct{ Subnet, Gateway string }
		}
		Containers map[string]struct{ Name, IPv4Address string }
	}) {
		t.Helper()
		var all []json.RawMessage
		out := hako("network", "inspect", ref)
		if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 1 {
			t.Fatalf("inspect %s: %v\n%s", ref, err, out)
		}
		json.Unmarshal(all[0], &ni)
		return ni
	}
	a := inspect("neta")
	if a.Name != "neta" || a.Id != idA || a.Driver != "bridge" || len(a.IPAM.Config) != 1 ||
		a.IPAM.Config[0].Subnet != "10.90.2.0/24" || a.IPAM.Config[0].Gateway != "10.90.2.1" {
		t.Errorf("inspect neta: %+v, want subnet 10.90.2.0/24 (after the host's 10.90.0.0/23) and gateway 10.90.2.1", a)
	}
	if b := inspect(idB[:5]); b.Name != "netb" || b.IPAM.Config[0].Subnet != "10.93.7.0/24" || b.IPAM.Config[0].Gateway != "10.93.7.254" {
		t.Errorf("inspect netb by ID prefix: %+v", b)
	}
	if f := hako("network", "inspect", "--format", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", "bridge"); f != "bridge 10.89.0.0/24\n" {
		t.Errorf("inspect bridge: %q", f)
	}
	if _, errOut, code := n.hako(t, s, "network", "inspect", "nosuch"); code != 1 || !strings.Contains(errOut, "No such network: nosuch") {
		t.Errorf("inspect nosuch: exit %d, %q", code, errOut)
	}
	// The bridge exists with the gateway address.
	if out := mustCmd(t, "ip", "-n", name, "-4", "-o", "addr", "show", "dev", "hako-"+idA[:8]); !strings.Contains(out, "inet 10.90.2.1/24") {
		t.Errorf("neta's bridge: %q", out)
	}

	// Two containers on neta reach each other by name.
	hako("run", "-d", "--name", "a1", "--network", "neta", busybox.ref, "sleep", "300")
	hako("run", "-d", "--name", "a2", "-h", "second", "--network", "neta", busybox.ref, "sleep", "300")
	hosts := hako("exec", "a1", "cat", "/etc/hosts")
	if !strings.Contains(hosts, "\ta2 second\n") || !strings.Contains(hosts, "\ta1\n") || strings.Contains(hosts, "\ta1 ") {
		t.Errorf("a1's /etc/hosts:\n%s\nwant a2 (with its hostname) and its own name", hosts)
	}
	if out := hako("exec", "a2", "cat", "/etc/hosts"); !strings.Contains(out, "\ta1 ") {
		t.Errorf("a2's /etc/hosts:\n%s\nwant a1", out)
	}
	for _, c := range [][2]string{{"a1", "a2"}, {"a2", "a1"}, {"a1", "second"}, {"a1", "a1"}} {
		if out, errOut, code := n.hako(t, s, "exec", c[0], "ping", "-c1", "-W5", c[1]); code != 0 {
			t.Errorf("%s ping %s: exit %d, %s %s", c[0], c[1], code, out, errOut)
		}
	}
	// A third one, later, appears in the first one's hosts file (the same
	// file, rewritten in place) without a restart.
	hako("run", "-d", "--name", "a3", "--network", "neta", busybox.ref, "sleep", "300")
	if out := hako("exec", "a1", "cat", "/etc/hosts"); !strings.Contains(out, "\ta3 ") {
		t.Errorf("a1's /etc/hosts after a3 joined:\n%s", out)
	}
	if out, errOut, code := n.hako(t, s, "exec", "a1", "ping", "-c1", "-W5", "a3"); code != 0 {
		t.Errorf("a1 ping a3: exit %d, %s %s", code, out, errOut)
	}
	a = inspect("neta")
	var members []string
	addrOf := map[string]string{}
	for _, c := range a.Containers {
		members = append(members, c.Name)
		addrOf[c.Name], _, _ = strings.Cut(c.IPv4Address, "/")
		if !strings.HasPrefix(c.IPv4Address, "10.90.2.") || !strings.HasSuffix(c.IPv4Address, "/24") {
			t.Errorf("member %s at %s", c.Name, c.IPv4Address)
		}
	}
	if len(members) != 3 {
		t.Errorf("neta's containers: %v", members)
	}

	if got := hako("inspect", "--format", "{{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.neta.IPAddress}} {{.NetworkSettings.Networks.neta.NetworkID}}", "a1"); got != "neta "+addrOf["a1"]+" "+idA+"\n" {
		t.Errorf("inspect a1: %q, want neta, its address %s and neta's ID", got, addrOf["a1"])
	}
	// Stopped and started again, a2 has a new address, which a1 sees, and
	// a2's new hosts file lists the others again.
	hako("stop", "-t", "0", "a2")
	if out := hako("exec", "a1", "cat", "/etc/hosts"); strings.Contains(out, "\ta2 ") {
		t.Errorf("a1's /etc/hosts with a2 stopped:\n%s", out)
	}
	hako("start", "a2")
	a2Addr := strings.TrimSpace(hako("inspect", "--format", "{{.NetworkSettings.Networks.neta.IPAddress}}", "a2"))
	if a2Addr == addrOf["a2"] || !strings.HasPrefix(a2Addr, "10.90.2.") {
		t.Errorf("a2's address after start: %q (before %s)", a2Addr, addrOf["a2"])
	}
	if out := hako("exec", "a1", "cat", "/etc/hosts"); !strings.Contains(out, a2Addr+"\ta2 second\n") {
		t.Errorf("a1's /etc/hosts after a2 started again at %s:\n%s", a2Addr, out)
	}
	if out := hako("exec", "a2", "cat", "/etc/hosts"); !strings.Contains(out, "\ta1 ") || !strings.Contains(out, "\ta3 ") || !strings.Contains(out, a2Addr+"\tsecond\n") {
		t.Errorf("a2's /etc/hosts after start:\n%s", out)
	}
	if out, errOut, code := n.hako(t, s, "exec", "a1", "ping", "-c1", "-W5", "a2"); code != 0 {
		t.Errorf("a1 ping a2 after its restart: exit %d, %s %s", code, out, errOut)
	}

	// A container on netb cannot reach neta's, by name or address.
	hako("run", "-d", "--name", "b1", "--network", "netb", busybox.ref, "sleep", "300")
	if out := hako("exec", "b1", "cat", "/etc/hosts"); strings.Contains(out, "\ta1 ") {
		t.Errorf("b1's hosts names neta's a1:\n%s", out)
	}
	if out, _, code := n.hako(t, s, "exec", "b1", "ping", "-c1", "-W2", addrOf["a1"]); code == 0 {
		t.Errorf("b1 reached a1 at %s across networks: %s", addrOf["a1"], out)
	}
	bAddr := strings.Fields(hako("exec", "b1", "ip", "-4", "-o", "addr", "show", "eth0"))[3]
	if !strings.HasPrefix(bAddr, "10.93.7.1/24") {
		t.Errorf("b1's address %s, want the first host address of 10.93.7.0/24 (10.93.7.1)", bAddr)
	}
	if out, _, code := n.hako(t, s, "exec", "a1", "ping", "-c1", "-W2", "10.93.7.1"); code == 0 {
		t.Errorf("a1 reached b1 across networks: %s", out)
	}
	// Nor can one on the default bridge, which resolves no names.
	out, _, code := n.hako(t, s, "run", "--rm", "--network", "bridge", busybox.ref, "sh", "-c", "cat /etc/hosts; ping -c1 -W2 "+addrOf["a1"])
	if code == 0 || strings.Contains(out, "\ta1 ") {
		t.Errorf("a default bridge container: exit %d (want failure to reach a1):\n%s", code, out)
	}

	// -p works on a user network: from the other host, keeping its address.
	cmd, _ := n.startServer(t, s, "--network", "neta", "-p", "8090:7000")
	if got := talk(t, n.peer, hostAddr+":8090"); got != peerAddr {
		t.Errorf("through -p on neta the server saw %s, want %s", got, peerAddr)
	}
	// And the server, on neta, reaches a1 by name (Go's resolver reads
	// /etc/hosts): nothing listens there, so connection refused, not a
	// failed lookup.
	if got := ask(t, n.peer, hostAddr+":8090", "dial a1:9"); !strings.Contains(got, "refused") {
		t.Errorf("dial a1:9 from the server: %q, want connection refused", got)
	}
	quit(t, n.peer, hostAddr+":8090", cmd)

	// rm of a network in use is refused; after its containers go it works.
	_, errOut, code := n.hako(t, s, "network", "rm", "neta")
	if want := fmt.Sprintf("error while removing network: network neta id %s has active endpoints", idA); code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("rm neta in use: exit %d, %q; want 1 and %q", code, errOut, want)
	}
	if _, errOut, code := n.hako(t, s, "network", "rm", "bridge"); code != 1 || !strings.Contains(errOut, "bridge is a pre-defined network and cannot be removed") {
		t.Errorf("rm bridge: exit %d, %q", code, errOut)
	}
	hako("rm", "-f", "a3")
	if out := hako("exec", "a1", "cat", "/etc/hosts"); strings.Contains(out, "\ta3 ") || !strings.Contains(out, "\ta2 ") {
		t.Errorf("a1's /etc/hosts after a3 left:\n%s", out)
	}
	hako("rm", "-f", "a1", "a2", "b1")
	if out := hako("network", "rm", "neta", "netb"); out != "neta\nnetb\n" {
		t.Errorf("network rm: %q", out)
	}

	// A subnet clashing with a route: one line, exit 1.
	_, errOut, code = n.hako(t, s, "network", "create", "--subnet", "10.90.1.0/24", "netc")
	if code != 1 || !strings.Contains(errOut, "overlaps the host's route to 10.90.0.0/23 (dev uplink)") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("subnet clash: exit %d, %q", code, errOut)
	}
	// prune removes unused networks.
	hako("network", "create", "netc")
	if out := hako("network", "prune", "-f"); out != "Deleted Networks:\nnetc\n" {
		t.Errorf("prune: %q", out)
	}

	// Nothing left: bridges, rules, entries, definitions.
	n.checkClean(t)
	if out := mustCmd(t, "ip", "-n", name, "-o", "link", "show", "type", "bridge"); strings.Contains(out, "hako-") {
		t.Errorf("bridges left:\n%s", out)
	}
	if rules := mustCmd(t, "ip", "netns", "exec", name, "nft", "list", "table", "ip", "hako"); strings.Contains(rules, "hako:net") {
		t.Errorf("network rules left:\n%s", rules)
	}
	if f, _ := os.ReadDir(n.defsDir()); len(f) != 0 {
		t.Errorf("definitions left: %v", f)
	}
	if out := hako("network", "ls", "-q"); len(strings.Fields(out)) != 3 {
		t.Errorf("ls after: %q", out)
	}
}

// TestNetworkUserRepair: a hako run on a user network killed with SIGKILL
// leaves its entry, and its name in the other members' hosts files; the
// next hako command's repair releases it, and the others forget it.
func TestNetworkUserRepair(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	becomeSubreaper(t)
	if _, errOut, code := n.hako(t, s, "network", "create", "netr"); code != 0 {
		t.Fatalf("network create: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "r1")
		n.hako(t, s, "network", "rm", "netr")
	})
	if _, errOut, code := n.hako(t, s, "run", "-d", "--name", "r1", "--network", "netr", busybox.ref, "sleep", "300"); code != 0 {
		t.Fatalf("run r1: exit %d: %s", code, errOut)
	}
	cmd, e := n.startServer(t, s, "--network", "netr", "--name", "victim")
	if out, _, _ := n.hako(t, s, "exec", "r1", "cat", "/etc/hosts"); !strings.Contains(out, e.Address+"\tvictim ") {
		t.Fatalf("r1's hosts does not name the server at %s:\n%s", e.Address, out)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, errOut, code := n.hako(t, s, "run", "--rm", "--network", "netr", busybox.ref, "true"); code != 0 {
		t.Fatalf("run after the kill: exit %d: %s", code, errOut)
	}
	if out, _, _ := n.hako(t, s, "exec", "r1", "cat", "/etc/hosts"); strings.Contains(out, "victim") {
		t.Errorf("r1's hosts still names the killed server:\n%s", out)
	}
	if _, ok := n.entries(t)[e.ID]; ok {
		t.Errorf("the killed server's entry is left")
	}
	n.hako(t, s, "rm", "-f", "r1")
	if _, errOut, code := n.hako(t, s, "network", "rm", "netr"); code != 0 {
		t.Errorf("network rm: exit %d: %s", code, errOut)
	}
	n.checkClean(t)
}
