package network

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenameConnected: hako rename changes the name the members of every
// network a container is on find it by, those it was connected to later
// included, and also when its first network is the default bridge.
func TestRenameConnected(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HAKO_NETWORK_DIR", dir)
	owner := func(id string) string {
		d := filepath.Join(t.TempDir(), id)
		os.Mkdir(d, 0o700)
		os.WriteFile(filepath.Join(d, "hosts"), []byte("127.0.0.1\tlocalhost\n"), 0o644)
		return d
	}
	a, b, c := owner("a"), owner("b"), owner("c")
	e := func(id, own, netID, addr, name, iface string) *Entry {
		return &Entry{ID: id, Owner: own, Network: netID, Address: netip.MustParseAddr(addr), Name: name, Iface: iface}
	}
	st := state{Entries: map[string]*Entry{
		"a":                  e("a", a, "n1", "10.90.0.2", "old", ""),
		attachKey("a", "n2"): e("a", a, "n2", "10.90.1.2", "old", "eth1"),
		"c":                  e("c", c, "", "10.88.0.2", "plain", ""),
		attachKey("c", "n2"): e("c", c, "n2", "10.90.1.4", "plain", "eth1"),
		"b":                  e("b", b, "n2", "10.90.1.3", "b", ""),
	}}
	raw, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Rename("a", "new"); err != nil {
		t.Fatal(err)
	}
	if err := Rename("c", "renamed"); err != nil {
		t.Fatal(err)
	}
	hosts, _ := os.ReadFile(filepath.Join(b, "hosts"))
	for _, want := range []string{"10.90.1.2\tnew\n", "10.90.1.4\trenamed\n"} {
		if !strings.Contains(string(hosts), want) {
			t.Errorf("b's hosts (on n2, which a and c were connected to) lacks %q:\n%s", want, hosts)
		}
	}
	if strings.Contains(string(hosts), "old") || strings.Contains(string(hosts), "plain") {
		t.Errorf("b's hosts still has an old name:\n%s", hosts)
	}
}
