package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNetworkIptables: with {"firewall": "iptables"} hako makes its rules
// with the iptables binary, iptables-nft and iptables-legacy alike, in its
// own HAKO-* chains: -p works from another host (keeping its address),
// from localhost and from the container itself, UDP too; a container
// reaches the other host through NAT; a user network's rules come and go;
// no nftables table of hako's appears; and once the containers are gone
// the tables are as they were, the rules of another tool untouched.
func TestNetworkIptables(t *testing.T) {
	for _, variant := range []string{"iptables-nft", "iptables-legacy"} {
		t.Run(variant, func(t *testing.T) {
			bin, err := exec.LookPath(variant)
			if err != nil {
				t.Fatalf("%s is needed (Debian's iptables; make test installs it): %v", variant, err)
			}
			testIptables(t, bin)
		})
	}
}

func testIptables(t *testing.T, bin string) {
	s := runStore(t)
	n := newTestNet(t)
	// hako runs "iptables": this variant, under that name (xtables-*-multi
	// picks the command by its name).
	pathDir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(pathDir, "iptables")); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(conf, []byte(`{"firewall": "iptables"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	n.env = []string{"HAKO_CONFIG=" + conf, "PATH=" + pathDir + ":" + os.Getenv("PATH")}
	ipt := func(args ...string) string {
		t.Helper()
		return mustCmd(t, "nsenter", append([]string{"--net=" + n.ns, bin, "-w"}, args...)...)
	}
	// Another tool's rules, in the chains hako jumps from.
	ipt("-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "9", "-m", "comment", "--comment", "admin", "-j", "RETURN")
	ipt("-t", "nat", "-A", "POSTROUTING", "-o", "uplink", "-p", "udp", "--dport", "9", "-j", "RETURN")
	ipt("-A", "FORWARD", "-i", "uplink", "-p", "tcp", "--dport", "9", "-j", "ACCEPT")
	before := n.iptablesSave(t, bin)

	cmd, e := n.startServer(t, s, "-p", "8080:7000", "-p", "8081:7000/udp")
	rules := ipt("-t", "nat", "-S")
	for _, want := range []string{
		"-A PREROUTING -m addrtype --dst-type LOCAL -j HAKO-PORTS",
		"-A OUTPUT -m addrtype --dst-type LOCAL -j HAKO-PORTS",
		"-A POSTROUTING -j HAKO-POSTROUTING",
		"--dport 8080 -m comment --comment \"hako:" + e.ID + "\" -j DNAT --to-destination " + e.Address + ":7000",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("nat table lacks %q:\n%s", want, rules)
		}
	}
	if out, err := exec.Command("nsenter", "--net="+n.ns, "nft", "list", "table", "ip", "hako").CombinedOutput(); err == nil {
		t.Errorf("hako made its nftables table although told to use iptables:\n%s", out)
	}
	for _, c := range []struct{ ns, addr, src string }{
		{n.peer, hostAddr + ":8080", peerAddr},
		{n.ns, "127.0.0.1:8080", "10.89.0.1"},
		{n.ns, hostAddr + ":8080", hostAddr},
	} {
		if got := talk(t, c.ns, c.addr); got != c.src {
			t.Errorf("through %s: server saw %s, want %s", c.addr, got, c.src)
		}
	}
	if got, want := udpTalk(t, n.peer, hostAddr+":8081"), "udp "+peerAddr+" HELLO"; got != want {
		t.Errorf("udp: %q, want %q", got, want)
	}
	if got, want := ask(t, n.ns, "127.0.0.1:8080", "dial "+hostAddr+":8080"), "from 10.89.0.1"; got != want {
		t.Errorf("hairpin: %q, want %q", got, want)
	}

	// Outbound NAT: a second container reaches the other host, which sees
	// the host's address.
	peerSide, err := listenIn(n.peer, peerAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer peerSide.Close()
	seen := make(chan string, 1)
	go func() {
		if c, err := peerSide.Accept(); err == nil {
			seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	if _, errOut, code := n.hako(t, s, "run", "--rm", busybox.ref, "sh", "-c",
		"echo x | nc "+strings.Replace(peerSide.Addr().String(), ":", " ", 1)); code != 0 {
		t.Fatalf("outbound container: exit %d, %s", code, errOut)
	}
	select {
	case ip := <-seen:
		if ip != hostAddr {
			t.Errorf("the other host saw %s, want the host's %s (masquerade)", ip, hostAddr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the container did not reach the other host")
	}

	// A user network: its isolation rules in HAKO-FORWARD, gone with it.
	if _, errOut, code := n.hako(t, s, "network", "create", "iptnet"); code != 0 {
		t.Fatalf("network create: exit %d, %s", code, errOut)
	}
	if _, errOut, code := n.hako(t, s, "run", "--rm", "--network", "iptnet", busybox.ref, "true"); code != 0 {
		t.Fatalf("run on the user network: exit %d, %s", code, errOut)
	}
	if fwd := ipt("-S"); !strings.Contains(fwd, "-A FORWARD -j HAKO-FORWARD") || !strings.Contains(fwd, "-o hako+") {
		t.Errorf("filter table with a user network:\n%s", fwd)
	}
	if _, errOut, code := n.hako(t, s, "network", "rm", "iptnet"); code != 0 {
		t.Fatalf("network rm: exit %d, %s", code, errOut)
	}

	quit(t, n.ns, "127.0.0.1:8080", cmd)
	n.checkClean(t)
	if after := n.iptablesSave(t, bin); after != before {
		t.Errorf("the tables changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

var saveNoise = regexp.MustCompile(`(?m)^#.*\n|\[\d+:\d+\]`)

// iptablesSave is the namespace's iptables-save output (of bin's kind)
// without comments and counters.
func (n *testNet) iptablesSave(t *testing.T, bin string) string {
	t.Helper()
	out := mustCmd(t, "nsenter", "--net="+n.ns, bin+"-save")
	return saveNoise.ReplaceAllString(out, "")
}
