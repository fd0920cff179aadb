package network

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestSyncHosts: each member of a user network lists the others after its
// own lines, members of other networks are not listed, a second sync
// replaces the block, and the file keeps its inode (it is bind-mounted).
func TestSyncHosts(t *testing.T) {
	st := &state{Entries: map[string]*Entry{}}
	add := func(id, netID, addr, name, hostname string) string {
		dir := filepath.Join(t.TempDir(), id)
		os.Mkdir(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "hosts"), []byte("127.0.0.1\tlocalhost\n"+addr+"\t"+hostname+"\n"), 0o644)
		st.Entries[id] = &Entry{ID: id, Owner: dir, Network: netID, Address: netip.MustParseAddr(addr), Name: name, Hostname: hostname}
		return filepath.Join(dir, "hosts")
	}
	h1 := add("1", "n", "10.90.0.2", "web", "web")
	h2 := add("2", "n", "10.90.0.3", "db", "dbhost")
	h3 := add("3", "other", "10.90.1.2", "x", "x")
	before, _ := os.Stat(h1)
	syncHosts(st, "n")
	want1 := "127.0.0.1\tlocalhost\n10.90.0.2\tweb\n" + hostsMarker + "10.90.0.3\tdb dbhost\n"
	// (web's name is its hostname: no second line for it.)
	if b, _ := os.ReadFile(h1); string(b) != want1 {
		t.Errorf("member 1:\n%s\nwant\n%s", b, want1)
	}
	if b, _ := os.ReadFile(h2); string(b) != "127.0.0.1\tlocalhost\n10.90.0.3\tdbhost\n"+hostsMarker+"10.90.0.2\tweb\n10.90.0.3\tdb\n" {
		t.Errorf("member 2:\n%s", b)
	}
	if b, _ := os.ReadFile(h3); string(b) != "127.0.0.1\tlocalhost\n10.90.1.2\tx\n" {
		t.Errorf("other network's member changed:\n%s", b)
	}
	delete(st.Entries, "2")
	syncHosts(st, "n")
	if b, _ := os.ReadFile(h1); string(b) != "127.0.0.1\tlocalhost\n10.90.0.2\tweb\n"+hostsMarker {
		t.Errorf("member 1 after 2 left:\n%s", b)
	}
	if after, _ := os.Stat(h1); !os.SameFile(before, after) {
		t.Error("the hosts file was replaced, not rewritten in place")
	}
}
