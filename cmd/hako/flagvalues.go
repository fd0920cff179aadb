package main

import (
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/pflag"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/image"
)

// Typed flag values, parsed once when the flag is: a bad value fails at
// parse time with pflag's `invalid argument "X" for "--flag" flag: …`
// (Docker's wording) and exit 125, before any work is done.

// platformValue is --platform: os/arch[/variant]; unset is nil.
type platformValue struct{ p *v1.Platform }

func (v *platformValue) String() string {
	if v.p == nil {
		return ""
	}
	return image.PlatformString(*v.p)
}

func (v *platformValue) Set(s string) error {
	p, err := image.ParsePlatform(s)
	if err != nil {
		return err
	}
	v.p = &p
	return nil
}

func (*platformValue) Type() string { return "string" }

// bytesValue is a size in bytes written as Docker writes it (64m, 1g);
// set says whether it was given.
type bytesValue struct {
	n     int64
	set   bool
	parse func(string) (int64, error)
}

func (v *bytesValue) String() string {
	if !v.set {
		return ""
	}
	return strconv.FormatInt(v.n, 10)
}

func (v *bytesValue) Set(s string) error {
	n, err := v.parse(s)
	if err != nil {
		return err
	}
	v.n, v.set = n, true
	return nil
}

func (*bytesValue) Type() string { return "bytes" }

func memoryValue() *bytesValue     { return &bytesValue{parse: cgroups.ParseMemory} }
func memorySwapValue() *bytesValue { return &bytesValue{parse: cgroups.ParseMemorySwap} }

// cpusValue is --cpus as nano-CPUs (1.5 = 1500000000).
type cpusValue struct{ nano int64 }

func (v *cpusValue) String() string {
	if v.nano == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(v.nano)/1e9, 'f', -1, 64)
}

func (v *cpusValue) Set(s string) error {
	n, err := cgroups.ParseCPUs(s)
	if err != nil {
		return err
	}
	v.nano = n
	return nil
}

func (*cpusValue) Type() string { return "decimal" }

// pullValue is --pull: missing, always or never.
type pullValue struct{ p image.PullPolicy }

func (v *pullValue) String() string { return string(v.p) }

func (v *pullValue) Set(s string) error {
	p, err := image.ParsePullPolicy(s)
	if err != nil {
		return err
	}
	v.p = p
	return nil
}

func (*pullValue) Type() string { return "string" }

var (
	_ pflag.Value = (*platformValue)(nil)
	_ pflag.Value = (*bytesValue)(nil)
	_ pflag.Value = (*cpusValue)(nil)
	_ pflag.Value = (*pullValue)(nil)
)
