package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/hako-run/hako/image"
)

// openStore opens the image store under --root with hako's config file.
func openStore(g *globalOptions) (*image.Store, error) {
	cfg, err := image.LoadConfig(image.ConfigFile)
	if err != nil {
		return nil, err
	}
	s, err := image.Open(g.root)
	if err != nil {
		return nil, err
	}
	s.Insecure = cfg.InsecureRegistries
	if g.debug {
		s.Debugf = debugf
	}
	return s, nil
}

// noSuchImage words a lookup failure as Docker does.
func noSuchImage(err error, ref string) error {
	if errors.Is(err, image.ErrNotFound) {
		return fmt.Errorf("No such image: %s", ref)
	}
	return err
}

// debugf prints one --debug line on stderr.
func debugf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "debug: "+format+"\n", args...)
}
