package testimage

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OtherPlatforms are the platforms MultiArch adds next to the host image.
var OtherPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
	{OS: "linux", Architecture: "arm", Variant: "v6"},
	{OS: "linux", Architecture: "s390x"}, // runs on none of hako's hosts
}

// MultiArch returns an OCI index holding host for the host platform, a small
// distinct image (one file /platform naming it) for each of OtherPlatforms not
// equal to the host's, and, last, an attestation-like manifest for
// unknown/unknown as BuildKit pushes them, which platform selection must skip.
func MultiArch(host v1.Image) (v1.ImageIndex, error) {
	hp := HostPlatform()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	adds := []mutate.IndexAddendum{{
		Add:        host,
		Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &hp},
	}}
	for _, p := range OtherPlatforms {
		if p.Equals(hp) {
			continue
		}
		img, err := PlatformImage(p)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &p},
		})
	}
	att, err := attestation()
	if err != nil {
		return nil, err
	}
	hostDigest, err := host.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest of host image: %w", err)
	}
	adds = append(adds, mutate.IndexAddendum{
		Add: att,
		Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": hostDigest.String(),
			},
		},
	})
	return mutate.AppendManifests(idx, adds...), nil
}

// PlatformImage is a one-layer image for p whose only file, /platform,
// contains p's string (e.g. "linux/arm/v7"). It is not runnable.
func PlatformImage(p v1.Platform) (v1.Image, error) {
	base, err := Base(p)
	if err != nil {
		return nil, err
	}
	img, err := WithLayer(base, map[string]File{"platform": fileContent(p.String() + "\n")})
	if err != nil {
		return nil, err
	}
	return setConfig(img, func(cf *v1.ConfigFile) {
		cf.Config.Env = []string{DefaultPath}
		cf.Config.Cmd = []string{"/bin/sh"}
	})
}

// attestation is an in-toto style manifest as BuildKit attaches to indexes.
func attestation() (v1.Image, error) {
	base, err := Base(v1.Platform{OS: "unknown", Architecture: "unknown"})
	if err != nil {
		return nil, err
	}
	stmt := `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[]}`
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     static.NewLayer([]byte(stmt), "application/vnd.in-toto+json"),
		MediaType: "application/vnd.in-toto+json",
		History:   v1.History{Created: v1.Time{Time: Epoch}},
	})
	if err != nil {
		return nil, fmt.Errorf("building attestation: %w", err)
	}
	// The in-toto blob is not a filesystem layer: no diff_ids, no history.
	return setConfig(img, func(cf *v1.ConfigFile) {
		cf.RootFS.DiffIDs = nil
		cf.History = nil
	})
}
