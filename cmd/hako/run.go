package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako"
	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/monitor"
	"github.com/hako-run/hako/network"
	"github.com/hako-run/hako/runtime"
)

type runOptions struct {
	interactive, tty, rm, privileged, readOnly bool
	name, workdir, user, hostname, entrypoint  string
	env, envFiles, volumes, devices, tmpfs     []string
	mounts                                     []string // --mount
	ulimits, capAdd, capDrop, securityOpts     []string
	groupAdd, deviceCgroupRules                []string
	network                                    string
	memory, memorySwap                         *bytesValue
	cpus                                       cpusValue
	pull                                       pullValue
	platform                                   platformValue
	cpuShares                                  uint64
	pidsLimit                                  int64
	entrypointSet                              bool // --entrypoint "" clears it
	publish                                    []string
	publishAll                                 bool
	dns, dnsSearch, dnsOptions, addHosts       []string
	detach                                     bool
	logOpts, labels                            []string
	restart                                    string
	networkAliases                             []string // --network-alias
}

func newRunCommand(g *globalOptions) *cobra.Command {
	cmd := newRunLikeCommand(g, func(cmd *cobra.Command, o runOptions, args []string) error {
		return runRun(cmd, g, o, args[0], args[1:])
	})
	cmd.Flags().Bool("sig-proxy", true, "proxy received signals to the process (without -t; runtime/sigproxy.go)")
	return cmd
}

// newRunLikeCommand is run's usage, flags and argument rules around another
// action (run itself, bundle).
func newRunLikeCommand(g *globalOptions, action func(*cobra.Command, runOptions, []string) error) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  minArgs(1),
		// The usage line already says [OPTIONS].
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			// This process allocates a few MB and never collects: let
			// its heap grow into huge pages (runtime/hugeheap.go).
			runtime.HugeHeap()
			o.entrypointSet = cmd.Flags().Changed("entrypoint")
			if err := defaultNetwork(cmd, &o); err != nil {
				return err
			}
			return action(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after IMAGE belong to the command
	f.BoolVarP(&o.interactive, "interactive", "i", false, "keep STDIN open")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVar(&o.rm, "rm", false, "remove the container when it exits")
	f.StringVar(&o.name, "name", "", "assign a name to the container")
	stringArrayVarP(f, &o.env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY to copy it from hako's environment)")
	stringArrayVar(f, &o.envFiles, "env-file", nil, "read environment variables from a file")
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "user name or UID, optionally with group (name|uid[:group|gid])")
	// -h is --hostname here, as in Docker; help is only --help.
	f.Bool("help", false, "print usage")
	f.StringVarP(&o.hostname, "hostname", "h", "", "container host name")
	f.StringVar(&o.entrypoint, "entrypoint", "", "override the image's entrypoint")
	stringArrayVarP(f, &o.volumes, "volume", "v", nil, "bind mount a host directory or a named volume ([HOST-DIR|NAME:]CONTAINER-DIR[:ro|rw])")
	stringArrayVar(f, &o.mounts, "mount", nil, "attach a filesystem mount (type=bind|volume|tmpfs,source=…,target=…[,readonly])")
	stringArrayVar(f, &o.devices, "device", nil, "add a host device (HOST[:CONTAINER][:rwm])")
	stringArrayVar(f, &o.deviceCgroupRules, "device-cgroup-rule", nil, "allow devices in the device cgroup ('c 13:* rwm')")
	stringArrayVar(f, &o.groupAdd, "group-add", nil, "add a group (name in the image's /etc/group, or GID) to the process")
	o.memory, o.memorySwap = memoryValue(), memorySwapValue()
	f.VarP(o.memory, "memory", "m", "memory limit (e.g. 64m)")
	f.Var(o.memorySwap, "memory-swap", "memory plus swap limit; -1 for unlimited swap")
	f.Var(&o.cpus, "cpus", "number of CPUs (e.g. 1.5)")
	f.Uint64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "maximum number of processes (-1 for unlimited)")
	stringArrayVar(f, &o.ulimits, "ulimit", nil, "set a ulimit (NAME=SOFT[:HARD])")
	f.StringVar(&o.network, "network", "bridge", "network mode: bridge (hako0), none, host, container:NAME or a network's name")
	stringArrayVar(f, &o.networkAliases, "network-alias", nil, "add a network-scoped alias for the container (user networks)")
	stringArrayVar(f, &o.dns, "dns", nil, "set a DNS server")
	stringArrayVar(f, &o.dnsSearch, "dns-search", nil, "set a DNS search domain ('.' for none)")
	stringArrayVar(f, &o.dnsOptions, "dns-option", nil, "set a DNS option (ndots:2)")
	stringArrayVar(f, &o.addHosts, "add-host", nil, "add a line to /etc/hosts (NAME:IP, IP may be host-gateway)")
	stringArrayVarP(f, &o.publish, "publish", "p", nil, "publish a container's port to the host ([HOSTIP:][HOSTPORT:]CTRPORT[/tcp|/udp]); implies --network bridge")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "publish all exposed ports to random host ports; implies --network bridge")
	f.BoolVar(&o.privileged, "privileged", false, "give the container all capabilities and devices")
	stringArrayVar(f, &o.capAdd, "cap-add", nil, "add a Linux capability")
	stringArrayVar(f, &o.capDrop, "cap-drop", nil, "drop a Linux capability")
	stringArrayVar(f, &o.securityOpts, "security-opt", nil, "seccomp=unconfined|PROFILE.json, apparmor=PROFILE|unconfined, no-new-privileges")
	f.BoolVar(&o.readOnly, "read-only", false, "mount the container's root filesystem read-only")
	stringArrayVar(f, &o.tmpfs, "tmpfs", nil, "mount a tmpfs (PATH[:OPTIONS])")
	f.Var(&o.platform, "platform", "pull this os/arch[/variant] if the image is missing")
	o.pull.p = image.PullMissing
	f.Var(&o.pull, "pull", "pull the image: missing, always or never")
	f.BoolVarP(&o.detach, "detach", "d", false, "run the container in the background and print its ID")
	stringArrayVarP(f, &o.labels, "label", "l", nil, "set metadata on the container (KEY=VALUE)")
	stringArrayVar(f, &o.logOpts, "log-opt", nil, "log driver option (json-file: max-size=10m, max-file=3)")
	f.StringVar(&o.restart, "restart", "no", "restart policy (no, on-failure[:max-retries], always, unless-stopped); needs -d")
	return cmd
}

// runRun creates and runs the container and returns its exit code as an
// exitError with no message (hako's own failures exit 125).
func runRun(cmd *cobra.Command, g *globalOptions, o runOptions, ref string, args []string) error {
	hako.Warm() // as early as can be
	opts, err := runConfig(cmd, g, o, ref, args)
	if err != nil {
		return &exitError{code: 125, err: err}
	}
	c, err := hako.Create(cmd.Context(), opts)
	if err != nil {
		return &exitError{code: 125, err: err}
	}
	if o.detach {
		return runDetached(cmd, g, c)
	}
	if proxy, _ := cmd.Flags().GetBool("sig-proxy"); !proxy {
		c.SetSigProxy(false)
	}
	// This process lives as long as its container: once it has run for a
	// second, it hands its wait to a fresh re-exec of hako, which holds
	// none of what starting it left (monitor/foreground.go); where it
	// cannot (--debug, stdio that are not hako's own), it drops what it can
	// (a quick one never pays for either).
	proxy, _ := cmd.Flags().GetBool("sig-proxy")
	monitor.HandOffForeground(c, proxy)
	var trim *time.Timer
	if !c.HandsOff() {
		c.OnStart(func() { trim = time.AfterFunc(time.Second, monitor.Trim) })
	}
	code, err := c.Run()
	if trim != nil {
		trim.Stop()
	}
	if err != nil {
		return &exitError{code: code, err: err}
	}
	if code == 0 {
		return nil
	}
	return &exitError{code: code}
}

// runConfig turns the flags into hako.Options: the container and how to
// find its image.
func runConfig(cmd *cobra.Command, g *globalOptions, o runOptions, ref string, args []string) (hako.Options, error) {
	so, err := specOptions(o, args)
	if err != nil {
		return hako.Options{}, err
	}
	mounts, err := mountRequests(o)
	if err != nil {
		return hako.Options{}, err
	}
	cg, err := cgroups.Detect()
	if err != nil {
		return hako.Options{}, fmt.Errorf("detecting cgroups: %w", err)
	}
	limits := cgroups.Limits{
		Memory: o.memory.n, MemorySwap: o.memorySwap.n, NanoCPUs: o.cpus.nano,
		CPUShares: o.cpuShares, PidsLimit: o.pidsLimit,
	}
	ports, err := network.ParsePublish(o.publish)
	if err != nil {
		return hako.Options{}, err
	}
	res, warnings, err := cg.Resources(limits)
	if err != nil {
		return hako.Options{}, err
	}
	stderr := cmd.ErrOrStderr()
	for _, w := range warnings {
		fmt.Fprintf(stderr, "WARNING: %s\n", w)
	}
	so.Resources = res

	resolve := resolveOptions(cmd, o)
	store, err := openStore(g)
	if err != nil {
		return hako.Options{}, err
	}
	cfg := runtime.Config{
		Root: g.root, RunRoot: g.runroot, Name: o.name,
		Options: so, Mounts: mounts, Cgroups: cg, Remove: o.rm,
		Stdio: runtime.Stdio{Stdout: cmd.OutOrStdout(), Stderr: stderr},
	}
	if g.debug {
		cfg.Debugf = debugf
	}
	if err := networkAliases(o); err != nil { // network_connect.go
		return hako.Options{}, err
	}
	cfg.Bridge = bridgeOptions(o, ports, stderr)
	if ref, ok := strings.CutPrefix(o.network, runtime.ContainerNetworkPrefix); ok {
		if cfg.JoinNetwork, err = runtime.NetworkOf(g.root, ref); err != nil {
			return hako.Options{}, err
		}
	}
	if err := lifecycleConfig(&cfg, o); err != nil { // detach.go: -d, --log-opt, --label
		return hako.Options{}, err
	}
	if o.interactive {
		cfg.Stdio.Stdin = cmd.InOrStdin()
	}
	return hako.Options{
		Store: store, Image: ref, Resolve: resolve, Container: cfg,
		Warn: func(msg string) { fmt.Fprintf(stderr, "WARNING: %s\n", msg) },
	}, nil
}

// resolveOptions maps --pull and --platform; Docker's notice and warning
// go to stderr.
func resolveOptions(cmd *cobra.Command, o runOptions) image.ResolveOptions {
	stderr := cmd.ErrOrStderr()
	return image.ResolveOptions{
		Pull: o.pull.p, Platform: o.platform.p,
		Notice: func(msg string) { fmt.Fprintln(stderr, msg) },
		Warn:   func(msg string) { fmt.Fprintf(stderr, "WARNING: %s\n", msg) },
	}
}

// specOptions maps the flags that shape the OCI spec.
func specOptions(o runOptions, args []string) (runtime.SpecOptions, error) {
	so := runtime.SpecOptions{
		Hostname: o.hostname, Cmd: args, WorkingDir: o.workdir, User: o.user,
		Tty: o.tty, OpenStdin: o.interactive, Privileged: o.privileged,
		CapAdd: o.capAdd, CapDrop: o.capDrop, ReadOnly: o.readOnly,
		GroupAdd: o.groupAdd,
	}
	if o.hostname != "" && !validHostname(o.hostname) {
		return so, fmt.Errorf("invalid hostname %q", o.hostname)
	}
	if o.name != "" && !runtime.ValidName(o.name) {
		return so, fmt.Errorf("invalid container name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.name)
	}
	if o.entrypointSet {
		ep := []string{o.entrypoint}
		so.Entrypoint = &ep
	}
	var err error
	switch {
	case o.network == "none":
	case o.network == "host":
		so.HostNetwork = true
	case o.network == "bridge": // Create joins the namespace it makes on hako0
	case strings.HasPrefix(o.network, runtime.ContainerNetworkPrefix):
		// runConfig finds the container; Docker's conflicts first.
		switch {
		case o.hostname != "":
			return so, errors.New("conflicting options: hostname and the network mode")
		case len(o.dns)+len(o.dnsSearch)+len(o.dnsOptions) > 0:
			return so, errors.New("conflicting options: dns and the network mode")
		case len(o.addHosts) > 0:
			return so, errors.New("conflicting options: custom host-to-IP mapping and the network mode")
		case len(o.publish) > 0 || o.publishAll:
			return so, errors.New("conflicting options: port publishing and the container type network mode")
		}
	default: // a user network (hako network create): bridgeOptions
		if _, err := network.Lookup(o.network); err != nil {
			return so, err
		}
	}
	if so.HostNetwork && len(o.dns)+len(o.dnsSearch)+len(o.dnsOptions) > 0 {
		return so, errors.New("conflicting options: dns and the network mode")
	}
	if err := runtime.ParseDNS(o.dns); err != nil {
		return so, err
	}
	so.DNS, so.DNSSearch, so.DNSOptions = o.dns, o.dnsSearch, o.dnsOptions
	for _, h := range o.addHosts {
		eh, err := runtime.ParseAddHost(h)
		if err != nil {
			return so, err
		}
		so.ExtraHosts = append(so.ExtraHosts, eh)
	}
	if so.Env, err = runtime.ParseEnv(o.envFiles, o.env); err != nil {
		return so, err
	}
	for _, d := range o.devices {
		dev, err := runtime.ParseDevice(d)
		if err != nil {
			return so, err
		}
		so.Devices = append(so.Devices, dev)
	}
	for _, r := range o.deviceCgroupRules {
		rule, err := runtime.ParseDeviceCgroupRule(r)
		if err != nil {
			return so, err
		}
		so.DeviceCgroupRules = append(so.DeviceCgroupRules, rule)
	}
	if so.Tmpfs, err = runtime.ParseTmpfs(o.tmpfs); err != nil {
		return so, err
	}
	if so.Ulimits, err = runtime.ParseUlimits(o.ulimits); err != nil {
		return so, err
	}
	for _, s := range o.securityOpts {
		if err := runtime.ApplySecurityOpt(&so, s); err != nil {
			return so, err
		}
	}
	return so, nil
}

func validHostname(h string) bool {
	return len(h) <= 253 && !strings.ContainsAny(h, "/ \t\n\x00")
}

// mountRequests parses -v and --mount; the runtime acts on them once the
// container's rootfs is mounted (volumes are filled from the image).
func mountRequests(o runOptions) ([]runtime.MountRequest, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("reading the current directory: %w", err)
	}
	var reqs []runtime.MountRequest
	for _, v := range o.volumes {
		r, err := runtime.ParseVolumeFlag(v, cwd)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	for _, m := range o.mounts {
		r, err := runtime.ParseMountFlag(m)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--mount\" flag: %w", m, err)
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}
