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

// syncHosts rewrites, under the state lock, each member's hosts file (the
// file "hosts" in its owner directory) where its block changed: every
// other member's name and hostname, and its own name. In place,
// not renamed: running containers have the file bind-mounted, and would
// keep seeing the old inode. A member whose file is missing (being
// created or removed) is skipped.
func syncHosts(st *state, netID string) {
	var members []*Entry
	for _, e := range st.Entries {
		if e.Network == netID {
			members = append(members, e)
		}
	}
	slices.SortFunc(members, func(a, b *Entry) int { return a.Address.Compare(b.Address) })
	for _, self := range members {
		path := filepath.Join(self.Owner, "hosts")
		old, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var block bytes.Buffer
		block.WriteString(hostsMarker)
		for _, o := range members {
			names := []string{}
			candidates := []string{o.Name, o.Hostname}
			if o == self { // its own line has its hostname; its name too resolves, as in Docker
				candidates = []string{o.Name}
			}
			for _, n := range candidates {
				if o == self && n == o.Hostname {
					continue
				}
				if n != "" && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
			if len(names) > 0 {
				fmt.Fprintf(&block, "%s\t%s\n", o.Address, strings.Join(names, " "))
			}
		}
		head := StripHostsBlock(old)
		if len(head) > 0 && head[len(head)-1] != '\n' {
			head = append(head, '\n')
		}
		b := append(bytes.Clone(head), block.Bytes()...)
		if bytes.Equal(b, old) {
			continue
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			continue
		}
		f.Write(b)
		f.Close()
	}
}
