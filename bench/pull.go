package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// runPullBench generates and pushes the images, measures every pull
// contender on each and prints the markdown report.
func runPullBench(env *benchEnv) error {
	probe, err := pushed(env, "probe", probeImage())
	if err != nil {
		return err
	}
	var images []*benchImage
	for _, n := range imageOrder {
		if env.opts.only != nil && !env.opts.only[n] {
			continue
		}
		img, err := pushed(env, n, imageSpecs[n])
		if err != nil {
			return err
		}
		images = append(images, img)
	}
	podman := &podmanTool{}
	type section struct {
		img     *benchImage
		results []*result
	}
	var sections []section
	for _, img := range images {
		cs := pullContenders(env, probe, podman)
		res, err := measure(env, img, cs, env.opts.rounds)
		if err != nil {
			return err
		}
		sections = append(sections, section{img, res})
	}
	printHeader(env, "Pull")
	for _, s := range sections {
		printPullTable(s.img, s.results, env.opts.rounds)
	}
	return nil
}

// pushed builds (or takes from the cache) an image and pushes it.
func pushed(env *benchEnv, name string, spec imageSpec) (*benchImage, error) {
	img, err := buildImage(env.opts.cacheDir, name, spec)
	if err != nil {
		return nil, fmt.Errorf("building image %s: %w", name, err)
	}
	v1img, err := img.image()
	if err != nil {
		return nil, fmt.Errorf("assembling image %s: %w", name, err)
	}
	if img.ref, err = env.reg.push(env.ctx, name, v1img); err != nil {
		return nil, err
	}
	return img, nil
}

// probeImage is a one-file image each tool pulls once, untimed, so a tool
// that does not work here is reported before any timing starts.
func probeImage() imageSpec {
	return imageSpec{
		about:    "one small file",
		cacheKey: func() (string, error) { return "v1", nil },
		layers: func() ([]layerSpec, error) {
			return []layerSpec{{name: "hello", write: func(lw *layerWriter) error {
				return lw.file("hello.txt", 0o644, []byte("hello\n"))
			}}}, nil
		},
	}
}

// pullContenders are hako, podman, skopeo+umoci and the gzip|tar floor.
// Each round pulls into an empty store.
func pullContenders(env *benchEnv, probe *benchImage, podman *podmanTool) []*contender {
	hako := &contender{
		name: "hako",
		run: func(t *trial) error {
			return runCmd(env.ctx, env.opts.hako, "--root", filepath.Join(t.dir, "root"),
				"--runroot", filepath.Join(t.dir, "run"), "pull", "-q", t.img.ref)
		},
	}
	pod := &contender{
		name: "podman",
		run: func(t *trial) error {
			return podman.cmd(env, t.dir, "pull", "-q", "--tls-verify=false", t.img.ref)
		},
	}
	pod.prepare = func(t *trial) error {
		if err := podman.choose(env, probe, t.home); err != nil {
			return err
		}
		pod.note = "podman " + podman.describe()
		return nil
	}
	skopeo := &contender{
		name: "skopeo+umoci",
		run: func(t *trial) error {
			layout := filepath.Join(t.dir, "layout")
			if err := runCmd(env.ctx, "skopeo", "copy", "-q", "--src-tls-verify=false",
				"docker://"+t.img.ref, "oci:"+layout+":latest"); err != nil {
				return err
			}
			return runCmd(env.ctx, "umoci", "unpack", "--image", layout+":latest", filepath.Join(t.dir, "bundle"))
		},
	}
	floor := &contender{
		name: "floor: gzip -dc | tar -x",
		run: func(t *trial) error {
			out := filepath.Join(t.dir, "rootfs")
			if err := mkdirs(out); err != nil {
				return err
			}
			for _, blob := range t.img.blobs {
				// bash for pipefail: a gzip error must fail the round.
				err := runCmd(env.ctx, "bash", "-c", `set -o pipefail; gzip -dc "$1" | tar -x -C "$2"`, "floor", blob, out)
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	cs := []*contender{hako, pod, skopeo, floor}
	for _, c := range []*contender{hako, skopeo} {
		c.prepare = probeWith(c, probe)
	}
	return cs
}

// probeWith returns a prepare func that runs c once on the probe image,
// untimed, so a tool that does not work here fails before any timing.
func probeWith(c *contender, probe *benchImage) func(t *trial) error {
	return func(t *trial) error {
		pt := &trial{env: t.env, img: probe, home: t.home}
		if _, err := oneRound(c, pt, "probe"); err != nil {
			return fmt.Errorf("probe pull: %w", err)
		}
		return nil
	}
}

// podmanTool finds the podman flags that work on this machine: native
// overlay first, then vfs. Everything podman keeps (store, run state,
// events, temp files) stays in the bench's temp dir.
type podmanTool struct {
	driver string
	// overlayKind says whether overlay is the kernel's or fuse-overlayfs.
	overlayKind string
	chosen      bool
	// keepRunroot keeps run state between commands (a pull, then runs);
	// otherwise it is emptied after every command.
	keepRunroot bool
}

func (p *podmanTool) runroot(env *benchEnv) string {
	return filepath.Join(env.tmp, "podrun")
}

func (p *podmanTool) args(env *benchEnv, dir string) []string {
	return []string{
		"--root", filepath.Join(dir, "root"),
		// podman refuses a runroot longer than 50 characters, so it gets a
		// short path of its own.
		"--runroot", p.runroot(env),
		"--tmpdir", filepath.Join(dir, "tmp"),
		"--storage-driver", p.driver,
		// No systemd or journald here: plain cgroupfs and a file for events.
		"--cgroup-manager", "cgroupfs",
		"--events-backend", "file",
	}
}

func (p *podmanTool) cmd(env *benchEnv, dir string, args ...string) error {
	err := runCmd(env.ctx, "podman", append(p.args(env, dir), args...)...)
	if p.keepRunroot {
		return err
	}
	if rerr := removeTree(p.runroot(env)); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// choose pulls the probe image with overlay, falling back to vfs.
func (p *podmanTool) choose(env *benchEnv, probe *benchImage, home string) error {
	if p.chosen {
		return nil
	}
	var errs []string
	for _, driver := range []string{"overlay", "vfs"} {
		p.driver = driver
		dir := filepath.Join(home, "probe-"+driver)
		err := p.cmd(env, dir, "pull", "-q", "--tls-verify=false", probe.ref)
		// The probe's run state must not leak into the measured store.
		if rerr := removeTree(p.runroot(env)); rerr != nil {
			return rerr
		}
		if driver == "overlay" && err == nil {
			// containers/storage records here whether it needed a mount program.
			p.overlayKind = "kernel overlayfs"
			if b, _ := os.ReadFile(filepath.Join(dir, "root", "overlay", ".has-mount-program")); strings.TrimSpace(string(b)) == "true" {
				p.overlayKind = "fuse-overlayfs"
			}
		}
		if rerr := removeTree(dir); rerr != nil {
			return rerr
		}
		if err == nil {
			p.chosen = true
			return nil
		}
		errs = append(errs, driver+": "+err.Error())
	}
	return fmt.Errorf("podman pull fails with every driver: %s", strings.Join(errs, "; "))
}

func (p *podmanTool) describe() string {
	s := "--storage-driver " + p.driver
	if p.overlayKind != "" {
		s += " (" + p.overlayKind + ")"
	}
	return s + " --cgroup-manager cgroupfs --events-backend file"
}
