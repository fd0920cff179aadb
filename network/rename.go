package network

// Rename changes the name the other members of a user network find the
// container id by, and rewrites their hosts files (hako rename). A
// container with no entry (stopped, or on no network) has nothing to change:
// its next start registers the new name.
func Rename(id, name string) error {
	return withState(Dir(), func(st *state) error {
		e := st.Entries[id]
		if e == nil || e.Network == "" {
			return nil
		}
		e.Name = name
		syncHosts(st, e.Network)
		return nil
	})
}
