package runtime

import "golang.org/x/sys/unix"

// SetSigProxy says whether a foreground run forwards the signals hako
// receives to the container (Docker's --sig-proxy, true by default). Off,
// hako takes them and lets them go: it is the container's monitor, so it
// waits on for the container's end, which hako stop or kill brings.
func (c *Container) SetSigProxy(on bool) { c.noSigProxy = !on }

// Signal sends sig to the running container's init, as hako attach and
// start -a proxy what they receive: unlike Kill, it leaves the restart
// policy alone (the container's own end decides, as with any exit).
func Signal(info *Info, sig unix.Signal) error {
	in, err := readInit(info.Dir)
	if err != nil {
		return ErrNotRunning
	}
	if _, err := loadStatus(info.Dir); err == nil {
		return ErrNotRunning // a stale init.json of an earlier run
	}
	return signalInit(in, sig)
}
