package cgroups

// Dir is the container's cgroup directory for controller ctrl ("memory",
// "pids", …), or "" when this host has no such controller. On v2 every
// controller shares one directory. hako --debug reads the limits back there.
func (h *Host) Dir(ctrl, id string) string { return h.dir(ctrl, id) }
