package network

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// hostsMarker starts the part of a user network member's hosts file that
// names the other members; hako rewrites everything after it.
const hostsMarker = "# hako network members\n"

// StripHostsBlock is a hosts file without the members hako added.
func StripHostsBlock(b []byte) []byte {
	if i := bytes.Index(b, []byte(hostsMarker)); i >= 0 {
		return b[:i]
	}
	return b
}

// SyncHosts brings the hosts file of every member of the user network
// netID up to date with the others' names and addresses.
func SyncHosts(netID string) error {
	if netID == "" {
		return nil // the default bridge has no name resolution, as Docker's
	}
	return lockedState(Dir(), false, func(st *state) error {
		syncHosts(st, netID)
		return nil
	})
}

// syncHosts rewrites, under the state lock, the hosts file of every
// container on the user network netID (see writeHostsBlock).
func syncHosts(st *state, netID string) {
	done := map[string]bool{}
	for _, e := range st.Entries {
		if e.Network == netID && !done[e.ID] {
			done[e.ID] = true
			writeHostsBlock(st, e.ID)
		}
	}
}

// writeHostsBlock rewrites the block of container id's hosts file (the
// file "hosts" in its owner directory) where it changed: the members of
// every user network it is on (one connected later too), each other
// member by name, hostname and aliases, itself by name and aliases. In
// place, not renamed: running containers have the file bind-mounted, and
// would keep seeing the old inode. A missing file (being created or
// removed) is skipped.
func writeHostsBlock(st *state, id string) {
	var mine []*Entry // its entries on user networks
	owner := ""
	for _, e := range st.Entries {
		if e.ID == id {
			owner = e.Owner
			if e.Network != "" {
				mine = append(mine, e)
			}
		}
	}
	if owner == "" {
		return
	}
	// eth0's network first, then in the order of its interfaces.
	slices.SortFunc(mine, func(a, b *Entry) int { return strings.Compare(a.Iface, b.Iface) })
	path := filepath.Join(owner, "hosts")
	old, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var block bytes.Buffer
	if len(mine) > 0 {
		block.WriteString(hostsMarker)
	}
	for _, m := range mine {
		var members []*Entry
		for _, e := range st.Entries {
			if e.Network == m.Network {
				members = append(members, e)
			}
		}
		slices.SortFunc(members, func(a, b *Entry) int { return a.Address.Compare(b.Address) })
		for _, o := range members {
			candidates := []string{o.Name, o.Hostname}
			if o.ID == id { // its own line has its hostname; its name too resolves, as in Docker
				candidates = []string{o.Name}
			}
			var names []string
			for _, n := range append(candidates, o.Aliases...) {
				if o.ID == id && n == o.Hostname {
					continue // on its own line above
				}
				if n != "" && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
			if len(names) > 0 {
				fmt.Fprintf(&block, "%s\t%s\n", o.Address, strings.Join(names, " "))
				if o.Address6.IsValid() {
					fmt.Fprintf(&block, "%s\t%s\n", o.Address6, strings.Join(names, " "))
				}
			}
		}
	}
	head := StripHostsBlock(old)
	if len(head) > 0 && head[len(head)-1] != '\n' {
		head = append(head, '\n')
	}
	b := append(bytes.Clone(head), block.Bytes()...)
	if bytes.Equal(b, old) {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return
	}
	f.Write(b)
	f.Close()
}
