package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/hako-run/hako/image"
)

// runStartBench measures container start latency: how long `true` takes to
// run in a fresh container with no network, from the tool's command to its
// exit, with the image already in each tool's store.
func runStartBench(env *benchEnv) error {
	img, err := pushed(env, "busybox", busyboxImage())
	if err != nil {
		return err
	}
	podman := &podmanTool{keepRunroot: true}
	cs, closeContenders := startContenders(env, img, podman)
	res, err := measure(env, img, cs, env.opts.runRounds)
	closeContenders()
	if err != nil {
		return err
	}
	printHeader(env, "Start latency")
	printStartTable(res, env.opts.runRounds)
	return nil
}

// busyboxImage is Debian's static busybox with a few applet links.
func busyboxImage() imageSpec {
	const bb = "/bin/busybox"
	return imageSpec{
		about: "Debian's busybox-static as /bin/busybox with true and sh links",
		cacheKey: func() (string, error) {
			fi, err := os.Stat(bb)
			if err != nil {
				return "", fmt.Errorf("busybox-static is needed: %w", err)
			}
			return fmt.Sprintf("v1-%d-%d", fi.Size(), fi.ModTime().Unix()), nil
		},
		layers: func() ([]layerSpec, error) {
			return []layerSpec{{name: "busybox", write: func(lw *layerWriter) error {
				data, err := os.ReadFile(bb)
				if err != nil {
					return err
				}
				if err := lw.file("bin/busybox", 0o755, data); err != nil {
					return err
				}
				for _, l := range []string{"true", "sh"} {
					if err := lw.symlink("bin/"+l, "busybox"); err != nil {
						return err
					}
				}
				if err := lw.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n")); err != nil {
					return err
				}
				return lw.file("etc/group", 0o644, []byte("root:x:0:\n"))
			}}}, nil
		},
	}
}

// Names of the runc rows: the like-for-like one (hako's own spec and rootfs,
// the "vs runc" peer) and the bare `runc spec` bundle.
const (
	runcSameSpec = "runc run (hako's spec)"
	runcBare     = "runc run (runc spec, no seccomp)"
	crunBare     = "crun run (runc spec, no seccomp)"
)

// startContenders are hako, podman, runc with hako's spec, and runc and crun
// with a bare `runc spec` bundle. prepare puts the image into each tool's
// store (or a bundle) once; each round starts one container.
func startContenders(env *benchEnv, img *benchImage, podman *podmanTool) (_ []*contender, closeAll func()) {
	hakoArgs := func(t *trial, args ...string) []string {
		return append([]string{"--root", filepath.Join(t.home, "root"), "--runroot", filepath.Join(t.home, "run")}, args...)
	}
	hako := &contender{
		name: "hako run",
		run: func(t *trial) error {
			return runCmd(env.ctx, env.opts.hako, hakoArgs(t, "run", "--rm", "--network", "none", t.img.ref, "true")...)
		},
	}
	hako.prepare = warmedUp(hako, func(t *trial) error {
		return runCmd(env.ctx, env.opts.hako, hakoArgs(t, "pull", "-q", t.img.ref)...)
	})
	var variant podmanRunVariant
	pod := &contender{
		name: "podman run",
		run: func(t *trial) error {
			return podman.run(env, t, variant)
		},
	}
	pod.prepare = func(t *trial) error {
		if err := podman.choose(env, img, t.home); err != nil {
			return err
		}
		if err := podman.cmd(env, t.home, "pull", "-q", "--tls-verify=false", t.img.ref); err != nil {
			return err
		}
		v, err := podman.findRunVariant(env, t)
		if err != nil {
			return err
		}
		variant = v
		pod.note = fmt.Sprintf("podman run: %s %s", podman.describe(), strings.Join(append(v.global, v.run...), " "))
		return nil
	}
	cs := []*contender{hako, pod, sameSpecRunc(env, hakoArgs)}
	var helper *hybridHelper // crun's, on a hybrid cgroup host
	for _, rt := range []string{"runc", "crun"} {
		name := runcBare
		if rt == "crun" {
			name = crunBare
		}
		c := &contender{
			name: name,
			run: func(t *trial) error {
				id := fmt.Sprintf("hako-bench-%d-%d", os.Getpid(), t.round)
				argv := []string{rt, "--root", filepath.Join(t.home, "state"), "run",
					"--bundle", filepath.Join(t.home, "bundle"), id}
				if rt == "crun" && helper != nil {
					return helper.run(argv...)
				}
				return runCmd(env.ctx, argv[0], argv[1:]...)
			},
		}
		prep := func(t *trial) error { return makeBundle(env, t) }
		if rt == "crun" {
			prep = func(t *trial) error {
				hidden, err := hybridCgroup2Mounts()
				if err != nil {
					return err
				}
				if len(hidden) > 0 {
					if helper, err = startHybridHelper(env.ctx); err != nil {
						return err
					}
					c.note = fmt.Sprintf("crun run: in a mount namespace of its own with the cgroup2 mount (%s) detached: crun refuses hybrid cgroup hosts; the commands are relayed to a helper there, one fork and exec per start as for the others",
						strings.Join(hidden, ", "))
				}
				return makeBundle(env, t)
			}
		}
		c.prepare = warmedUp(c, prep)
		cs = append(cs, c)
	}
	return cs, func() {
		if helper != nil {
			helper.close()
		}
	}
}

// sameSpecRunc is `runc run` of the very container hako runs: prepare runs
// `hako run --network none IMAGE true` once without --rm, takes the OCI spec
// hako recorded for it (Record.Spec in ROOT/containers/<id>/config.json:
// seccomp profile, capabilities, masked paths, namespaces, cgroup path, the
// bind-mounted hosts files in the container's directory) as the bundle's
// config.json unchanged, and mounts the same overlay rootfs (the image's
// layers, the container's upper and work dirs) at its root path again, once,
// untimed. Each round is then `runc run` of that bundle.
func sameSpecRunc(env *benchEnv, hakoArgs func(t *trial, args ...string) []string) *contender {
	c := &contender{
		name: runcSameSpec,
		run: func(t *trial) error {
			id := fmt.Sprintf("hako-bench-same-%d-%d", os.Getpid(), t.round)
			return runCmd(env.ctx, "runc", "--root", filepath.Join(t.home, "state"), "run",
				"--bundle", filepath.Join(t.home, "bundle"), id)
		},
	}
	c.prepare = warmedUp(c, func(t *trial) error {
		if err := runCmd(env.ctx, env.opts.hako, hakoArgs(t, "pull", "-q", t.img.ref)...); err != nil {
			return err
		}
		if err := runCmd(env.ctx, env.opts.hako, hakoArgs(t, "run", "--network", "none", t.img.ref, "true")...); err != nil {
			return err
		}
		return hakoBundle(t)
	})
	c.note = runcSameSpec + ": config.json is the spec hako built and recorded for `hako run --network none IMAGE true` (Docker's seccomp profile, same capabilities, masked paths, namespaces and cgroup path); root is the same overlay of the image's layers, mounted once, untimed"
	return c
}

// hakoBundle turns the container hako ran in t.home/root into a runc bundle
// at t.home/bundle: its recorded spec, and its overlay mounted again.
func hakoBundle(t *trial) error {
	root := filepath.Join(t.home, "root")
	records, err := filepath.Glob(filepath.Join(root, "containers", "*", "config.json"))
	if err != nil || len(records) != 1 {
		return fmt.Errorf("want exactly one hako container record, found %d (%v)", len(records), err)
	}
	data, err := os.ReadFile(records[0])
	if err != nil {
		return fmt.Errorf("reading hako's container record: %w", err)
	}
	var rec struct {
		Spec json.RawMessage `json:"spec"`
	}
	var spec struct {
		Root struct {
			Path string `json:"path"`
		} `json:"root"`
	}
	if err := json.Unmarshal(data, &rec); err != nil || len(rec.Spec) == 0 {
		return fmt.Errorf("hako's container record %s has no spec (%v)", records[0], err)
	}
	if err := json.Unmarshal(rec.Spec, &spec); err != nil || spec.Root.Path == "" {
		return fmt.Errorf("hako's recorded spec has no root path (%v)", err)
	}
	s, err := image.Open(root)
	if err != nil {
		return err
	}
	img, err := s.Get(t.img.ref)
	if err != nil {
		return err
	}
	lowers := img.LayerDirs()
	slices.Reverse(lowers) // overlay wants the top layer first
	dir := filepath.Dir(spec.Root.Path)
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lowers, ":"),
		filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if err := syscall.Mount("overlay", spec.Root.Path, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting hako's rootfs again: %w", err)
	}
	bundle := filepath.Join(t.home, "bundle")
	if err := mkdirs(bundle, filepath.Join(t.home, "state")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bundle, "config.json"), rec.Spec, 0o644)
}

// warmedUp returns a prepare func that runs prep and then c.run once,
// untimed, so no contender's first measured start pays for cold caches.
func warmedUp(c *contender, prep func(t *trial) error) func(t *trial) error {
	return func(t *trial) error {
		if err := prep(t); err != nil {
			return err
		}
		t.round = -1
		if err := c.run(t); err != nil {
			return fmt.Errorf("warm-up run: %w", err)
		}
		return nil
	}
}

// podmanRunVariant is extra podman flags: global ones and `run` ones.
type podmanRunVariant struct{ global, run []string }

// podmanRunVariants are tried in order until one works. By default podman
// asks the runtime to raise RLIMIT_NOFILE and RLIMIT_NPROC, which fails
// without CAP_SYS_RESOURCE (`--ulimit host` and the caller's own hard limits
// fail too with podman 4.3; lower values work), and crun refuses hosts with
// cgroup v1 and v2 mounted side by side (runc copes).
func podmanRunVariants() []podmanRunVariant {
	limits := []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
	var vs []podmanRunVariant
	for _, global := range [][]string{nil, {"--runtime", "runc"}} {
		for _, run := range [][]string{nil, limits} {
			vs = append(vs, podmanRunVariant{global: global, run: run})
		}
	}
	return vs
}

func (p *podmanTool) run(env *benchEnv, t *trial, v podmanRunVariant) error {
	args := append(append([]string{}, v.global...), "run", "--rm", "--network", "none")
	args = append(append(args, v.run...), t.img.ref, "true")
	return p.cmd(env, t.home, args...)
}

// findRunVariant is the podman contender's warm-up run: the first variant
// that starts a container is the one measured.
func (p *podmanTool) findRunVariant(env *benchEnv, t *trial) (podmanRunVariant, error) {
	var errs []string
	for _, v := range podmanRunVariants() {
		err := p.run(env, t, v)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err.Error())
	}
	return podmanRunVariant{}, fmt.Errorf("podman run fails with every variant: %s", strings.Join(errs, "; "))
}

// makeBundle unpacks the image's layers into home/bundle/rootfs and writes a
// config.json from `runc spec` that runs `true` without a terminal. runc's
// default spec has its own network namespace, like --network none.
func makeBundle(env *benchEnv, t *trial) error {
	bundle := filepath.Join(t.home, "bundle")
	rootfs := filepath.Join(bundle, "rootfs")
	if err := mkdirs(rootfs, filepath.Join(t.home, "state")); err != nil {
		return err
	}
	for _, blob := range t.img.blobs {
		if err := runCmd(env.ctx, "tar", "-xzf", blob, "-C", rootfs); err != nil {
			return err
		}
	}
	if err := runCmd(env.ctx, "runc", "spec", "--bundle", bundle); err != nil {
		return err
	}
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading bundle config: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("parsing bundle config: %w", err)
	}
	proc, ok := spec["process"].(map[string]any)
	if !ok {
		return fmt.Errorf("bundle config has no process")
	}
	proc["args"] = []string{"true"}
	proc["terminal"] = false
	if data, err = json.MarshalIndent(spec, "", "  "); err != nil {
		return fmt.Errorf("encoding bundle config: %w", err)
	}
	return os.WriteFile(path, data, 0o644)
}

// printStartTable prints the start-latency results.
func printStartTable(res []*result, rounds int) {
	fmt.Printf("#### start latency: `true` in a new container, no network\n\n")
	fmt.Printf("Median of %d interleaved rounds, image already local. Ratio = time / peer's time (below 1.00 is faster).\n\n", rounds)
	fmt.Println("| tool | median ms | vs runc (hako's spec) | vs podman | min–max ms |")
	fmt.Println("|---|---:|---:|---:|---:|")
	peer := func(prefix string) *result {
		for _, r := range res {
			if strings.HasPrefix(r.name, prefix) && r.err == nil {
				return r
			}
		}
		return nil
	}
	for _, r := range res {
		if r.err != nil {
			fmt.Printf("| %s | failed: %s | | | |\n", r.name, mdEscape(r.err.Error()))
			continue
		}
		lo, hi := r.spread()
		fmt.Printf("| %s | %.0f | %s | %s | %.0f–%.0f |\n", r.name, ms(r.median().Seconds()),
			ratio(r, peer(runcSameSpec)), ratio(r, peer("podman")), ms(lo.Seconds()), ms(hi.Seconds()))
	}
	fmt.Println()
	for _, r := range res {
		if r.note != "" {
			fmt.Printf("- %s\n", r.note)
		}
	}
	fmt.Println()
}

func ms(s float64) float64 { return s * 1000 }
