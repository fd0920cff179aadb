package runtime

import "path/filepath"

// SizeRw is the size of the files the container wrote or changed (its
// overlay upper directory), Docker's SizeRw; with vfs, its whole copy,
// which is what it takes on disk.
func (i *Info) SizeRw() uint64 {
	if i.VFS() {
		return dirSize(filepath.Join(i.Dir, mergedDir))
	}
	return dirSize(filepath.Join(i.Dir, upperDir))
}

// VolumeUse is a volume with its disk use and the containers mounting it.
type VolumeUse struct {
	*Volume
	Size  uint64
	Links int // containers (any state) whose record mounts it
}

// VolumeUsage lists every volume with its size and users, for system df.
func (vs Volumes) VolumeUsage() ([]VolumeUse, error) {
	vols, err := vs.List()
	if err != nil {
		return nil, err
	}
	users, err := vs.users()
	if err != nil {
		return nil, err
	}
	out := make([]VolumeUse, 0, len(vols))
	for _, v := range vols {
		out = append(out, VolumeUse{Volume: v, Size: dirSize(v.Mountpoint), Links: len(users[v.Mountpoint])})
	}
	return out, nil
}
