package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The build rows: the same multi-stage Dockerfile built by hako build and
// by podman build (buildah), each with its own empty --root and --runroot:
// cold (an empty store: the base image is pulled from the local registry,
// every step runs) and cached (the same build again on a store that built
// it once: every step from the cache).

func runBuildBench(env *benchEnv) error {
	img, err := pushed(env, "busybox", busyboxImage())
	if err != nil {
		return err
	}
	ctxDir := filepath.Join(env.tmp, "build-context")
	if err := writeBuildContext(ctxDir, img.ref); err != nil {
		return err
	}
	podman := &podmanTool{}
	cs, note := buildContenders(env, img, podman, ctxDir)
	res, err := measure(env, img, cs, env.opts.rounds)
	if err != nil {
		return err
	}
	res[len(res)-1].note = note()
	printHeader(env, "Build")
	fmt.Printf("The Dockerfile: two stages, %d instructions (WORKDIR, COPY of a directory, RUN, COPY --from, ENV, CMD), a context of %d small files. RUN without network in both.\n\n", 11, buildContextFiles+3)
	fmt.Printf("Median of %d rounds. Ratio = time / podman's time for the same case (below 1.00 is faster).\n\n", env.opts.rounds)
	fmt.Println("| tool | median s | vs podman | min–max s |")
	fmt.Println("|---|---:|---:|---:|")
	peer := func(name string) *result {
		for _, r := range res {
			if r.name == name && r.err == nil {
				return r
			}
		}
		return nil
	}
	for _, r := range res {
		if r.err != nil {
			fmt.Printf("| %s | failed: %s | | |\n", mdEscape(r.name), mdEscape(r.err.Error()))
			continue
		}
		lo, hi := r.spread()
		peerName := strings.Replace(r.name, "hako build", "podman build", 1)
		fmt.Printf("| %s | %.2f | %s | %.2f–%.2f |\n", mdEscape(r.name), r.median().Seconds(), ratio(r, peer(peerName)), lo.Seconds(), hi.Seconds())
	}
	fmt.Println()
	for _, r := range res {
		if r.note != "" {
			fmt.Printf("- %s\n", r.note)
		}
	}
	fmt.Println()
	return nil
}

const buildContextFiles = 200

// writeBuildContext writes the Dockerfile and its context into dir.
func writeBuildContext(dir, base string) error {
	dockerfile := `FROM ` + base + ` AS builder
WORKDIR /src
COPY src/ ./
RUN /bin/busybox cat a.txt b.txt > out.txt && echo built >> out.txt
RUN /bin/busybox mkdir -p /src/gen && for i in 1 2 3 4 5 6 7 8 9 10; do echo $i > /src/gen/$i; done

FROM ` + base + `
ENV MODE=bench
COPY --from=builder /src/out.txt /app/out.txt
COPY data/ /app/data/
RUN echo done > /app/done
CMD ["/bin/busybox", "cat", "/app/out.txt"]
`
	files := map[string]string{"Dockerfile": dockerfile, "src/a.txt": "a\n", "src/b.txt": "b\n"}
	for i := 0; i < buildContextFiles; i++ {
		files[fmt.Sprintf("data/f%03d", i)] = strings.Repeat(fmt.Sprintf("%d ", i), 1000)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func buildContenders(env *benchEnv, img *benchImage, podman *podmanTool, ctxDir string) (cs []*contender, note func() string) {
	hakoBuild := func(dir string) error {
		return runCmd(env.ctx, env.opts.hako, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"build", "-q", "-t", "bench-build", ctxDir)
	}
	var variant podmanRunVariant
	podmanBuild := func(dir string) error {
		args := append(append([]string{}, variant.global...), "build", "-q", "--tls-verify=false", "--network=none", "--layers")
		args = append(append(args, variant.run...), "-t", "bench-build", ctxDir)
		return podman.cmd(env, dir, args...)
	}
	// choose picks the storage driver, then the first of run's variants
	// (runtime, ulimits) with which a build works here.
	choose := func(t *trial) error {
		if err := podman.choose(env, img, t.home); err != nil {
			return err
		}
		if variant.global != nil || variant.run != nil {
			return nil
		}
		var errs []string
		for i, v := range podmanRunVariants() {
			variant = v
			dir := filepath.Join(t.home, fmt.Sprintf("probe-build-%d", i))
			err := podmanBuild(dir)
			if rerr := removeTree(dir); rerr != nil {
				return rerr
			}
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("podman build fails with every variant: %s", strings.Join(errs, "; "))
	}
	cached := filepath.Join("cached-store")
	note = func() string { return podmanBuildNote(podman, variant) }
	return []*contender{
		{name: "hako build, cold", run: func(t *trial) error { return hakoBuild(t.dir) }},
		{name: "podman build, cold", prepare: choose, run: func(t *trial) error { return podmanBuild(t.dir) }},
		{
			name:    "hako build, cached",
			prepare: func(t *trial) error { return hakoBuild(filepath.Join(t.home, cached)) },
			run:     func(t *trial) error { return hakoBuild(filepath.Join(t.home, cached)) },
		},
		{
			name: "podman build, cached",
			prepare: func(t *trial) error {
				if err := choose(t); err != nil {
					return err
				}
				return podmanBuild(filepath.Join(t.home, cached))
			},
			run: func(t *trial) error { return podmanBuild(filepath.Join(t.home, cached)) },
		},
	}, note
}

// podmanBuildNote says how podman build ran.
func podmanBuildNote(p *podmanTool, v podmanRunVariant) string {
	return fmt.Sprintf("podman build: %s %s --layers --network=none, its own --root and a short --runroot emptied after each command", p.describe(), strings.Join(append(v.global, v.run...), " "))
}
