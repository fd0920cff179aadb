package runccompat

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// updateCmd is runc's update in the form the shim uses: the new resources
// as OCI LinuxResources JSON, from a file or stdin ("-"), applied to the
// running container's cgroups (runc's per-value flags are not offered).
func updateCmd(g *globals, args []string) error {
	fs := newFlagSet("update")
	in := fs.String("", "resources", "r")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	c, err := getContainer(g, fs)
	if err != nil {
		return err
	}
	if *in == "" {
		return errors.New("hako-runc update: give the resources as --resources FILE or --resources - (OCI LinuxResources JSON)")
	}
	f := os.Stdin
	if *in != "-" {
		if f, err = os.Open(*in); err != nil {
			return err
		}
		defer f.Close()
	}
	no := false
	r := specs.LinuxResources{
		Memory:  &specs.LinuxMemory{CheckBeforeUpdate: &no},
		CPU:     &specs.LinuxCPU{},
		BlockIO: &specs.LinuxBlockIO{},
		Pids:    &specs.LinuxPids{},
	}
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return err
	}
	config := c.Config()
	applyResources(config.Cgroups.Resources, &r)
	config.Cgroups.SkipDevices = true
	return c.Set(config)
}

// applyResources sets what r gives on res, as runc's update does.
func applyResources(res *cgroups.Resources, r *specs.LinuxResources) {
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	if r.BlockIO == nil {
		r.BlockIO = &specs.LinuxBlockIO{}
	}
	if r.Pids == nil {
		r.Pids = &specs.LinuxPids{}
	}
	if r.Memory.Limit != nil && *r.Memory.Limit == -1 && r.Memory.Swap == nil {
		zero := int64(0)
		r.Memory.Swap = &zero
	}
	if r.CPU.Idle != nil && r.CPU.Shares == nil {
		zero := uint64(0)
		r.CPU.Shares = &zero
	}
	if w := r.BlockIO.Weight; w != nil {
		res.BlkioWeight = *w
	}
	if w := r.BlockIO.LeafWeight; w != nil {
		res.BlkioLeafWeight = *w
	}
	for _, wd := range r.BlockIO.WeightDevice {
		var weight, leaf uint16
		if wd.Weight != nil {
			weight = *wd.Weight
		}
		if wd.LeafWeight != nil {
			leaf = *wd.LeafWeight
		}
		res.BlkioWeightDevice = upsert(res.BlkioWeightDevice, cgroups.NewWeightDevice(wd.Major, wd.Minor, weight, leaf),
			func(a, b *cgroups.WeightDevice) bool { return a.Major == b.Major && a.Minor == b.Minor })
	}
	for _, p := range []struct {
		from []specs.LinuxThrottleDevice
		to   *[]*cgroups.ThrottleDevice
	}{
		{r.BlockIO.ThrottleReadBpsDevice, &res.BlkioThrottleReadBpsDevice},
		{r.BlockIO.ThrottleWriteBpsDevice, &res.BlkioThrottleWriteBpsDevice},
		{r.BlockIO.ThrottleReadIOPSDevice, &res.BlkioThrottleReadIOPSDevice},
		{r.BlockIO.ThrottleWriteIOPSDevice, &res.BlkioThrottleWriteIOPSDevice},
	} {
		for _, td := range p.from {
			*p.to = upsert(*p.to, cgroups.NewThrottleDevice(td.Major, td.Minor, td.Rate),
				func(a, b *cgroups.ThrottleDevice) bool { return a.Major == b.Major && a.Minor == b.Minor })
		}
	}
	var period uint64
	var quota int64
	if r.CPU.Period != nil {
		period = *r.CPU.Period
	}
	if r.CPU.Quota != nil {
		quota = *r.CPU.Quota
	}
	switch {
	case (period == 0) == (quota == 0):
		res.CpuPeriod, res.CpuQuota = period, quota
	case period != 0:
		res.CpuPeriod = period
	default:
		res.CpuQuota = quota
	}
	res.CpuBurst = r.CPU.Burst
	if s := r.CPU.Shares; s != nil {
		res.CpuShares = *s
		res.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(*s)
	}
	if v := r.CPU.RealtimePeriod; v != nil {
		res.CpuRtPeriod = *v
	}
	if v := r.CPU.RealtimeRuntime; v != nil {
		res.CpuRtRuntime = *v
	}
	res.CpusetCpus, res.CpusetMems = r.CPU.Cpus, r.CPU.Mems
	res.CPUIdle = r.CPU.Idle
	if v := r.Memory.Limit; v != nil {
		res.Memory = *v
	}
	if v := r.Memory.Reservation; v != nil {
		res.MemoryReservation = *v
	}
	if v := r.Memory.Swap; v != nil {
		res.MemorySwap = *v
	}
	if v := r.Memory.CheckBeforeUpdate; v != nil {
		res.MemoryCheckBeforeUpdate = *v
	}
	res.PidsLimit = r.Pids.Limit
	res.Unified = r.Unified
}

// upsert replaces the entry same says matches v, or appends v.
func upsert[T any](list []*T, v *T, same func(a, b *T) bool) []*T {
	for i, e := range list {
		if same(e, v) {
			list[i] = v
			return list
		}
	}
	return append(list, v)
}
