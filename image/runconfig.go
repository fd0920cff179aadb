package image

import (
	"maps"
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// RunConfig is the part of the image's config a container is made from
// (user, environment, entrypoint and command, working directory, volumes,
// stop signal, exposed ports, labels), as the OCI type the runtime package
// takes, so neither package imports the other. It is a copy: changing it
// leaves the image alone. An image without a config gives the zero value.
func (img *Image) RunConfig() ocispec.ImageConfig {
	if img.Config == nil {
		return ocispec.ImageConfig{}
	}
	c := img.Config.Config
	return ocispec.ImageConfig{
		User:         c.User,
		ExposedPorts: maps.Clone(c.ExposedPorts),
		Env:          slices.Clone(c.Env),
		Entrypoint:   slices.Clone(c.Entrypoint),
		Cmd:          slices.Clone(c.Cmd),
		Volumes:      maps.Clone(c.Volumes),
		WorkingDir:   c.WorkingDir,
		Labels:       maps.Clone(c.Labels),
		StopSignal:   c.StopSignal,
		ArgsEscaped:  c.ArgsEscaped,
	}
}
