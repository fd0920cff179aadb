package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hako-run/hako/internal/testimage"
)

// The network rows (-net): TCP throughput (iperf3) and connections per
// second into a container, from "another host" (a namespace on a veth) and
// from the host's own 127.0.0.1, through hako's -p, straight to the
// container's address (the limit), through kernel DNAT written by hand
// with nft, and through podman's -p; then `hako run --rm true` on the
// default bridge against --network none. Everything runs in two network
// namespaces the bench makes, with hako's network state in its temp dir:
// the host's own links, tables and sysctls are never touched.

var netMode = flag.Bool("net", false, "measure networking: iperf3 throughput and connections/s through -p, direct, hand-made nft DNAT and podman's -p; run --rm on the bridge vs none")

const (
	benchHostAddr = "192.168.78.1" // the "host" namespace's end of the veth
	benchPeerAddr = "192.168.78.2" // "another host"
	httpPort      = 8000           // the container's small HTTP server
	iperfPort     = 5201           // the container's iperf3 server
	iperfSeconds  = 3
	connsPerRound = 3000
	connWorkers   = 4
)

// connServer answers every HTTP/1.0 request with a 3-byte body and closes
// (so the server, not the client, holds TIME_WAIT).
const connServer = `package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
)

func main() {
	l, err := net.Listen("tcp", ":"+os.Args[1])
	if err != nil {
		panic(err)
	}
	fmt.Println("ready")
	resp := []byte("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
	for {
		c, err := l.Accept()
		if err != nil {
			panic(err)
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" || line == "\n" {
					break
				}
			}
			c.Write(resp)
		}()
	}
}
`

// netPath is one way into a container's two servers.
type netPath struct {
	name   string
	ns     string // network namespace the client runs in
	host   string // address the client connects to
	http   int    // port for the HTTP server
	iperf  int    // port for iperf3
	remote bool   // from the peer namespace
	kind   string // direct, hako, nft, podman-direct, podman
	err    error  // set when the path could not be set up
	bps    []float64
	cps    []float64
}

// netBench is the namespaces and tools of one -net run.
type netBench struct {
	env       *benchEnv
	ns, peer  string // /run/netns paths
	hakoRoot  []string
	podGlobal []string
	cleanups  []func()
}

func (b *netBench) defer_(f func()) { b.cleanups = append(b.cleanups, f) }

func runNetBench(env *benchEnv) error {
	for _, tool := range []string{"iperf3", "nft", "ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (make bench installs it): %w", tool, err)
		}
	}
	b := &netBench{env: env}
	defer func() {
		for i := len(b.cleanups) - 1; i >= 0; i-- {
			b.cleanups[i]()
		}
	}()
	// Every hako (and so its monitors) keeps its network state and reads
	// its config in the temp dir; no config file means the defaults.
	state := filepath.Join(env.tmp, "hakonet")
	os.Setenv("HAKO_NETWORK_DIR", filepath.Join(state, "state"))
	os.Setenv("HAKO_NETWORK_DEFS", filepath.Join(state, "networks"))
	os.Setenv("HAKO_CONFIG", filepath.Join(state, "no-config.json"))
	b.hakoRoot = []string{"--root", filepath.Join(env.tmp, "hako", "root"), "--runroot", filepath.Join(env.tmp, "hako", "run")}

	ref, err := b.image()
	if err != nil {
		return err
	}
	if err := b.namespaces(); err != nil {
		return err
	}
	if err := runCmd(env.ctx, env.opts.hako, append(b.hakoRoot, "pull", "-q", ref)...); err != nil {
		return err
	}
	ctrIP, err := b.startHako(ref)
	if err != nil {
		return err
	}
	nftErr := b.handDNAT(ctrIP)
	podIP, podErr := b.startPodman(ref)

	var paths []*netPath
	for _, remote := range []bool{true, false} {
		ns, from, host := b.peer, "another host", benchHostAddr
		if !remote {
			ns, from, host = b.ns, "localhost", "127.0.0.1"
		}
		direct := &netPath{name: from + " → container address (the limit)", ns: ns, host: ctrIP, http: httpPort, iperf: iperfPort, remote: remote, kind: "direct"}
		if !remote {
			direct.name = "host → container address (the limit)"
		}
		paths = append(paths, direct,
			&netPath{name: from + " → hako -p", ns: ns, host: host, http: 18000, iperf: 15201, remote: remote, kind: "hako"},
			&netPath{name: from + " → nft DNAT by hand", ns: ns, host: host, http: 28000, iperf: 25201, remote: remote, kind: "nft", err: nftErr},
			&netPath{name: from + " → podman's container address", ns: ns, host: podIP, http: httpPort, iperf: iperfPort, remote: remote, kind: "podman-direct", err: podErr},
			&netPath{name: from + " → podman -p", ns: ns, host: host, http: 38000, iperf: 35201, remote: remote, kind: "podman", err: podErr})
	}
	for _, p := range paths {
		if p.err == nil {
			p.err = waitHTTP(p.ns, net.JoinHostPort(p.host, fmt.Sprint(p.http)))
		}
	}
	// An untimed warm-up of each path, then rounds that interleave the
	// paths, each round starting at another one, so that load from other
	// work on the machine falls on all of them alike.
	for _, p := range paths {
		if p.err == nil {
			_, p.err = connsPerSecond(p.ns, net.JoinHostPort(p.host, fmt.Sprint(p.http)), 200, connWorkers)
		}
	}
	for r := 0; r < env.opts.rounds; r++ {
		order := append(slices.Clone(paths[r%len(paths):]), paths[:r%len(paths)]...)
		for _, p := range order {
			if p.err != nil {
				continue
			}
			bps, err := iperf(b, p)
			if err != nil {
				p.err = err
				continue
			}
			p.bps = append(p.bps, bps)
		}
		for _, p := range order {
			if p.err != nil {
				continue
			}
			cps, err := connsPerSecond(p.ns, net.JoinHostPort(p.host, fmt.Sprint(p.http)), connsPerRound, connWorkers)
			if err != nil {
				p.err = err
				continue
			}
			p.cps = append(p.cps, cps)
		}
	}
	none, bridge, err := b.startLatency(ref)
	loadEnd := loadAvg()

	printHeader(env, "Network")
	fmt.Printf("- load average at the end: %s\n", loadEnd)
	fmt.Printf("- two network namespaces made by the bench: \"host\" (%s, where hako, podman and the containers run) and \"another host\" (%s) on a veth; hako's state in the temp dir (HAKO_NETWORK_DIR, HAKO_NETWORK_DEFS, HAKO_CONFIG)\n", benchHostAddr, benchPeerAddr)
	fmt.Printf("- one container per tool runs the image's static Go HTTP/1.0 server (3-byte body, server closes) and Debian's iperf3 -s; hako's at %s, podman's at %s\n", ctrIP, podIP)
	fmt.Printf("- throughput: `iperf3 -c ADDR -t %d -O 1`, one stream, receiver's rate; connections: %d per round, %d clients in parallel, each a new TCP connection with one request, ended by the client with a reset (no TIME_WAIT); medians of %d interleaved rounds\n", iperfSeconds, connsPerRound, connWorkers, env.opts.rounds)
	fmt.Printf("- nft DNAT by hand: `table ip benchdnat` with prerouting and output `dnat to %s` and a postrouting masquerade for 127.0.0.0/8, route_localnet on hako0 (what the kernel alone does)\n", ctrIP)
	fmt.Printf("- podman: %s, CNI bridge 10.88.0.0/16 with portmap (podman's default network)\n\n", strings.Join(b.podGlobal, " "))
	printNetTable(paths)
	printLatency(none, bridge, err, env.opts.runRounds)
	return nil
}

// image is busybox with the HTTP server at /srv and Debian's iperf3 with
// the libraries it loads, pushed to the bench's registry.
func (b *netBench) image() (string, error) {
	bb, err := testimage.Busybox()
	if err != nil {
		return "", err
	}
	img, err := testimage.GoProgram(bb, "/srv", connServer)
	if err != nil {
		return "", err
	}
	files, err := binaryFiles("/usr/bin/iperf3")
	if err != nil {
		return "", err
	}
	if img, err = testimage.WithLayer(img, files); err != nil {
		return "", err
	}
	return b.env.reg.push(b.env.ctx, "netbench", img)
}

// binaryFiles is a dynamically linked binary and every library ldd names,
// at the paths the loader looks for them, as regular files.
func binaryFiles(bin string) (map[string]testimage.File, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	paths := []string{bin}
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				paths = append(paths, f)
			}
		}
	}
	files := map[string]testimage.File{}
	for _, p := range paths {
		data, err := os.ReadFile(p) // through symlinks
		if err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(p, "/")
		files[rel] = testimage.File{Mode: 0o755, Content: data}
		for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
			files[dir] = testimage.File{Mode: os.ModeDir | 0o755}
		}
	}
	return files, nil
}

// namespaces makes the "host" and "another host" namespaces on a veth,
// with a route on the peer to the container subnets through the host (so
// that the container's own address is reachable from there too).
func (b *netBench) namespaces() error {
	name := fmt.Sprintf("hakobench-%d", os.Getpid())
	b.ns, b.peer = "/run/netns/"+name, "/run/netns/"+name+"-peer"
	for _, n := range []string{name, name + "-peer"} {
		if err := runCmd(b.env.ctx, "ip", "netns", "add", n); err != nil {
			return err
		}
		b.defer_(func() { exec.Command("ip", "netns", "del", n).Run() })
	}
	for _, args := range [][]string{
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name + "-peer", "link", "set", "lo", "up"},
		{"-n", name, "link", "add", "uplink", "type", "veth", "peer", "name", "uplink", "netns", name + "-peer"},
		{"-n", name, "addr", "add", benchHostAddr + "/24", "dev", "uplink"},
		{"-n", name + "-peer", "addr", "add", benchPeerAddr + "/24", "dev", "uplink"},
		{"-n", name, "link", "set", "uplink", "up"},
		{"-n", name + "-peer", "link", "set", "uplink", "up"},
		{"-n", name + "-peer", "route", "add", "10.89.0.0/16", "via", benchHostAddr},
		{"-n", name + "-peer", "route", "add", "10.88.0.0/16", "via", benchHostAddr},
	} {
		if err := runCmd(b.env.ctx, "ip", args...); err != nil {
			return err
		}
	}
	return nil
}

// serverCmd starts both servers; iperf3 stays a child of the HTTP server.
var serverCmd = []string{"sh", "-c", fmt.Sprintf("iperf3 -s -p %d >/dev/null 2>&1 & exec /srv %d", iperfPort, httpPort)}

// startHako runs the servers with hako -d on the default bridge and
// returns the container's address.
func (b *netBench) startHako(ref string) (string, error) {
	hako := func(args ...string) *exec.Cmd {
		return exec.CommandContext(b.env.ctx, "nsenter", append([]string{"--net=" + b.ns, b.env.opts.hako}, append(b.hakoRoot, args...)...)...)
	}
	args := append([]string{"run", "-d", "--name", "netbench", "-p", fmt.Sprintf("18000:%d", httpPort), "-p", fmt.Sprintf("15201:%d", iperfPort), ref}, serverCmd...)
	if out, err := hako(args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("hako run -d: %v: %s", err, out)
	}
	b.defer_(func() { hako("rm", "-f", "netbench").Run() })
	out, err := hako("inspect", "--format", "{{.NetworkSettings.IPAddress}}", "netbench").CombinedOutput()
	ip := strings.TrimSpace(string(out))
	if err != nil || net.ParseIP(ip) == nil {
		return "", fmt.Errorf("hako inspect netbench: %v: %s", err, out)
	}
	return ip, nil
}

// handDNAT writes, in the bench's namespace, the least the kernel needs to
// forward the two ports to the container: DNAT before routing (from the
// peer) and on output (from the host itself), and a masquerade for
// 127.0.0.1 sources, which cannot leave the host.
func (b *netBench) handDNAT(ip string) error {
	rules := fmt.Sprintf(`table ip benchdnat {
	chain pre { type nat hook prerouting priority -110; ip daddr %[1]s tcp dport 28000 dnat to %[2]s:%[3]d; ip daddr %[1]s tcp dport 25201 dnat to %[2]s:%[4]d; }
	chain out { type nat hook output priority -110; ip daddr 127.0.0.1 tcp dport 28000 dnat to %[2]s:%[3]d; ip daddr 127.0.0.1 tcp dport 25201 dnat to %[2]s:%[4]d; }
	chain post { type nat hook postrouting priority 90; ip saddr 127.0.0.0/8 ip daddr %[2]s masquerade; }
}
`, benchHostAddr, ip, httpPort, iperfPort)
	cmd := exec.CommandContext(b.env.ctx, "nsenter", "--net="+b.ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft -f: %v: %s", err, out)
	}
	// hako sets it already; set it anyway so the row does not depend on it.
	return runCmd(b.env.ctx, "nsenter", "--net="+b.ns, "sysctl", "-q", "-w", "net.ipv4.conf.hako0.route_localnet=1")
}

// podmanConflist is Debian podman's default CNI network with the address
// allocations in the bench's temp dir.
const podmanConflist = `{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni-podman0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": %q,
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "10.88.0.0/16", "gateway": "10.88.0.1" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" },
    { "type": "tuning" }
  ]
}`

// startPodman runs the same servers with podman -p in the bench's
// namespace and returns the container's address.
func (b *netBench) startPodman(ref string) (string, error) {
	if _, err := exec.LookPath("podman"); err != nil {
		return "", fmt.Errorf("podman not installed: %w", err)
	}
	dir := filepath.Join(b.env.tmp, "podman")
	netDir := filepath.Join(dir, "net.d")
	if err := os.MkdirAll(netDir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(netDir, "podman.conflist"), fmt.Appendf(nil, podmanConflist, filepath.Join(dir, "ipam")), 0o644); err != nil {
		return "", err
	}
	// CNI keeps a results cache in /var/lib/cni whatever podman's flags say.
	if _, err := os.Stat("/var/lib/cni"); os.IsNotExist(err) {
		b.defer_(func() { os.RemoveAll("/var/lib/cni") })
	}
	b.podGlobal = []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "none", "--network-config-dir", netDir,
		"--runtime", "runc"} // crun refuses this host's hybrid cgroups
	podman := func(inNS bool, args ...string) *exec.Cmd {
		argv := append(append([]string{}, b.podGlobal...), args...)
		if inNS {
			return exec.CommandContext(b.env.ctx, "nsenter", append([]string{"--net=" + b.ns, "podman"}, argv...)...)
		}
		return exec.CommandContext(b.env.ctx, "podman", argv...)
	}
	// Should podman rm leave them (it did in four runs under load), the
	// container's init and its conmon end by PID after the rm.
	var initPid, conmonPid string
	b.defer_(func() {
		killIf(initPid, "/srv")
		killIf(conmonPid, "conmon")
	})
	b.defer_(func() {
		// In the namespace, where CNI removes what it added.
		if out, err := podman(true, "rm", "-f", "-t", "0", "-a").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: cleanup: podman rm: %v: %s\n", err, out)
		}
		if out, err := podman(false, "system", "reset", "-f").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: cleanup: podman system reset: %v: %s\n", err, out)
		}
	})
	if out, err := podman(false, "pull", "-q", "--tls-verify=false", ref).CombinedOutput(); err != nil {
		return "", fmt.Errorf("podman pull: %v: %s", err, lastLines(string(out), 2))
	}
	// podman's default ulimits exceed the hard limits the bench may run under.
	args := append([]string{"run", "-d", "--name", "netbench", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		"-p", fmt.Sprintf("38000:%d", httpPort), "-p", fmt.Sprintf("35201:%d", iperfPort), ref}, serverCmd...)
	if out, err := podman(true, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("podman run -p: %v: %s", err, lastLines(string(out), 2))
	}
	out, err := podman(true, "inspect", "--format", "{{.NetworkSettings.IPAddress}} {{.State.Pid}} {{.State.ConmonPid}}", "netbench").CombinedOutput()
	f := strings.Fields(string(out))
	if err != nil || len(f) != 3 || net.ParseIP(f[0]) == nil {
		return "", fmt.Errorf("podman inspect: %v: %s", err, out)
	}
	initPid, conmonPid = f[1], f[2]
	return f[0], nil
}

// killIf kills process pid if it still runs and its command line contains
// want (so a reused PID is left alone).
func killIf(pid, want string) {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n))
	if err != nil || !strings.Contains(string(cmdline), want) {
		return
	}
	fmt.Fprintf(os.Stderr, "bench: cleanup: podman left %s (pid %d): killing it\n", want, n)
	unix.Kill(n, unix.SIGKILL)
}

// iperf runs one iperf3 test on p and returns the receiver's bits/s. The
// server takes one test at a time and may still be closing the last one.
func iperf(b *netBench, p *netPath) (float64, error) {
	var last error
	for try := 0; try < 5; try++ {
		out, err := exec.CommandContext(b.env.ctx, "nsenter", "--net="+p.ns, "iperf3", "-c", p.host, "-p", fmt.Sprint(p.iperf),
			"-t", fmt.Sprint(iperfSeconds), "-O", "1", "-J").Output()
		var res struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
			Error string `json:"error"`
		}
		if jerr := json.Unmarshal(out, &res); jerr == nil && res.Error == "" && err == nil {
			return res.End.SumReceived.BitsPerSecond, nil
		}
		last = fmt.Errorf("iperf3 -c %s -p %d: %v %s", p.host, p.iperf, err, res.Error)
		time.Sleep(500 * time.Millisecond)
	}
	return 0, last
}

// connsPerSecond makes count connections to addr from namespace ns,
// workers at a time, each sending one request and reading the whole
// answer, and returns connections per second.
func connsPerSecond(ns, addr string, count, workers int) (float64, error) {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = inNetNS(ns, func() error {
				for i := w; i < count; i += workers {
					if err := oneRequest(addr); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(count) / elapsed.Seconds(), nil
}

func oneRequest(addr string) error {
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	// Reset rather than close: no TIME_WAIT on either end, so a later
	// connection from the same client port through another path (they all
	// end at the same server port) is not held up by an old one.
	c.(*net.TCPConn).SetLinger(0)
	if !strings.HasPrefix(string(b), "HTTP/1.0 200 ") {
		return fmt.Errorf("GET http://%s/: %q", addr, b)
	}
	return nil
}

// waitHTTP waits up to 20 seconds for a server to answer at addr.
func waitHTTP(ns, addr string) error {
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = inNetNS(ns, func() error { return oneRequest(addr) }); err == nil {
			return nil
		}
	}
	return fmt.Errorf("no answer at %s from %s: %w", addr, filepath.Base(ns), err)
}

// inNetNS runs f on a new thread in the network namespace at path, so the
// sockets f makes are there; the thread ends afterwards (never unlocked).
func inNetNS(path string, f func() error) error {
	errc := make(chan error, 1)
	var run func()
	run = func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() { // the main thread must not change namespace
			done := make(chan struct{})
			go func() { run(); close(done) }()
			<-done
			runtime.UnlockOSThread()
			return
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			errc <- fmt.Errorf("entering %s: %w", path, err)
			return
		}
		errc <- f()
	}
	go run()
	return <-errc
}

// startLatency times `hako run --rm IMAGE true` in the bench's namespace
// on the default bridge and with --network none, alternating which goes
// first, after one untimed run of each.
func (b *netBench) startLatency(ref string) (none, bridge []time.Duration, err error) {
	one := func(extra ...string) (time.Duration, error) {
		args := append(append([]string{"--net=" + b.ns, b.env.opts.hako}, b.hakoRoot...), "run", "--rm")
		args = append(append(args, extra...), ref, "true")
		start := time.Now()
		err := runCmd(b.env.ctx, "nsenter", args...)
		return time.Since(start), err
	}
	for i := -1; i < b.env.opts.runRounds; i++ {
		order := []bool{i%2 == 0, i%2 != 0} // true: bridge
		for _, br := range order {
			var d time.Duration
			if br {
				d, err = one()
			} else {
				d, err = one("--network", "none")
			}
			if err != nil {
				return nil, nil, err
			}
			if i < 0 {
				continue
			}
			if br {
				bridge = append(bridge, d)
			} else {
				none = append(none, d)
			}
		}
	}
	return none, bridge, nil
}

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func printNetTable(paths []*netPath) {
	find := func(remote bool, kind string) *netPath {
		for _, p := range paths {
			if p.remote == remote && p.kind == kind && p.err == nil && len(p.bps) > 0 && len(p.cps) > 0 {
				return p
			}
		}
		return nil
	}
	// The limit of a path is the same container's own address.
	direct := func(p *netPath) *netPath {
		if strings.HasPrefix(p.kind, "podman") {
			return find(p.remote, "podman-direct")
		}
		return find(p.remote, "direct")
	}
	hand := func(p *netPath) *netPath {
		if strings.HasPrefix(p.kind, "podman") {
			return nil // another container
		}
		return find(p.remote, "nft")
	}
	bps := func(p *netPath) []float64 { return p.bps }
	cps := func(p *netPath) []float64 { return p.cps }
	// pct is the median of the per-round ratios to peer: a round's paths
	// run close together in time, so a ratio within a round is less
	// skewed by the machine's other load than a ratio of medians.
	pct := func(p, peer *netPath, f func(*netPath) []float64) (float64, bool) {
		if peer == nil || len(f(p)) != len(f(peer)) {
			return 0, false
		}
		var rs []float64
		for i, v := range f(p) {
			rs = append(rs, v/f(peer)[i])
		}
		return 100 * medianF(rs), true
	}
	cell := func(p, peer *netPath, f func(*netPath) []float64) string {
		if v, ok := pct(p, peer, f); ok {
			return fmt.Sprintf("%.0f%%", v)
		}
		return "–"
	}
	fmt.Println("Ratios are medians of the per-round ratios (each round measures every path once, in turn).")
	fmt.Println()
	fmt.Println("| path | Gbit/s | vs direct | vs nft by hand | min–max Gbit/s | conn/s | vs direct | vs nft by hand | min–max conn/s |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, p := range paths {
		if p.err != nil || len(p.bps) == 0 || len(p.cps) == 0 {
			msg := "no result"
			if p.err != nil {
				msg = p.err.Error()
			}
			fmt.Printf("| %s | failed: %s | | | | | | | |\n", p.name, mdEscape(msg))
			continue
		}
		fmt.Printf("| %s | %.2f | %s | %s | %.2f–%.2f | %.0f | %s | %s | %.0f–%.0f |\n", p.name,
			medianF(p.bps)/1e9, cell(p, direct(p), bps), cell(p, hand(p), bps), slices.Min(p.bps)/1e9, slices.Max(p.bps)/1e9,
			medianF(p.cps), cell(p, direct(p), cps), cell(p, hand(p), cps), slices.Min(p.cps), slices.Max(p.cps))
	}
	fmt.Println()
	check := func(what string, p, peer *netPath, f func(*netPath) []float64) {
		v, ok := 0.0, false
		if p != nil {
			v, ok = pct(p, peer, f)
		}
		if !ok {
			fmt.Printf("- %s: not measured\n", what)
			return
		}
		verdict := "met"
		if v < 90 {
			verdict = "MISSED"
		}
		fmt.Printf("- %s: %.0f%% (target ≥ 90%%): %s\n", what, v, verdict)
	}
	check("throughput from another host through hako -p vs direct", find(true, "hako"), find(true, "direct"), bps)
	check("connections/s from another host through hako -p vs direct", find(true, "hako"), find(true, "direct"), cps)
	check("throughput from localhost through hako -p vs nft DNAT by hand", find(false, "hako"), find(false, "nft"), bps)
	check("connections/s from localhost through hako -p vs nft DNAT by hand", find(false, "hako"), find(false, "nft"), cps)
	fmt.Println()
}

func printLatency(none, bridge []time.Duration, err error, rounds int) {
	fmt.Printf("#### `hako run --rm IMAGE true`: default bridge vs `--network none`\n\n")
	if err != nil {
		fmt.Printf("failed: %s\n\n", mdEscape(err.Error()))
		return
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	medD := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	diffs := make([]time.Duration, len(none))
	for i := range none {
		diffs[i] = bridge[i] - none[i]
	}
	d := medD(diffs)
	fmt.Printf("Median of %d interleaved pairs, after one untimed run of each, in the bench's namespace.\n\n", rounds)
	fmt.Println("| none, median ms | bridge, median ms | bridge − none, median of pairs | min–max none | min–max bridge |")
	fmt.Println("|---:|---:|---:|---:|---:|")
	fmt.Printf("| %.0f | %.0f | %.0f ms | %.0f–%.0f | %.0f–%.0f |\n\n", ms(medD(none)), ms(medD(bridge)), ms(d),
		ms(slices.Min(none)), ms(slices.Max(none)), ms(slices.Min(bridge)), ms(slices.Max(bridge)))
	verdict := "met"
	if d > 30*time.Millisecond {
		verdict = "MISSED"
	}
	fmt.Printf("- bridge at most 30 ms slower than none: %s\n\n", verdict)
}
