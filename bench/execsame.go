package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// runcExecSameSpec is the like-for-like exec peer: runc exec into a
// container runc runs from the spec hako built (Docker's seccomp profile,
// hako's capabilities, masked paths), so both load the same seccomp program
// and capability set for the new process.
const runcExecSameSpec = "runc exec (hako's spec)"

func sameSpecRuncExec(env *benchEnv, hakoArgs func(t *trial, args ...string) []string, closers map[string]func()) *contender {
	id := fmt.Sprintf("hako-bench-exec-same-%d", os.Getpid())
	c := &contender{name: runcExecSameSpec}
	c.run = func(t *trial) error {
		return runCmd(env.ctx, "runc", "--root", filepath.Join(t.home, "state"), "exec", id, "true")
	}
	c.prepare = func(t *trial) error {
		if err := runCmd(env.ctx, env.opts.hako, hakoArgs(t, "pull", "-q", t.img.ref)...); err != nil {
			return err
		}
		if err := runCmd(env.ctx, env.opts.hako, hakoArgs(t, "run", "--network", "none", t.img.ref, "true")...); err != nil {
			return err
		}
		if err := hakoBundle(t); err != nil {
			return err
		}
		if err := setBundleArgs(filepath.Join(t.home, "bundle", "config.json"), "sh", "-c", execSleeper); err != nil {
			return err
		}
		start := exec.CommandContext(env.ctx, "runc", "--root", filepath.Join(t.home, "state"), "run", "-d",
			"--bundle", filepath.Join(t.home, "bundle"), id)
		logf, err := os.Create(filepath.Join(t.home, "runc-run.log")) // a file: a pipe would stay open in the container
		if err != nil {
			return err
		}
		defer logf.Close()
		start.Stdout, start.Stderr = logf, logf
		if err := start.Run(); err != nil {
			out, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("runc run -d: %v: %s", err, out)
		}
		closers[c.name] = func() {
			runCmd(env.ctx, "runc", "--root", filepath.Join(t.home, "state"), "delete", "--force", id)
		}
		return c.run(t) // warm-up, untimed
	}
	c.note = runcExecSameSpec + ": runc runs the spec hako recorded for `hako run --network none IMAGE true` with `sh -c 'exec busybox sleep …'` as its process, on the same overlay rootfs; each round is `runc exec ID true`, which applies the container's seccomp profile and capabilities as hako exec does"
	return c
}

// printExecRatio prints hako exec's time against the like-for-like runc
// exec row (printStartTable's ratio column compares with runc run).
func printExecRatio(res []*result) {
	var h, r *result
	for _, x := range res {
		switch {
		case x.err != nil:
		case x.name == "hako exec":
			h = x
		case x.name == runcExecSameSpec:
			r = x
		}
	}
	if h != nil && r != nil {
		fmt.Printf("hako exec / %s: %s\n\n", runcExecSameSpec, ratio(h, r))
	}
}
