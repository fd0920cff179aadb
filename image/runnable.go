package image

import (
	"encoding/json"
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrNoImage is returned (wrapped) when an archive, layout or index holds
// nothing hako can run: only artifacts, attestations or other platforms.
var ErrNoImage = errors.New("no runnable image")

// attestationAnnotation marks buildx's attestation manifests in an index.
const attestationAnnotation = "vnd.docker.reference.type"

// skipInIndex tells why an index entry is not a candidate image, before its
// manifest is read: a nested index, an artifact or an attestation. It
// returns "" for an image manifest.
func skipInIndex(d v1.Descriptor) string {
	switch {
	case isArtifactType(d.ArtifactType):
		return "an OCI artifact (artifactType " + d.ArtifactType + ")"
	case d.Annotations[attestationAnnotation] == "attestation-manifest":
		return "an attestation manifest"
	case d.Platform != nil && (d.Platform.OS == "unknown" || d.Platform.Architecture == "unknown"):
		return "an attestation manifest (platform unknown/unknown)"
	case d.MediaType.IsIndex():
		return "a nested index"
	case !d.MediaType.IsImage():
		return "not an image manifest (media type " + string(d.MediaType) + ")"
	}
	return ""
}

// notRunnable tells why a manifest is not a container image (an OCI
// artifact, a signature, an SBOM, an attestation), or "" when it is one.
// Such manifests are skipped; an image that claims to be one but is
// inconsistent is broken, and importImage reports it as an error.
func notRunnable(man *v1.Manifest, rawCfg []byte) string {
	if isArtifactType(man.ArtifactType) {
		return "an OCI artifact (artifactType " + man.ArtifactType + ")"
	}
	if !man.Config.MediaType.IsConfig() {
		return "its config is not an image config (media type " + string(man.Config.MediaType) + ")"
	}
	for _, l := range man.Layers {
		if !l.MediaType.IsLayer() {
			return "its content is not image layers (media type " + string(l.MediaType) + ")"
		}
	}
	// A config with no rootfs describes no filesystem: an artifact that
	// borrowed the image config media type (buildx provenance, cosign).
	var cfg struct {
		RootFS *struct {
			Type string `json:"type"`
		} `json:"rootfs"`
	}
	if json.Unmarshal(rawCfg, &cfg) == nil && (cfg.RootFS == nil || cfg.RootFS.Type == "") && len(man.Layers) > 0 {
		return "its config describes no root filesystem"
	}
	return ""
}

// isArtifactType tells whether an artifactType marks an artifact. Tools
// (go-containerregistry, registries' referrers lists) fill it in with the
// config media type for images too; that one is no artifact.
func isArtifactType(t string) bool {
	return t != "" && !types.MediaType(t).IsConfig()
}

// NotRunnableError says why a manifest is not an image hako can run.
// errors.Is(err, ErrNoImage) holds for it.
type NotRunnableError struct {
	Reason string
}

func (e *NotRunnableError) Error() string { return "not a runnable image: " + e.Reason }

func (e *NotRunnableError) Is(target error) bool { return target == ErrNoImage }

// runnableChildren keeps the entries of an index that may be images,
// dropping artifacts and attestations before platform matching.
func runnableChildren(im *v1.IndexManifest) *v1.IndexManifest {
	out := *im
	out.Manifests = nil
	for _, d := range im.Manifests {
		if skipInIndex(d) == "" {
			out.Manifests = append(out.Manifests, d)
		}
	}
	return &out
}
