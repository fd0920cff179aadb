package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 8).

import (
	"golang.org/x/sys/unix"
)

// loopbackUp sets IFF_UP on the init's "lo" with SIOCGIFFLAGS and
// SIOCSIFFLAGS, as ifconfig does: the kernel changes the flags through the
// same dev_change_flags as for netlink's RTM_NEWLINK, under the same
// CAP_NET_ADMIN check in the network namespace's user namespace. Upstream's
// netlink.LinkSetUp opened two netlink sockets and made two round trips
// (the link's index by name, then the change), with the library's
// allocations, in every container's init. An error (a kernel without
// AF_INET sockets, say) lets the caller fall back to netlink.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	if ifr.Uint16()&unix.IFF_UP != 0 {
		return nil
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
