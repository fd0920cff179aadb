package main

import "fmt"

// runServe pushes the chosen images to the bench's registry, prints their
// references and serves them until interrupted: for profiling one tool's
// pull by hand (hako --debug pull, perf, strace) against the same bytes.
func runServe(env *benchEnv) error {
	for _, n := range imageOrder {
		if env.opts.only != nil && !env.opts.only[n] {
			continue
		}
		img, err := pushed(env, n, imageSpecs[n])
		if err != nil {
			return err
		}
		fmt.Printf("%s\t%s\t%d layers, %d bytes compressed, %d uncompressed, %d files\n",
			n, img.ref, img.layers, img.stats.Compressed, img.stats.Uncompressed, img.stats.Files)
	}
	fmt.Println("serving; Ctrl-C (SIGINT or SIGTERM) stops the registry and removes its data")
	<-env.ctx.Done()
	return nil
}
