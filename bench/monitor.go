package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The monitor rows: the memory of the process each tool keeps beside an
// idle detached container — hako's monitor (a re-exec of hako) and
// podman's conmon — with -monitors of them running at once, so that what
// they share (the executable's pages) is split between them in PSS.

// memRow is one tool's figures, per process, in KiB.
type memRow struct {
	name           string
	note           string
	rss, pss, priv []int
	threads        []int
	err            error
}

func runMonitorBench(env *benchEnv) error {
	img, err := pushed(env, "busybox", busyboxImage())
	if err != nil {
		return err
	}
	n := env.opts.monitors
	rows := []*memRow{hakoMonitors(env, img, n), hakoForeground(env, img, n), conmonMonitors(env, img, n)}
	printHeader(env, "Idle monitor memory")
	fmt.Printf("#### %d detached `sh -c 'exec busybox sleep …'` containers (`run -d --network none`), idle %s\n\n", n, env.opts.monitorIdle)
	fmt.Println("Per process that watches a container, from /proc/PID/smaps_rollup with all of them running: median (min–max), memory in KiB. PSS splits shared pages (the executable) between the processes that map them; private is Private_Clean+Private_Dirty.")
	fmt.Println()
	fmt.Println("| process | RSS KiB | PSS KiB | private KiB | threads |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, r := range rows {
		if r.err != nil {
			fmt.Printf("| %s | failed: %s | | | |\n", r.name, mdEscape(r.err.Error()))
			continue
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", r.name, spreadKiB(r.rss), spreadKiB(r.pss), spreadKiB(r.priv), spreadKiB(r.threads))
	}
	fmt.Println()
	for _, r := range rows {
		if r.note != "" {
			fmt.Printf("- %s\n", r.note)
		}
	}
	return nil
}

// hakoMonitors runs n containers with hako run -d and measures their
// monitors.
func hakoMonitors(env *benchEnv, img *benchImage, n int) *memRow {
	row := &memRow{name: "hako monitor (`hako run -d`)"}
	home := filepath.Join(env.tmp, "monitor-hako")
	hako := func(args ...string) []string {
		return append([]string{"--root", filepath.Join(home, "root"), "--runroot", filepath.Join(home, "run")}, args...)
	}
	if row.err = runCmd(env.ctx, env.opts.hako, hako("pull", "-q", img.ref)...); row.err != nil {
		return row
	}
	names := containerNames("bench-mon", n)
	defer runCmd(context.Background(), env.opts.hako, hako(append([]string{"rm", "-f"}, names...)...)...)
	for _, name := range names {
		if row.err = runCmd(env.ctx, env.opts.hako, hako("run", "-d", "--name", name, "--network", "none", img.ref, "sh", "-c", execSleeper)...); row.err != nil {
			return row
		}
	}
	if row.err = idle(env); row.err != nil {
		return row
	}
	pids, err := cmdPids(env.ctx, env.opts.hako, hako(append([]string{"inspect", "--format", "{{.State.MonitorPid}}"}, names...)...)...)
	if err != nil {
		row.err = err
		return row
	}
	row.measure(pids)
	return row
}

// hakoForeground runs n containers with a foreground hako run each
// (stdio /dev/null, no -t) and measures those hako processes, which are
// their containers' monitors.
func hakoForeground(env *benchEnv, img *benchImage, n int) *memRow {
	row := &memRow{name: "foreground `hako run` (no -t)"}
	home := filepath.Join(env.tmp, "monitor-hako-fg")
	hako := func(args ...string) []string {
		return append([]string{"--root", filepath.Join(home, "root"), "--runroot", filepath.Join(home, "run")}, args...)
	}
	if row.err = runCmd(env.ctx, env.opts.hako, hako("pull", "-q", img.ref)...); row.err != nil {
		return row
	}
	names := containerNames("bench-fg", n)
	var cmds []*exec.Cmd
	defer func() {
		runCmd(context.Background(), env.opts.hako, hako(append([]string{"rm", "-f"}, names...)...)...)
		for _, c := range cmds {
			c.Wait()
		}
	}()
	for _, name := range names {
		c := exec.Command(env.opts.hako, hako("run", "--name", name, "--network", "none", img.ref, "sh", "-c", execSleeper)...)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if row.err = c.Start(); row.err != nil {
			return row
		}
		cmds = append(cmds, c)
	}
	// Each hands its wait on once its container has run for a second.
	for _, name := range names {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			out, _ := exec.Command(env.opts.hako, hako("inspect", "--format", "{{.State.Status}}", name)...).Output()
			if strings.TrimSpace(string(out)) == "running" {
				break
			}
			if time.Now().After(deadline) {
				row.err = fmt.Errorf("%s does not run", name)
				return row
			}
		}
	}
	if row.err = idle(env); row.err != nil {
		return row
	}
	var pids []int
	for _, c := range cmds {
		pids = append(pids, c.Process.Pid)
	}
	row.measure(pids)
	return row
}

// conmonMonitors does the same with podman, in a store of its own.
func conmonMonitors(env *benchEnv, img *benchImage, n int) *memRow {
	row := &memRow{name: "conmon (`podman run -d`)"}
	podman := &podmanTool{keepRunroot: true}
	t := &trial{env: env, img: img, home: filepath.Join(env.tmp, "monitor-podman")}
	if row.err = podman.choose(env, img, t.home); row.err != nil {
		return row
	}
	if row.err = podman.cmd(env, t.home, "pull", "-q", "--tls-verify=false", img.ref); row.err != nil {
		return row
	}
	v, err := podman.findRunVariant(env, t)
	if err != nil {
		row.err = err
		return row
	}
	global := append(podman.args(env, t.home), v.global...)
	names := containerNames("bench-mon", n)
	defer func() {
		runCmd(context.Background(), "podman", append(append(append([]string{}, global...), "rm", "-f", "-t", "0"), names...)...)
		// conmon runs podman's cleanup command after rm returns: let it
		// finish before the store is removed.
		waitNoProcessMentions(t.home, 20*time.Second)
	}()
	for _, name := range names {
		args := append(append([]string{}, v.global...), "run", "-d", "--name", name, "--network", "none")
		args = append(append(args, v.run...), img.ref, "sh", "-c", execSleeper)
		if row.err = podman.cmd(env, t.home, args...); row.err != nil {
			return row
		}
	}
	if row.err = idle(env); row.err != nil {
		return row
	}
	pids, err := cmdPids(env.ctx, "podman", append(append(append([]string{}, global...), "inspect", "--format", "{{.State.ConmonPid}}"), names...)...)
	if err != nil {
		row.err = err
		return row
	}
	row.measure(pids)
	row.note = fmt.Sprintf("conmon: %s; podman %s", firstLine(cmdOutput("conmon", "--version")), podman.describe())
	return row
}

// waitNoProcessMentions waits until no process has s in its command line,
// at most d.
func waitNoProcessMentions(s string, d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		found := false
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			if cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); bytes.Contains(cmdline, []byte(s)) {
				found = true
				break
			}
		}
		if !found {
			return
		}
	}
}

// idle waits -monitor-idle, or until Ctrl-C.
func idle(env *benchEnv) error {
	select {
	case <-time.After(env.opts.monitorIdle):
		return nil
	case <-env.ctx.Done():
		return env.ctx.Err()
	}
}

func containerNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return names
}

// cmdPids runs a command that prints one pid a line.
func cmdPids(ctx context.Context, name string, args ...string) ([]int, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", filepath.Base(name), shortArgs(args), err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("%s %s printed %q, not a pid", filepath.Base(name), shortArgs(args), f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// measure reads every process's figures while all of them run.
func (r *memRow) measure(pids []int) {
	for _, pid := range pids {
		roll := fieldsKiB(readFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)))
		status := fieldsKiB(readFile(fmt.Sprintf("/proc/%d/status", pid)))
		if roll["Rss:"] == 0 {
			r.err = fmt.Errorf("process %d is gone", pid)
			return
		}
		r.rss = append(r.rss, roll["Rss:"])
		r.pss = append(r.pss, roll["Pss:"])
		r.priv = append(r.priv, roll["Private_Clean:"]+roll["Private_Dirty:"])
		r.threads = append(r.threads, status["Threads:"])
	}
}

// fieldsKiB maps "Name:" to its number in a /proc file of "Name: N kB" lines.
func fieldsKiB(s string) map[string]int {
	m := map[string]int{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			if n, err := strconv.Atoi(f[1]); err == nil {
				m[f[0]] = n
			}
		}
	}
	return m
}

func spreadKiB(v []int) string {
	if len(v) == 0 {
		return "–"
	}
	s := append([]int(nil), v...)
	sort.Ints(s)
	med := s[len(s)/2]
	if s[0] == s[len(s)-1] {
		return strconv.Itoa(med)
	}
	return fmt.Sprintf("%d (%d–%d)", med, s[0], s[len(s)-1])
}
