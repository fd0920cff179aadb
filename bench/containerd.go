package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The containerd benchmark: `ctr run --rm IMAGE ID true` through containerd's
// runc shim with hako-runc, runc and crun as its runc binary, interleaved,
// and the memory an idle shim and container take with each. containerd is
// Debian's, started here with its own root, state dir and sockets.

const ctrNamespace = "hako-bench"

type benchContainerd struct {
	dir, sock string
	cmd       *exec.Cmd
}

func startBenchContainerd(dir string) (*benchContainerd, error) {
	if _, err := exec.LookPath("containerd"); err != nil {
		return nil, fmt.Errorf("containerd is not installed (make bench installs Debian's containerd)")
	}
	c := &benchContainerd{dir: dir, sock: filepath.Join(dir, "c.sock")}
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  address = %[5]q
[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", filepath.Join(dir, "debug.sock"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// The shims daemonize; as their subreaper the bench reaps them.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, err
	}
	c.cmd = exec.Command("containerd", "--config", cfg)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); exec.Command("ctr", "-a", c.sock, "version").Run() != nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("containerd did not come up: %s", lastLines(readFile(filepath.Join(dir, "containerd.log")), 3))
		}
	}
	return c, nil
}

func (c *benchContainerd) ctr(args ...string) []string {
	return append([]string{"-a", c.sock, "-n", ctrNamespace}, args...)
}

// stop removes leftover tasks and containers, kills containerd by PID and
// reaps the shims that were reparented to this process.
func (c *benchContainerd) stop() {
	out, _ := exec.Command("ctr", c.ctr("task", "ls", "-q")...).Output()
	for _, id := range strings.Fields(string(out)) {
		exec.Command("ctr", c.ctr("task", "kill", "-s", "SIGKILL", id)...).Run()
		exec.Command("ctr", c.ctr("task", "rm", "-f", id)...).Run()
	}
	out, _ = exec.Command("ctr", c.ctr("container", "ls", "-q")...).Output()
	for _, id := range strings.Fields(string(out)) {
		exec.Command("ctr", c.ctr("container", "rm", id)...).Run()
	}
	time.Sleep(200 * time.Millisecond) // the shims exit once their task is gone
	c.cmd.Process.Kill()
	c.cmd.Wait()
	for {
		var ws syscall.WaitStatus
		if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
			break
		}
	}
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	// ctr leaves fifo dirs behind for detached tasks.
	fifos, _ := os.ReadDir("/run/containerd/fifo")
	for _, d := range fifos {
		names, _ := os.ReadDir(filepath.Join("/run/containerd/fifo", d.Name()))
		if len(names) > 0 && strings.HasPrefix(names[0].Name(), "bench-") {
			os.RemoveAll(filepath.Join("/run/containerd/fifo", d.Name()))
		}
	}
}

func runContainerdBench(env *benchEnv) error {
	img, err := pushed(env, "busybox", busyboxImage())
	if err != nil {
		return err
	}
	c, err := startBenchContainerd(filepath.Join(env.tmp, "containerd"))
	if err != nil {
		return err
	}
	defer c.stop()
	if err := runCmd(env.ctx, "ctr", c.ctr("images", "pull", "--plain-http", img.ref)...); err != nil {
		return err
	}
	hakoRunc := filepath.Join(env.tmp, "bin", "hako-runc")
	if err := os.MkdirAll(filepath.Dir(hakoRunc), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(env.opts.hako, hakoRunc); err != nil {
		return err
	}
	var cs []*contender
	for _, seccomp := range []bool{false, true} {
		for _, rt := range []struct{ name, bin string }{{"hako-runc", hakoRunc}, {"runc", "runc"}, {"crun", "crun"}} {
			bin := rt.bin
			if !filepath.IsAbs(bin) {
				if bin, err = exec.LookPath(bin); err != nil {
					continue
				}
			}
			name, flags := "ctr run --rm ("+rt.name+")", []string{"--rm"}
			if seccomp {
				name, flags = "ctr run --rm --seccomp ("+rt.name+")", []string{"--rm", "--seccomp"}
			}
			tag := fmt.Sprintf("bench-%s-%d-", rt.name, len(cs))
			ct := &contender{
				name: name,
				run: func(t *trial) error {
					id := tag + strconv.Itoa(t.round)
					args := append([]string{"run"}, flags...)
					args = append(args, "--runc-binary", bin, "--runc-root", filepath.Join(t.home, "root"), "--cgroup", "/hako/"+id, img.ref, id, "true")
					return runCmd(env.ctx, "ctr", c.ctr(args...)...)
				},
			}
			if !seccomp {
				ct.prepare = func(t *trial) error {
					kb, err := idleMemory(env, c, img.ref, bin, t.home, rt.name)
					if err != nil {
						return err
					}
					t.env.memNotes = append(t.env.memNotes, fmt.Sprintf("%s: %d KiB", rt.name, kb))
					return nil
				}
			}
			cs = append(cs, ct)
		}
	}
	res, err := measure(env, img, cs, env.opts.runRounds)
	if err != nil {
		return err
	}
	printHeader(env, "containerd start latency")
	fmt.Printf("#### `ctr run --rm IMAGE ID true` through containerd's runc shim (io.containerd.runc.v2), %s\n\n", firstLine(cmdOutput("containerd", "--version")))
	fmt.Printf("Median of %d interleaved rounds, image already unpacked. Ratio = time / runc's time with the same flags (below 1.00 is faster).\n\n", env.opts.runRounds)
	fmt.Println("| runtime | median ms | vs runc | min–max ms |")
	fmt.Println("|---|---:|---:|---:|")
	for _, r := range res {
		if r.err != nil {
			fmt.Printf("| %s | failed: %s | | |\n", r.name, mdEscape(r.err.Error()))
			continue
		}
		lo, hi := r.spread()
		fmt.Printf("| %s | %.0f | %s | %.0f–%.0f |\n", r.name, ms(r.median().Seconds()), ratio(r, peerOf(res, r)), ms(lo.Seconds()), ms(hi.Seconds()))
	}
	fmt.Printf("\nMemory of an idle detached `sleep` container with its shim (PSS of the shim and the container's processes; the runtime binary itself exits after each command): %s\n\n", strings.Join(env.memNotes, ", "))
	return nil
}

// idleMemory starts a detached sleep with the runtime, sums the PSS of its
// shim and container, and removes it.
func idleMemory(env *benchEnv, c *benchContainerd, ref, bin, home, name string) (int, error) {
	id := "bench-mem-" + name
	if err := runCmd(env.ctx, "ctr", c.ctr("run", "-d", "--runc-binary", bin, "--runc-root", filepath.Join(home, "root"),
		"--cgroup", "/hako/"+id, ref, id, "busybox", "sleep", "1000")...); err != nil {
		return 0, err
	}
	defer func() {
		exec.Command("ctr", c.ctr("task", "kill", "-s", "SIGKILL", id)...).Run()
		for i := 0; i < 50; i++ {
			if exec.Command("ctr", c.ctr("task", "rm", id)...).Run() == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		exec.Command("ctr", c.ctr("container", "rm", id)...).Run()
	}()
	time.Sleep(500 * time.Millisecond) // let the shim settle
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cmdline, []byte("containerd-shim-runc-v2")) && bytes.Contains(cmdline, []byte(c.sock)) && bytes.Contains(cmdline, []byte(id)) {
			pids = append(pids, pid)
		}
	}
	procs := readFile(filepath.Join("/sys/fs/cgroup/pids/hako", id, "cgroup.procs"))
	if procs == "" {
		procs = readFile(filepath.Join("/sys/fs/cgroup/hako", id, "cgroup.procs"))
	}
	for _, f := range strings.Fields(procs) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) < 2 {
		return 0, fmt.Errorf("found %d of the shim's and container's processes", len(pids))
	}
	kb := 0
	for _, pid := range pids {
		for _, line := range strings.Split(readFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				n, _ := strconv.Atoi(f[1])
				kb += n
			}
		}
	}
	return kb, nil
}

// peerOf is runc's result with the same flags as r.
func peerOf(res []*result, r *result) *result {
	flags, _, _ := strings.Cut(r.name, " (")
	for _, p := range res {
		if p.name == flags+" (runc)" && p.err == nil {
			return p
		}
	}
	return nil
}
