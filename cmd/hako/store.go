package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/network"
	"github.com/hako-run/hako/rootfs"
)

// openStore opens the image store under --root with hako's config file.
func openStore(g *globalOptions) (*image.Store, error) {
	cfg, err := image.LoadConfig(network.ConfigPath()) // $HAKO_CONFIG, else /etc/hako/config.json
	if err != nil {
		return nil, err
	}
	driver, err := storageDriver(g, cfg)
	if err != nil {
		return nil, err
	}
	s, err := image.OpenDriver(g.root, driver)
	if err != nil {
		return nil, err
	}
	if s.Notice != "" {
		fmt.Fprintf(os.Stderr, "hako: %s\n", s.Notice)
	}
	s.Insecure = cfg.InsecureRegistries
	if g.debug {
		s.Debugf = debugf
		debugf("storage driver: %s (root %s)", s.Driver(), s.Root())
	}
	return s, nil
}

// storageDriver is the driver asked for: --storage-driver, else the
// config file's storage-driver, else "" (the root's, or a probe's).
func storageDriver(g *globalOptions, cfg image.Config) (string, error) {
	if d := g.storageDriver; d != "" {
		if !rootfs.ValidDriver(d) {
			return "", usageError("invalid --storage-driver %q: use overlay or vfs", d)
		}
		return d, nil
	}
	if d := cfg.StorageDriver; d != "" && !rootfs.ValidDriver(d) {
		return "", usageError("%s: invalid \"storage-driver\" %q: use overlay or vfs", network.ConfigPath(), d)
	}
	return cfg.StorageDriver, nil
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
