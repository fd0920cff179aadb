package image

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// HostPlatform is the platform hako itself was built for: its GOARCH, and on
// 32-bit arm the variant its CPU runs (at least the GOARM it was built for).
func HostPlatform() v1.Platform {
	var cpuinfo []byte
	if runtime.GOARCH == "arm" {
		// Only 32-bit arm reads it: the kernel makes /proc/cpuinfo on each
		// read, asking every CPU for its frequency (an interrupt to each;
		// 0.15 ms or more per run on a 2-vCPU VM, on the start path).
		cpuinfo, _ = os.ReadFile("/proc/cpuinfo")
	}
	return hostPlatform(runtime.GOARCH, goarm(), string(cpuinfo))
}

// hostPlatform derives the platform from the build's GOARCH and GOARM and the
// text of /proc/cpuinfo (injectable for tests).
func hostPlatform(goarch, goarmValue, cpuinfo string) v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: goarch}
	switch goarch {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v" + strings.TrimSuffix(strings.TrimSuffix(goarmValue, ",softfloat"), ",hardfloat")
		// A v6 build on a v7 CPU (a Pi 2 or later) still prefers v7 images;
		// a 64-bit CPU running 32-bit code is v7 for images. The ARMv6 Pi
		// Zero and Pi 1 report "CPU architecture: 7" on some kernels: their
		// model name tells (containerd checks the same).
		cpu := cpuField(cpuinfo, "CPU architecture")
		armv6 := strings.HasPrefix(strings.ToLower(cpuField(cpuinfo, "model name")), "armv6-compatible")
		if cpu >= "7" && p.Variant < "v7" && !armv6 {
			p.Variant = "v7"
		}
	}
	return p
}

// cpuField returns the first value of field in the text of /proc/cpuinfo.
func cpuField(cpuinfo, field string) string {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ParsePlatform parses os/arch[/variant] as given to --platform.
func ParsePlatform(s string) (v1.Platform, error) {
	p, err := platforms.Parse(s)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("invalid platform %q: use os/arch[/variant], e.g. linux/arm64 or linux/arm/v7", s)
	}
	p = platforms.Normalize(p)
	return v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, nil
}

// PlatformString formats a platform as os/arch[/variant].
func PlatformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// chooseManifest picks the entry of an image index that best fits want:
// an exact match first, then the fallbacks containerd allows (arm64/v8 and
// arm64 alike, arm/v7 then v6 then v5). Attestations (unknown/unknown) never
// match. When nothing fits, the error names the platforms offered.
func chooseManifest(index *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	matcher := platforms.Only(ocispec.Platform{OS: want.OS, Architecture: want.Architecture, Variant: want.Variant})
	var candidates []v1.Descriptor
	var offered []string
	for _, d := range index.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		p := v1.Platform{OS: "linux", Architecture: "amd64"} // the spec's default for entries without one
		if d.Platform != nil {
			p = *d.Platform
		}
		if p.OS == "unknown" || p.Architecture == "unknown" {
			continue
		}
		offered = append(offered, PlatformString(p))
		if matcher.Match(ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}) {
			d := d
			d.Platform = &p
			candidates = append(candidates, d)
		}
	}
	if len(candidates) == 0 {
		return v1.Descriptor{}, fmt.Errorf("no matching manifest for %s in the manifest list entries (the image offers: %s); choose one with --platform",
			PlatformString(want), strings.Join(offered, ", "))
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		a, b := candidates[i].Platform, candidates[j].Platform
		return matcher.Less(ocispec.Platform{OS: a.OS, Architecture: a.Architecture, Variant: a.Variant},
			ocispec.Platform{OS: b.OS, Architecture: b.Architecture, Variant: b.Variant})
	})
	return candidates[0], nil
}

// goarm is the GOARM this binary was built with ("7" when not recorded).
func goarm() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOARM" {
				return s.Value
			}
		}
	}
	return "7"
}

// Platform is the platform the image's config says it is for.
func (img *Image) Platform() v1.Platform {
	if img.Config == nil {
		return v1.Platform{}
	}
	return v1.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
}

// RunsOn reports whether an image for platform have suits want, by
// Docker's rule (OnlyPlatformWithFallback): containerd's matcher for want
// (an arm/v7 host runs v6 images, arm64 runs arm/v7, amd64 runs 386), or,
// for a config that names no variant, the same OS and architecture.
func RunsOn(have, want v1.Platform) bool {
	w := ocispec.Platform{OS: want.OS, Architecture: want.Architecture, Variant: want.Variant}
	h := ocispec.Platform{OS: have.OS, Architecture: have.Architecture, Variant: have.Variant}
	if platforms.Only(w).Match(h) {
		return true
	}
	if have.Variant != "" {
		return false
	}
	wn, hn := platforms.Normalize(w), platforms.Normalize(h)
	return wn.OS == hn.OS && wn.Architecture == hn.Architecture
}
