package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	hostAddr6 = "fd99::1"
	peerAddr6 = "fd99::2"
)

// addIPv6 gives the test's uplink veths IPv6 addresses: host fd99::1,
// the other host fd99::2 (no duplicate address detection: usable at once).
func (n *testNet) addIPv6(t *testing.T) {
	t.Helper()
	for _, c := range [][2]string{{n.ns, hostAddr6}, {n.peer, peerAddr6}} {
		name := filepath.Base(c[0])
		mustCmd(t, "ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.uplink.disable_ipv6=0", "net.ipv6.conf.lo.disable_ipv6=0")
		mustCmd(t, "ip", "-n", name, "-6", "addr", "add", c[1]+"/64", "dev", "uplink", "nodad")
	}
}

// talk6 is talk over IPv6.
func talk6(t *testing.T, ns, addr string) string {
	t.Helper()
	var c net.Conn
	err := in(ns, func() (err error) {
		c, err = net.DialTimeout("tcp6", addr, 5*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	greet, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading from %s: %v", addr, err)
	}
	fmt.Fprintf(c, "ping %s\n", addr)
	if echo, err := r.ReadString('\n'); err != nil || echo != strings.ToUpper("ping "+addr)+"\n" {
		t.Fatalf("echo through %s: %q, %v", addr, echo, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(greet, "from "))
}

// udpTalk6 is udpTalk over IPv6.
func udpTalk6(t *testing.T, ns, addr string) string {
	t.Helper()
	var c net.Conn
	if err := in(ns, func() (err error) { c, err = net.Dial("udp6", addr); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for i := 0; i < 20; i++ {
		c.Write([]byte("hello"))
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("no UDP reply from %s", addr)
	return ""
}

// TestNetworkIPv6NAT: on a network created with --ipv6, a container
// reaches the other host over IPv6 through outbound NAT (the other host
// sees the host's address); -p publishes on 0.0.0.0 and [::] with the same
// port, forwarded by the kernel from the other host over IPv6 (keeping its
// source address, TCP and UDP) and from the host's own IPv6 address;
// hako port and ps show both lines as Docker does; -p [::]:P:C publishes
// on IPv6 only, and is refused on a network without IPv6; network rm
// leaves no IPv6 rule.
func TestNetworkIPv6NAT(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	n.addIPv6(t)
	hako := func(args ...string) string {
		t.Helper()
		out, errOut, code := n.hako(t, s, args...)
		if code != 0 {
			t.Fatalf("hako %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	hako("network", "create", "--ipv6", "--subnet", "10.93.20.0/24", "--subnet", "fd00:88::/64", "nat6")
	hako("network", "create", "--subnet", "10.93.21.0/24", "only4")
	// IPv6 forwarding on, router advertisements still accepted on the uplink.
	for sysctl, want := range map[string]string{"net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.uplink.accept_ra": "2"} {
		if got := strings.TrimSpace(mustCmd(t, "ip", "netns", "exec", filepath.Base(n.ns), "sysctl", "-n", sysctl)); got != want {
			t.Errorf("%s = %s, want %s", sysctl, got, want)
		}
	}
	t.Cleanup(func() {
		n.hako(t, s, "rm", "-f", "d6")
		n.hako(t, s, "network", "rm", "nat6", "only4")
	})

	// The other host listens on IPv6 and tells who connected.
	var l net.Listener
	if err := in(n.peer, func() (err error) { l, err = net.Listen("tcp6", "["+peerAddr6+"]:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "from %s\n", host)
			c.Close()
		}
	}()

	cmd, e := n.startServer(t, s, "--network", "nat6", "-p", "8091:7000", "-p", "8092:7000/udp", "-p", "[::]:8093:7000")
	// Outbound: the other host sees the host's IPv6 address.
	if got := ask(t, n.peer, hostAddr+":8091", "dial "+l.Addr().String()); got != "from "+hostAddr6 {
		t.Errorf("the container's IPv6 connection to the other host: %q, want from %s (NAT)", got, hostAddr6)
	}
	// Inbound over IPv6 from the other host, source kept; and from the host.
	for _, port := range []string{"8091", "8093"} {
		if got := talk6(t, n.peer, "["+hostAddr6+"]:"+port); got != peerAddr6 {
			t.Errorf("through -p on [::]:%s the server saw %s, want %s", port, got, peerAddr6)
		}
	}
	if got := talk6(t, n.ns, "["+hostAddr6+"]:8091"); got == "" {
		t.Errorf("from the host to its own IPv6 address: no answer")
	}
	// Hairpin: the container through its own published port over IPv6.
	if got := ask(t, n.peer, hostAddr+":8091", "dial ["+hostAddr6+"]:8091"); got != "from fd00:88::1" {
		t.Errorf("hairpin over IPv6: %q, want from fd00:88::1 (the bridge)", got)
	}
	if got := udpTalk6(t, n.peer, "["+hostAddr6+"]:8092"); got != "udp "+peerAddr6+" HELLO" {
		t.Errorf("UDP over IPv6: %q", got)
	}
	// [::1] is not forwarded (no route_localnet for IPv6, no proxy): refused at once.
	if err := in(n.ns, func() error {
		c, err := net.DialTimeout("tcp6", "[::1]:8091", 3*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("[::1]:8091: %v, want connection refused", err)
	}
	// IPv4 as before.
	if got := talk(t, n.peer, hostAddr+":8091"); got != peerAddr {
		t.Errorf("through -p over IPv4 the server saw %s, want %s", got, peerAddr)
	}
	want := "7000/tcp -> 0.0.0.0:8091\n7000/tcp -> [::]:8091\n7000/udp -> 0.0.0.0:8092\n7000/udp -> [::]:8092\n7000/tcp -> [::]:8093\n"
	if got := hako("port", e.ID); got != want {
		t.Errorf("hako port:\n%s\nwant\n%s", got, want)
	}
	if got := hako("port", e.ID, "7000/tcp"); got != "0.0.0.0:8091\n[::]:8091\n[::]:8093\n" {
		t.Errorf("hako port 7000/tcp: %q", got)
	}
	if got := hako("ps", "--filter", "id="+e.ID, "--format", "{{.Ports}}"); got != "0.0.0.0:8091->7000/tcp, [::]:8091->7000/tcp, 0.0.0.0:8092->7000/udp, [::]:8092->7000/udp, [::]:8093->7000/tcp\n" {
		t.Errorf("ps PORTS: %q", got)
	}
	if out := mustCmd(t, "nsenter", "--net="+n.ns, "nft", "list", "table", "ip6", "hako"); strings.Count(out, "dnat to") != 3 {
		t.Errorf("ip6 table, want 3 dnat rules:\n%s", out)
	}
	quit(t, n.peer, hostAddr+":8091", cmd)

	// Detached: the monitor holds the [::] reservations; rm releases them.
	hako("run", "-d", "--name", "d6", "--network", "nat6", "-p", "8095:7000", netImage(t), "/srv", "7000")
	var got string
	for i := 0; i < 50 && got == ""; i++ { // until the server listens
		in(n.peer, func() error {
			c, err := net.DialTimeout("tcp6", "["+hostAddr6+"]:8095", time.Second)
			if err == nil {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				got, _ = bufio.NewReader(c).ReadString('\n')
				c.Close()
			} else {
				time.Sleep(100 * time.Millisecond)
			}
			return nil
		})
	}
	if got != "from "+peerAddr6+"\n" {
		t.Errorf("-d on [::]:8095: %q", got)
	}
	hako("rm", "-f", "d6")
	if err := in(n.ns, func() error {
		l, err := net.Listen("tcp6", "[::]:8095")
		if err == nil {
			l.Close()
		}
		return err
	}); err != nil {
		t.Errorf("[::]:8095 still reserved after rm: %v", err)
	}

	// IPv6 publishing needs an IPv6 network.
	if _, errOut, code := n.hako(t, s, "run", "--rm", "--network", "only4", "-p", "[::]:8094:80", busybox.ref, "true"); code != 125 || !strings.Contains(errOut, "needs a network with IPv6") {
		t.Errorf("-p [::] on an IPv4 network: exit %d, %q", code, errOut)
	}
	hako("network", "rm", "nat6", "only4")
	n.checkClean(t)
	if out, _ := exec.Command("nsenter", "--net="+n.ns, "nft", "list", "table", "ip6", "hako").CombinedOutput(); strings.Contains(string(out), "masquerade") || strings.Contains(string(out), "hako-") {
		t.Errorf("IPv6 network rules left:\n%s", out)
	}
}

// TestNetworkIPv6Iptables: with {"firewall": "iptables"} an IPv6
// network's NAT and -p forwarding are made with ip6tables (nft and legacy
// alike) in HAKO-* chains: the container reaches the other host over IPv6
// through NAT, -p answers the other host over IPv6 keeping its address,
// [::1] is refused; no nftables table appears and once the network is
// removed the ip6tables tables are as they were.
func TestNetworkIPv6Iptables(t *testing.T) {
	for _, variant := range []string{"nft", "legacy"} {
		t.Run(variant, func(t *testing.T) {
			s := runStore(t)
			n := newTestNet(t)
			n.addIPv6(t)
			pathDir := t.TempDir()
			var bin6 string
			for _, name := range []string{"iptables", "ip6tables"} {
				bin, err := exec.LookPath(name + "-" + variant)
				if err != nil {
					t.Fatalf("%s-%s is needed (Debian's iptables): %v", name, variant, err)
				}
				if err := os.Symlink(bin, filepath.Join(pathDir, name)); err != nil {
					t.Fatal(err)
				}
				bin6 = bin
			}
			conf := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(conf, []byte(`{"firewall": "iptables"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			n.env = []string{"HAKO_CONFIG=" + conf, "PATH=" + pathDir + ":" + os.Getenv("PATH")}
			// Another tool's rules, in the chains hako jumps from.
			mustCmd(t, "nsenter", "--net="+n.ns, bin6, "-w", "-t", "nat", "-A", "POSTROUTING", "-o", "uplink", "-p", "udp", "--dport", "9", "-j", "RETURN")
			mustCmd(t, "nsenter", "--net="+n.ns, bin6, "-w", "-A", "FORWARD", "-i", "uplink", "-p", "tcp", "--dport", "9", "-j", "ACCEPT")
			before := n.iptablesSave(t, bin6)
			hako := func(args ...string) string {
				t.Helper()
				out, errOut, code := n.hako(t, s, args...)
				if code != 0 {
					t.Fatalf("hako %s: exit %d: %s", strings.Join(args, " "), code, errOut)
				}
				return out
			}
			hako("network", "create", "--ipv6", "--subnet", "10.93.22.0/24", "--subnet", "fd00:89::/64", "ipt6")
			t.Cleanup(func() { n.hako(t, s, "network", "rm", "ipt6") })
			var l net.Listener
			if err := in(n.peer, func() (err error) { l, err = net.Listen("tcp6", "["+peerAddr6+"]:0"); return err }); err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
					fmt.Fprintf(c, "from %s\n", host)
					c.Close()
				}
			}()
			cmd, _ := n.startServer(t, s, "--network", "ipt6", "-p", "8091:7000")
			if got := ask(t, n.peer, hostAddr+":8091", "dial "+l.Addr().String()); got != "from "+hostAddr6 {
				t.Errorf("outbound over IPv6: %q, want from %s", got, hostAddr6)
			}
			if got := talk6(t, n.peer, "["+hostAddr6+"]:8091"); got != peerAddr6 {
				t.Errorf("-p over IPv6: the server saw %s, want %s", got, peerAddr6)
			}
			if got := greeting(n.ns, "tcp6", "[::1]:8091"); got != "" {
				t.Errorf("[::1]:8091 answered %q", got)
			}
			if out := mustCmd(t, "nsenter", "--net="+n.ns, bin6, "-w", "-t", "nat", "-S"); !strings.Contains(out, "-j DNAT --to-destination [fd00:89::2]:7000") || !strings.Contains(out, "-s fd00:89::/64 ! -o hako-") {
				t.Errorf("ip6tables nat table:\n%s", out)
			}
			if out, err := exec.Command("nsenter", "--net="+n.ns, "nft", "list", "table", "ip6", "hako").CombinedOutput(); err == nil {
				t.Errorf("an nftables table although told to use iptables:\n%s", out)
			}
			quit(t, n.peer, hostAddr+":8091", cmd)
			hako("network", "rm", "ipt6")
			n.checkClean(t)
			if after := n.iptablesSave(t, bin6); after != before {
				t.Errorf("the ip6tables tables changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestNetworkIPv6Repair: a hako run on an IPv6 network with -p, killed
// with SIGKILL, leaves its IPv6 port rules; the next hako command's
// repair removes them with the rest.
func TestNetworkIPv6Repair(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	n.addIPv6(t)
	becomeSubreaper(t)
	if _, errOut, code := n.hako(t, s, "network", "create", "--ipv6", "--subnet", "10.93.23.0/24", "rep6"); code != 0 {
		t.Fatalf("network create: %s", errOut)
	}
	t.Cleanup(func() { n.hako(t, s, "network", "rm", "rep6") })
	cmd, _ := n.startServer(t, s, "--network", "rep6", "-p", "8097:7000")
	if got := talk6(t, n.peer, "["+hostAddr6+"]:8097"); got != peerAddr6 {
		t.Errorf("server saw %s", got)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if out := mustCmd(t, "nsenter", "--net="+n.ns, "nft", "list", "table", "ip6", "hako"); !strings.Contains(out, "dnat to") {
		t.Fatalf("no IPv6 port rule left by the kill; the test needs one:\n%s", out)
	}
	if _, errOut, code := n.hako(t, s, "run", "--rm", busybox.ref, "true"); code != 0 {
		t.Fatalf("run after the kill: exit %d: %s", code, errOut)
	}
	if out := mustCmd(t, "nsenter", "--net="+n.ns, "nft", "list", "table", "ip6", "hako"); strings.Contains(out, "dnat to") {
		t.Errorf("IPv6 port rule left after repair:\n%s", out)
	}
	if _, errOut, code := n.hako(t, s, "network", "rm", "rep6"); code != 0 {
		t.Fatalf("network rm: %s", errOut)
	}
	n.checkClean(t)
}
