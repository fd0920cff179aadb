package image

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	cpuinfoPiZero = "processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\nCPU architecture: 7\n"
	cpuinfoPi1    = "processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\nCPU architecture: 6\n"
	cpuinfoPi4    = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 3 (v7l)\nCPU architecture: 8\n"
	cpuinfoArm64  = "processor\t: 0\nBogoMIPS\t: 108.00\nCPU architecture: 8\n"
)

func TestHostPlatform(t *testing.T) {
	cases := []struct {
		goarch, goarm, cpuinfo string
		want                   string
	}{
		{"amd64", "", "", "linux/amd64"},
		{"arm64", "", cpuinfoArm64, "linux/arm64/v8"},
		{"arm", "7", cpuinfoPi4, "linux/arm/v7"},
		{"arm", "6", cpuinfoPi1, "linux/arm/v6"},
		{"arm", "6", cpuinfoPi4, "linux/arm/v7"},
		{"arm", "6", cpuinfoPiZero, "linux/arm/v6"}, // ARMv6 despite "CPU architecture: 7"
		{"arm", "7", cpuinfoPiZero, "linux/arm/v7"}, // a v7 build says what it runs
		{"arm", "6,softfloat", "", "linux/arm/v6"},
	}
	for _, c := range cases {
		got := PlatformString(hostPlatform(c.goarch, c.goarm, c.cpuinfo))
		if got != c.want {
			t.Errorf("hostPlatform(%s, %s) = %s, want %s", c.goarch, c.goarm, got, c.want)
		}
	}
}

func index(platforms ...string) *v1.IndexManifest {
	idx := &v1.IndexManifest{}
	for i, s := range platforms {
		parts := strings.Split(s+"/", "/")
		p := v1.Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}
		idx.Manifests = append(idx.Manifests, v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Digest:    v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(rune('a'+i)), 64)},
			Platform:  &p,
		})
	}
	return idx
}

func TestChooseManifest(t *testing.T) {
	full := index("linux/amd64", "unknown/unknown", "linux/arm/v6", "linux/arm64/v8", "linux/arm/v7")
	cases := []struct {
		idx  *v1.IndexManifest
		want string
		pick string // expected platform, "" for an error
	}{
		{full, "linux/amd64", "linux/amd64"},
		{full, "linux/arm64/v8", "linux/arm64/v8"},
		{full, "linux/arm64", "linux/arm64/v8"},
		{full, "linux/arm/v7", "linux/arm/v7"}, // not the v6 listed first
		{full, "linux/arm/v6", "linux/arm/v6"},
		{index("linux/amd64", "linux/arm64"), "linux/arm64/v8", "linux/arm64"},
		{index("linux/amd64", "linux/arm/v6"), "linux/arm/v7", "linux/arm/v6"},
		{index("linux/amd64", "linux/arm/v7"), "linux/arm/v6", ""},
		{full, "linux/riscv64", ""},
		{index("unknown/unknown"), "linux/amd64", ""},
	}
	for _, c := range cases {
		want, err := ParsePlatform(c.want)
		if err != nil {
			t.Fatal(err)
		}
		d, err := chooseManifest(c.idx, want)
		if c.pick == "" {
			if err == nil {
				t.Errorf("%s: picked %s, want an error", c.want, PlatformString(*d.Platform))
			} else if !strings.Contains(err.Error(), "linux/amd64") || strings.Contains(err.Error(), "unknown") {
				t.Errorf("%s: error %q should list the offered platforms without attestations", c.want, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.want, err)
			continue
		}
		if got := PlatformString(*d.Platform); got != c.pick {
			t.Errorf("%s: picked %s, want %s", c.want, got, c.pick)
		}
	}
}

func TestParsePlatformError(t *testing.T) {
	if _, err := ParsePlatform("not a platform"); err == nil {
		t.Fatal("bad platform accepted")
	}
}

func TestRunsOn(t *testing.T) {
	p := func(s string) v1.Platform {
		t.Helper()
		pl, err := ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	for _, c := range []struct {
		have v1.Platform
		want string
		ok   bool
	}{
		{v1.Platform{OS: "linux", Architecture: "amd64"}, "linux/amd64", true},
		{v1.Platform{OS: "linux", Architecture: "386"}, "linux/amd64", true},
		{v1.Platform{OS: "linux", Architecture: "amd64"}, "linux/arm64", false},
		{v1.Platform{OS: "linux", Architecture: "arm64"}, "linux/arm64", true},
		{v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "linux/arm64", true},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm64", true},
		{v1.Platform{OS: "linux", Architecture: "arm"}, "linux/arm64", true},
		{v1.Platform{OS: "linux", Architecture: "arm64"}, "linux/arm/v7", false},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, "linux/arm/v7", true},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm/v6", false},
		{v1.Platform{OS: "linux", Architecture: "arm"}, "linux/arm/v7", true},
		{v1.Platform{OS: "linux", Architecture: "arm"}, "linux/arm/v6", true}, // no variant: OS and arch decide
		{v1.Platform{OS: "linux", Architecture: "s390x"}, "linux/arm64", false},
		{v1.Platform{OS: "windows", Architecture: "amd64"}, "linux/amd64", false},
	} {
		if got := RunsOn(c.have, p(c.want)); got != c.ok {
			t.Errorf("RunsOn(%s, %s) = %v, want %v", PlatformString(c.have), c.want, got, c.ok)
		}
	}
}
