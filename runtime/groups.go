package runtime

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/moby/sys/user"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// addGroups appends the --group-add groups to the process's additional
// groups. Names are looked up in the container's /etc/group (opened inside
// the rootfs), numbers are taken as they are, as Docker does, so `--group-add
// audio` gives a non-root user the image's audio group for a sound device.
func addGroups(rootfs string, u *specs.User, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	f, err := openInRoot(rootfs, "/etc/group")
	if err != nil {
		return err
	}
	var r io.Reader
	if f != nil {
		defer f.Close()
		r = f
	}
	gids, err := user.GetAdditionalGroups(groups, r)
	if err != nil {
		return fmt.Errorf("--group-add: %w", err)
	}
	for _, g := range gids {
		if !slices.Contains(u.AdditionalGids, uint32(g)) {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
	}
	return nil
}

// deviceCgroupRule is Docker's --device-cgroup-rule syntax: TYPE MAJOR:MINOR ACCESS.
var deviceCgroupRule = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`)
})

// ParseDeviceCgroupRule parses one --device-cgroup-rule ("c 13:* rwm") into
// an allow rule of the device cgroup.
func ParseDeviceCgroupRule(s string) (specs.LinuxDeviceCgroup, error) {
	m := deviceCgroupRule().FindStringSubmatch(s)
	if m == nil {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("invalid device cgroup format '%s': want TYPE MAJOR:MINOR ACCESS, e.g. 'c 13:* rwm'", s)
	}
	number := func(v string) (*int64, error) {
		if v == "*" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid device cgroup format '%s': %w", s, err)
		}
		return &n, nil
	}
	major, err := number(m[2])
	if err != nil {
		return specs.LinuxDeviceCgroup{}, err
	}
	minor, err := number(m[3])
	if err != nil {
		return specs.LinuxDeviceCgroup{}, err
	}
	return specs.LinuxDeviceCgroup{Allow: true, Type: m[1], Major: major, Minor: minor, Access: m[4]}, nil
}
