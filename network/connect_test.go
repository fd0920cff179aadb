package network

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestHostsBlockConnected: a container on two user networks lists the
// members of both, its aliases resolve for the others, and once its
// connection is dropped its own file and the others' forget it.
func TestHostsBlockConnected(t *testing.T) {
	st := &state{Entries: map[string]*Entry{}}
	dirs := map[string]string{}
	add := func(key, id, netID, addr, name, iface string, aliases ...string) {
		if dirs[id] == "" {
			dirs[id] = filepath.Join(t.TempDir(), id)
			os.Mkdir(dirs[id], 0o700)
			os.WriteFile(filepath.Join(dirs[id], "hosts"), []byte("127.0.0.1\tlocalhost\n"), 0o644)
		}
		st.Entries[key] = &Entry{ID: id, Owner: dirs[id], Network: netID, Address: netip.MustParseAddr(addr),
			Name: name, Hostname: name, Aliases: aliases, Iface: iface}
	}
	hosts := func(id string) string {
		b, _ := os.ReadFile(filepath.Join(dirs[id], "hosts"))
		return string(b)
	}
	add("a", "a", "n1", "10.90.0.2", "a", "", "web")
	add("b", "b", "n2", "10.90.1.2", "b", "")
	add(attachKey("b", "n1"), "b", "n1", "10.90.0.3", "b", "eth1", "db")
	syncHosts(st, "n1")
	syncHosts(st, "n2")
	if got, want := hosts("a"), "127.0.0.1\tlocalhost\n"+hostsMarker+"10.90.0.2\tweb\n10.90.0.3\tb db\n"; got != want {
		t.Errorf("a's hosts:\n%s\nwant\n%s", got, want)
	}
	// (b's own name is its hostname, on the line above the block.)
	if got, want := hosts("b"), "127.0.0.1\tlocalhost\n"+hostsMarker+"10.90.0.2\ta web\n10.90.0.3\tdb\n"; got != want {
		t.Errorf("b's hosts:\n%q\nwant\n%q", got, want)
	}
	delete(st.Entries, attachKey("b", "n1"))
	syncHosts(st, "n1")
	writeHostsBlock(st, "b")
	if got, want := hosts("a"), "127.0.0.1\tlocalhost\n"+hostsMarker+"10.90.0.2\tweb\n"; got != want {
		t.Errorf("a's hosts after b left n1:\n%s", got)
	}
	if got, want := hosts("b"), "127.0.0.1\tlocalhost\n"+hostsMarker; got != want {
		t.Errorf("b's hosts after it left n1:\n%q\nwant %q", got, want)
	}
	add(attachKey("b", "n3"), "b", "n3", "10.90.2.2", "b", "eth1")
	if nets := releaseAttached(st, "b"); len(nets) != 1 || nets[0] != "n3" || len(st.Entries) != 2 {
		t.Errorf("releaseAttached: %v, left %v", nets, st.Entries)
	}
}

// TestPickAddress: a requested address must be a free host address of the
// subnet; none requested takes the next free one.
func TestPickAddress(t *testing.T) {
	d := &Def{Name: "n", ID: "n", Subnet: netip.MustParsePrefix("10.90.0.0/24"), Gateway: netip.MustParseAddr("10.90.0.1")}
	st := &state{Entries: map[string]*Entry{"x": {Address: netip.MustParseAddr("10.90.0.2")}}}
	for ip, ok := range map[string]bool{"10.90.0.50": true, "10.90.0.2": false, "10.90.0.1": false, "10.90.0.255": false, "10.90.0.0": false, "10.91.0.5": false} {
		_, err := pickAddress(st, d, netip.MustParseAddr(ip))
		if (err == nil) != ok {
			t.Errorf("%s: %v", ip, err)
		}
	}
	if a, err := pickAddress(st, d, netip.Addr{}); err != nil || a.String() != "10.90.0.3" {
		t.Errorf("next free: %s, %v", a, err)
	}
}
