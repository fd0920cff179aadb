package e2e

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// TestNetworkDetached: a detached container keeps its published port after
// the hako that started it exits (its monitor holds the reservation), ps,
// port and inspect show the mapping, stop releases everything, and start
// sets the network up again.
func TestNetworkDetached(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	s.mustHako(t, "pull", "-q", netImage(t))
	out, errOut, code := n.hako(t, s, "run", "-d", "--name", "web", "-p", "8080:7000", netImage(t), "/srv", "7000")
	if code != 0 {
		t.Fatalf("run -d -p: exit %d: %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	t.Cleanup(func() { n.hako(t, s, "rm", "-f", id) })
	addr := hostAddr + ":8080"
	waitServing(t, n.peer, addr)
	if got := talk(t, n.peer, addr); got != peerAddr {
		t.Errorf("server saw %s, want the peer's %s", got, peerAddr)
	}
	ps, _, _ := n.hako(t, s, "ps", "--format", "{{.Ports}}")
	if strings.TrimSpace(ps) != "0.0.0.0:8080->7000/tcp" {
		t.Errorf("ps PORTS = %q", ps)
	}
	if out, _, _ := n.hako(t, s, "port", "web"); strings.TrimSpace(out) != "7000/tcp -> 0.0.0.0:8080" {
		t.Errorf("port web = %q", out)
	}
	if out, _, _ := n.hako(t, s, "port", "web", "7000"); strings.TrimSpace(out) != "0.0.0.0:8080" {
		t.Errorf("port web 7000 = %q", out)
	}
	if _, errOut, code := n.hako(t, s, "port", "web", "9/udp"); code != 1 || !strings.Contains(errOut, "no public port '9/udp'") {
		t.Errorf("port web 9/udp: exit %d, %q", code, errOut)
	}
	var ins []struct {
		HostConfig      struct{ NetworkMode string }
		NetworkSettings struct {
			IPAddress string
			Gateway   string
			Ports     map[string][]struct{ HostIp, HostPort string }
		}
	}
	out, _, _ = n.hako(t, s, "inspect", "web")
	if err := json.Unmarshal([]byte(out), &ins); err != nil || len(ins) != 1 {
		t.Fatalf("inspect web: %v\n%s", err, out)
	}
	entry := n.entries(t)[id]
	ns := ins[0].NetworkSettings
	if ins[0].HostConfig.NetworkMode != "bridge" || ns.IPAddress != entry.Address || ns.IPAddress == "" ||
		len(ns.Ports["7000/tcp"]) != 1 || ns.Ports["7000/tcp"][0].HostPort != "8080" {
		t.Errorf("inspect: %+v, state entry %+v", ins[0], entry)
	}
	// The hako that ran -d is gone: the monitor must hold the port.
	if err := in(n.ns, func() error {
		l, err := net.Listen("tcp4", ":8080")
		if err == nil {
			l.Close()
		}
		return err
	}); err == nil {
		t.Error("host port 8080 could be bound while the detached container publishes it")
	}
	if _, errOut, code := n.hako(t, s, "stop", "-t", "1", "web"); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, errOut)
	}
	n.checkClean(t)
	if err := in(n.ns, func() error {
		l, err := net.Listen("tcp4", ":8080")
		if err == nil {
			l.Close()
		}
		return err
	}); err != nil {
		t.Errorf("host port 8080 still held after stop: %v", err)
	}
	if ps, _, _ := n.hako(t, s, "ps", "-a", "--format", "{{.Ports}}"); strings.TrimSpace(ps) != "" {
		t.Errorf("ps -a PORTS of a stopped container = %q, want none", ps)
	}
	// start: a network again, the same published port.
	if _, errOut, code := n.hako(t, s, "start", "web"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	waitServing(t, n.peer, addr)
	if got := talk(t, n.peer, addr); got != peerAddr {
		t.Errorf("after start, server saw %s", got)
	}
	if _, errOut, code := n.hako(t, s, "rm", "-f", "web"); code != 0 {
		t.Fatalf("rm -f: exit %d: %s", code, errOut)
	}
	n.checkClean(t)
}

// waitServing waits until something accepts connections at addr, as seen
// from namespace ns.
func waitServing(t *testing.T, ns, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := in(ns, func() error {
			c, err := net.DialTimeout("tcp4", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing serves %s after 30s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
