// Command bench compares hako with podman, skopeo+umoci and runc on this
// machine and prints the results as markdown. It is not a Go benchmark: it
// generates its own images, serves them from a local registry and times the
// real command-line tools, each into an empty store.
//
//	go run -tags "seccomp netgo osusergo nethttpomithttp2" ./bench -hako bin/hako
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	hako           string
	rounds         int
	only           map[string]bool
	cacheDir       string
	keepCache      bool
	runMode        bool
	containerdMode bool
	serveMode      bool
	execMode       bool
	buildMode      bool // -build: hako build vs podman build (buildbench.go)
	runRounds      int
	monitorMode    bool
	monitors       int
	monitorIdle    time.Duration
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == hybridHelperArg {
		os.Exit(runHybridHelper())
	}
	opts, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, opts)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags() (*options, error) {
	o := &options{}
	var only string
	flag.StringVar(&o.hako, "hako", "bin/hako", "path of the hako binary to measure")
	flag.IntVar(&o.rounds, "rounds", 3, "pull rounds per image and tool (the median is reported)")
	flag.StringVar(&only, "only", "", "comma-separated images to pull (mixed,smallfiles,large); default all")
	flag.StringVar(&o.cacheDir, "cache", "/var/tmp/hako-bench-cache", "where generated layer tarballs are kept between runs")
	flag.BoolVar(&o.keepCache, "keep-cache", true, "keep generated layers for the next run (false removes them at exit)")
	flag.BoolVar(&o.runMode, "run", false, "measure container start latency instead of pulls")
	flag.IntVar(&o.runRounds, "run-rounds", 30, "start-latency rounds per tool with -run")
	flag.BoolVar(&o.execMode, "exec", false, "measure exec latency in a running container (hako exec, runc exec, podman exec)")
	flag.BoolVar(&o.buildMode, "build", false, "measure hako build against podman build, cold and cached")
	flag.BoolVar(&o.serveMode, "serve", false, "push the images (see -only), print their references and serve them until interrupted")
	flag.BoolVar(&o.containerdMode, "containerd", false, "measure ctr run through containerd's runc shim with hako-runc, runc and crun")
	flag.BoolVar(&o.monitorMode, "monitor", false, "measure the memory of idle detached containers' monitors (hako monitor, podman's conmon)")
	flag.IntVar(&o.monitors, "monitors", 10, "detached containers per tool with -monitor")
	flag.DurationVar(&o.monitorIdle, "monitor-idle", 5*time.Second, "how long the containers idle before -monitor measures (over 2m includes the Go runtime's periodic collection)")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", flag.Args())
	}
	if o.rounds < 1 || o.runRounds < 1 {
		return nil, fmt.Errorf("rounds must be at least 1")
	}
	if only != "" {
		o.only = map[string]bool{}
		for _, name := range strings.Split(only, ",") {
			if _, ok := imageSpecs[name]; !ok {
				return nil, fmt.Errorf("unknown image %q (want mixed, smallfiles or large)", name)
			}
			o.only[name] = true
		}
	}
	abs, err := filepath.Abs(o.hako)
	if err != nil {
		return nil, fmt.Errorf("resolving -hako: %w", err)
	}
	o.hako = abs
	return o, nil
}

// run sets up the shared temp dir and registry, then runs the chosen mode.
// Everything it creates is removed before it returns, also on Ctrl-C.
func run(ctx context.Context, o *options) (err error) {
	if os.Geteuid() != 0 {
		return fmt.Errorf("must run as root (podman, umoci and hako write root-owned stores)")
	}
	tmp, err := os.MkdirTemp("", "hako-bench-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	guard := newHostGuard()
	defer func() {
		if rerr := removeTree(tmp); rerr != nil && err == nil {
			err = rerr
		}
		guard.restore()
		if !o.keepCache {
			os.RemoveAll(o.cacheDir)
		}
	}()

	reg, err := startRegistry(ctx, filepath.Join(tmp, "registry"))
	if err != nil {
		return err
	}
	defer reg.stop()

	env := &benchEnv{ctx: ctx, opts: o, tmp: tmp, reg: reg, loadAtStart: loadAvg()}
	if *netMode {
		return runNetBench(env)
	}
	if o.containerdMode {
		return runContainerdBench(env)
	}
	if o.serveMode {
		return runServe(env)
	}
	if o.runMode {
		return runStartBench(env)
	}
	if o.execMode {
		return runExecBench(env)
	}
	if o.buildMode {
		return runBuildBench(env)
	}
	if o.monitorMode {
		return runMonitorBench(env)
	}
	return runPullBench(env)
}

// benchEnv is what every mode and contender shares.
type benchEnv struct {
	ctx  context.Context
	opts *options
	tmp  string
	reg  *registry
	// loadAtStart is /proc/loadavg before any work, for the report.
	loadAtStart string
	// memNotes are the containerd mode's idle memory figures.
	memNotes []string
}

// hostGuard remembers which of the peers' well-known host paths did not exist
// before the run, so that whatever the peers create there is removed again:
// even with --root elsewhere, skopeo and podman write a blob-info cache under
// /var/lib/containers and network state under /run/containers, and podman's
// cgroupfs manager leaves empty libpod_parent cgroups.
type hostGuard struct {
	absent  []string
	cgroups []string
}

var peerHostPaths = []string{"/var/lib/containers", "/run/containers", "/run/libpod", "/var/tmp/containers", "/run/containerd"}

func newHostGuard() *hostGuard {
	g := &hostGuard{}
	for _, p := range peerHostPaths {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			g.absent = append(g.absent, p)
		}
	}
	for _, p := range podmanCgroups() {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			g.cgroups = append(g.cgroups, p)
		}
	}
	return g
}

// podmanCgroups are where podman's cgroupfs manager puts its cgroups, on
// cgroup v1 (one per hierarchy) and v2.
func podmanCgroups() []string {
	paths := []string{"/sys/fs/cgroup/libpod_parent"}
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hier {
		paths = append(paths, filepath.Join(h, "libpod_parent"))
	}
	return paths
}

func (g *hostGuard) restore() {
	for _, p := range g.absent {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: removing %s (a peer tool created it)\n", p)
		if err := removeTree(p); err != nil {
			fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
		}
	}
	for _, p := range g.cgroups {
		removeCgroup(p)
	}
}

// removeCgroup removes an empty cgroup and its empty children; a cgroup
// that still has processes stays (rmdir fails with EBUSY).
func removeCgroup(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeCgroup(filepath.Join(dir, e.Name()))
		}
	}
	if err := syscall.Rmdir(dir); err != nil {
		fmt.Fprintf(os.Stderr, "bench: cleanup: removing cgroup %s: %v\n", dir, err)
	}
}
