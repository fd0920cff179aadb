package main

import (
	"errors"

	"github.com/hako-run/hako/runtime"
)

// inspectContainer is inspect's container side: the container ref names
// (nil, nil when it names none and images are to be looked at next).
func inspectContainer(g *globalOptions, typ, ref string) (any, error) {
	if typ == "image" {
		return nil, nil
	}
	info, err := findContainer(g, ref)
	if err == nil {
		return info.Inspect(), nil
	}
	if typ == "" && errors.Is(err, runtime.ErrNoSuchContainer) {
		return nil, nil
	}
	return nil, err
}
