package network

// Rename changes the name the other members of its user networks find the
// container id by, and rewrites their hosts files (hako rename): on its
// first network and on those it was connected to later. A container with
// no entry (stopped, or on no network) has nothing to change: its next
// start registers the new name.
func Rename(id, name string) error {
	return withState(Dir(), func(st *state) error {
		for _, e := range st.Entries {
			if e.ID == id {
				e.Name = name
			}
		}
		for _, e := range st.Entries {
			if e.ID == id && e.Network != "" {
				syncHosts(st, e.Network)
			}
		}
		return nil
	})
}
