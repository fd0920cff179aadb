package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The exec rows: how long `true` takes to run in an already running
// container, from the tool's command to its exit: hako exec against runc
// exec and podman exec, interleaved.

const execSleeper = "exec busybox sleep 1000000"

func runExecBench(env *benchEnv) error {
	img, err := pushed(env, "busybox", busyboxImage())
	if err != nil {
		return err
	}
	podman := &podmanTool{keepRunroot: true}
	cs, closeAll := execContenders(env, podman)
	res, err := measure(env, img, cs, env.opts.runRounds)
	closeAll()
	if err != nil {
		return err
	}
	printHeader(env, "Exec latency")
	printStartTable(res, env.opts.runRounds)
	printExecRatio(res)
	return nil
}

func execContenders(env *benchEnv, podman *podmanTool) ([]*contender, func()) {
	closers := map[string]func(){} // by contender: stops its running container
	hakoArgs := func(t *trial, args ...string) []string {
		return append([]string{"--root", filepath.Join(t.home, "root"), "--runroot", filepath.Join(t.home, "run")}, args...)
	}
	hako := &contender{
		name: "hako exec",
		run: func(t *trial) error {
			return runCmd(env.ctx, env.opts.hako, hakoArgs(t, "exec", "bench-exec", "true")...)
		},
	}
	hako.prepare = func(t *trial) error {
		if err := runCmd(env.ctx, env.opts.hako, hakoArgs(t, "pull", "-q", t.img.ref)...); err != nil {
			return err
		}
		if err := runCmd(env.ctx, env.opts.hako, hakoArgs(t, "run", "-d", "--name", "bench-exec", "--network", "none", t.img.ref, "sh", "-c", execSleeper)...); err != nil {
			return err
		}
		closers["hako exec"] = func() { runCmd(env.ctx, env.opts.hako, hakoArgs(t, "rm", "-f", "bench-exec")...) }
		return runCmd(env.ctx, env.opts.hako, hakoArgs(t, "exec", "bench-exec", "true")...)
	}
	runc := &contender{name: "runc exec (runc spec, no seccomp)"}
	runcID := fmt.Sprintf("hako-bench-exec-%d", os.Getpid())
	runc.run = func(t *trial) error {
		return runCmd(env.ctx, "runc", "--root", filepath.Join(t.home, "state"), "exec", runcID, "true")
	}
	runc.prepare = func(t *trial) error {
		if err := makeBundle(env, t); err != nil {
			return err
		}
		if err := setBundleArgs(filepath.Join(t.home, "bundle", "config.json"), "sh", "-c", execSleeper); err != nil {
			return err
		}
		// Detached, with no stdio of ours for the container to hold.
		start := exec.CommandContext(env.ctx, "runc", "--root", filepath.Join(t.home, "state"), "run", "-d",
			"--bundle", filepath.Join(t.home, "bundle"), runcID)
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
		closers[runc.name] = func() {
			runCmd(env.ctx, "runc", "--root", filepath.Join(t.home, "state"), "delete", "--force", runcID)
		}
		return nil
	}
	var variant podmanRunVariant
	pod := &contender{name: "podman exec"}
	pod.run = func(t *trial) error {
		return podman.cmd(env, t.home, append(append([]string{}, variant.global...), "exec", "bench-exec", "true")...)
	}
	pod.prepare = func(t *trial) error {
		if err := podman.choose(env, t.img, t.home); err != nil {
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
		args := append(append([]string{}, v.global...), "run", "-d", "--name", "bench-exec", "--network", "none")
		args = append(append(args, v.run...), t.img.ref, "sh", "-c", execSleeper)
		if err := podman.cmd(env, t.home, args...); err != nil {
			return err
		}
		closers["podman exec"] = func() {
			podman.cmd(env, t.home, append(append([]string{}, v.global...), "rm", "-f", "-t", "0", "bench-exec")...)
		}
		pod.note = fmt.Sprintf("podman exec: %s", podman.describe())
		return nil
	}
	cs := []*contender{hako, sameSpecRuncExec(env, hakoArgs, closers), runc, pod}
	// Each running container goes after its contender's last round, while
	// its state dir still exists (measure removes the dirs when it returns).
	stop := func(name string) {
		if f := closers[name]; f != nil {
			delete(closers, name)
			f()
		}
	}
	for _, c := range cs {
		c.cleanup = func(t *trial) error {
			if t.round == env.opts.runRounds-1 {
				stop(c.name)
			}
			return nil
		}
	}
	closeAll := func() { // after a failed round, whatever is left
		for name := range closers {
			stop(name)
		}
	}
	return cs, closeAll
}

// setBundleArgs sets a bundle's process args.
func setBundleArgs(path string, args ...string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	proc, ok := spec["process"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s has no process", path)
	}
	proc["args"] = args
	if data, err = json.MarshalIndent(spec, "", "  "); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
