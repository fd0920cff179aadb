package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/hako-run/hako/internal/testimage"
)

// The bridge tests run hako in a network namespace each test makes (with a
// "peer" namespace on a veth playing another host), never in the host's:
// the host's links, rules and sysctls stay as they were, and Docker's
// FORWARD DROP policy is not in the way.

// netServer is a static Go server run in containers: on PORT (tcp and udp)
// it tells each client the source address it sees, then echoes lines in
// upper case; "dial ADDR" makes it connect to ADDR and answer the greeting
// it got there; "quit" ends it.
const netServer = `package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// dial connects to addr and returns the greeting it gets.
func dial(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(line)
}

func main() {
	port := os.Args[1]
	go func() { time.Sleep(2 * time.Minute); os.Exit(3) }()
	pc, err := net.ListenPacket("udp", ":"+port)
	if err != nil {
		panic(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(a.String())
			pc.WriteTo([]byte("udp "+host+" "+strings.ToUpper(string(buf[:n]))), a)
		}
	}()
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		panic(err)
	}
	fmt.Println("ready")
	for {
		c, err := l.Accept()
		if err != nil {
			panic(err)
		}
		go func() {
			defer c.Close()
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "from %s\n", host)
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				if sc.Text() == "quit" {
					os.Exit(0)
				}
				if addr, ok := strings.CutPrefix(sc.Text(), "dial "); ok {
					fmt.Fprintln(c, dial(addr))
					continue
				}
				fmt.Fprintln(c, strings.ToUpper(sc.Text()))
			}
		}()
	}
}
`

var (
	netImageOnce sync.Once
	netImageRef  string
	netImageErr  error
)

// netImage is busybox with the server at /srv, pushed once per run.
func netImage(t *testing.T) string {
	t.Helper()
	netImageOnce.Do(func() {
		bb, err := testimage.Busybox()
		if err != nil {
			netImageErr = err
			return
		}
		img, err := testimage.GoProgram(bb, "/srv", netServer)
		if err != nil {
			netImageErr = err
			return
		}
		// EXPOSE 7000/tcp 7000/udp, for -P.
		cf, err := img.ConfigFile()
		if err != nil {
			netImageErr = err
			return
		}
		cf = cf.DeepCopy()
		cf.Config.ExposedPorts = map[string]struct{}{"7000/tcp": {}, "7000/udp": {}}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			netImageErr = err
			return
		}
		netImageRef = registry + "/netserver:latest"
		_, netImageErr = pushImage(netImageRef, img)
	})
	if netImageErr != nil {
		t.Fatal(netImageErr)
	}
	return netImageRef
}

// testNet is a network namespace playing the host, with its own hako
// network state directory, and a peer namespace on a veth as another host:
// host 192.168.77.1/24, peer 192.168.77.2/24.
type testNet struct {
	ns, peer string // paths under /run/netns
	stateDir string
	env      []string // more environment for hako (HAKO_CONFIG, PATH)
}

const (
	hostAddr = "192.168.77.1"
	peerAddr = "192.168.77.2"
)

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "hakotest-" + hex.EncodeToString(b)
	n := &testNet{ns: "/run/netns/" + name, peer: "/run/netns/" + name + "-peer", stateDir: t.TempDir()}
	mustCmd(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	mustCmd(t, "ip", "netns", "add", name+"-peer")
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name+"-peer").Run() })
	mustCmd(t, "ip", "-n", name, "link", "set", "lo", "up")
	mustCmd(t, "ip", "-n", name+"-peer", "link", "set", "lo", "up")
	mustCmd(t, "ip", "-n", name, "link", "add", "uplink", "type", "veth", "peer", "name", "uplink", "netns", name+"-peer")
	mustCmd(t, "ip", "-n", name, "addr", "add", hostAddr+"/24", "dev", "uplink")
	mustCmd(t, "ip", "-n", name+"-peer", "addr", "add", peerAddr+"/24", "dev", "uplink")
	mustCmd(t, "ip", "-n", name, "link", "set", "uplink", "up")
	mustCmd(t, "ip", "-n", name+"-peer", "link", "set", "uplink", "up")
	return n
}

// defsDir holds the test's user network definitions (hako network create).
func (n *testNet) defsDir() string { return filepath.Join(n.stateDir, "networks") }

func mustCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// hakoCmd is hako on store s inside the test's host namespace.
func (n *testNet) hakoCmd(s *store, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("nsenter", append([]string{"--net=" + n.ns, hakoBin, "--root", s.root, "--runroot", s.runroot}, args...)...)
	cmd.Env = append(append(os.Environ(), "HAKO_NETWORK_DIR="+n.stateDir, "HAKO_NETWORK_DEFS="+n.defsDir(), "HAKO_CONFIG="+n.bridgeConfig()), append(n.env, env...)...)
	return cmd
}

func (n *testNet) hako(t *testing.T, s *store, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runTool(t, n.hakoCmd(s, nil, args...))
}

// in runs f on a thread in the network namespace at path: sockets made
// there stay in it. The thread ends afterwards.
func in(path string, f func() error) error {
	errc := make(chan error, 1)
	var run func()
	run = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with f
		if unix.Gettid() == unix.Getpid() {
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

// talk connects to addr from namespace ns, reads the server's greeting
// ("from IP"), sends a line and checks the echo; it returns the IP.
func talk(t *testing.T, ns, addr string) string {
	t.Helper()
	var c net.Conn
	err := in(ns, func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 5*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	greet, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading from %s: %v", addr, err)
	}
	fmt.Fprintf(c, "ping %s\n", addr)
	echo, err := r.ReadString('\n')
	if want := strings.ToUpper("ping "+addr) + "\n"; err != nil || echo != want {
		t.Fatalf("echo through %s: %q, %v; want %q", addr, echo, err, want)
	}
	return strings.TrimSpace(strings.TrimPrefix(greet, "from "))
}

// ask sends one line to the server at addr from ns and returns its answer.
func ask(t *testing.T, ns, addr, line string) string {
	t.Helper()
	var c net.Conn
	if err := in(ns, func() (err error) { c, err = net.DialTimeout("tcp4", addr, 5*time.Second); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // the greeting
		t.Fatal(err)
	}
	fmt.Fprintln(c, line)
	answer, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("asking %s %q: %v", addr, line, err)
	}
	return strings.TrimSpace(answer)
}

// udpTalk sends a datagram to addr from ns and returns the reply.
func udpTalk(t *testing.T, ns, addr string) string {
	t.Helper()
	var c net.Conn
	if err := in(ns, func() (err error) { c, err = net.Dial("udp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for i := 0; i < 20; i++ { // UDP may be dropped: retry
		c.Write([]byte("hello"))
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("no UDP reply from %s", addr)
	return ""
}

// netEntry is what the tests read of an entry of state.json.
type netEntry struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	HostLink string `json:"host_link"`
	NetNS    string `json:"netns"`
	Ports    []struct {
		HostPort      int    `json:"host_port"`
		ContainerPort int    `json:"container_port"`
		Proto         string `json:"proto"`
	} `json:"ports"`
}

func (n *testNet) entries(t *testing.T) map[string]netEntry {
	t.Helper()
	var st struct {
		Entries map[string]netEntry `json:"entries"`
	}
	b, err := os.ReadFile(filepath.Join(n.stateDir, "state.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil || json.Unmarshal(b, &st) != nil {
		t.Fatalf("reading state.json: %v %s", err, b)
	}
	return st.Entries
}

// startServer runs the server image on the bridge with args (-p …) and
// waits for it to listen; it returns the running hako and its entry.
func (n *testNet) startServer(t *testing.T, s *store, args ...string) (*exec.Cmd, netEntry) {
	t.Helper()
	before := n.entries(t)
	s.mustHako(t, "pull", "-q", netImage(t)) // from the host's namespace, where the registry is
	cmd := n.hakoCmd(s, nil, append(append([]string{"run", "--rm", "--network", "bridge"}, args...), netImage(t), "/srv", "7000")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// A file, not a pipe: the container inherits it, and a pipe would keep
	// Wait waiting for the container after hako was killed.
	stderrFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderrFile.Close()
	cmd.Stderr = stderrFile
	stderr := fileString(stderrFile.Name())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			cmd.Wait()
			t.Fatalf("server: %q, stderr: %s", line, stderr())
		}
	case <-time.After(time.Minute):
		t.Fatalf("server not ready; stderr: %s", stderr())
	}
	for id, e := range n.entries(t) {
		if _, ok := before[id]; !ok {
			return cmd, e
		}
	}
	t.Fatal("no new entry in state.json")
	return nil, netEntry{}
}

// quit ends the server through addr and waits for hako to exit 0.
func quit(t *testing.T, ns, addr string, cmd *exec.Cmd) {
	t.Helper()
	err := in(ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("quit\n"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hako run: %v", err)
	}
}

// checkClean fails unless the namespace has no container links, no port
// rules, no state entries and no netns files left.
func (n *testNet) checkClean(t *testing.T) {
	t.Helper()
	// The kernel removes a veth pair with its namespace, in the background.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		left = nil
		links := mustCmd(t, "nsenter", "--net="+n.ns, "ip", "-o", "link")
		for _, l := range strings.Split(strings.TrimSpace(links), "\n") {
			f := strings.Fields(l)
			if len(f) > 1 && strings.HasPrefix(f[1], "hako") && !strings.HasPrefix(f[1], "hako0:") {
				left = append(left, l)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("links left after 5s: %q", left)
	}
	rules, err := exec.Command("nsenter", "--net="+n.ns, "nft", "list", "table", "ip", "hako").CombinedOutput()
	if err != nil && !strings.Contains(string(rules), "No such file or directory") {
		t.Errorf("nft list table ip hako: %v\n%s", err, rules)
	}
	if strings.Contains(string(rules), "dnat to") {
		t.Errorf("port rules left:\n%s", rules)
	}
	// IPv6 networks' (nat6.go): no port rule, and no network rule once
	// no user network is left.
	rules6, _ := exec.Command("nsenter", "--net="+n.ns, "nft", "list", "table", "ip6", "hako").CombinedOutput()
	nets, _ := os.ReadDir(n.defsDir())
	if strings.Contains(string(rules6), "dnat to") || (len(nets) == 0 && strings.Contains(string(rules6), "hako:net ")) {
		t.Errorf("IPv6 rules left:\n%s", rules6)
	}
	if e := n.entries(t); len(e) != 0 {
		t.Errorf("state entries left: %v", e)
	}
	if f, _ := os.ReadDir(filepath.Join(n.stateDir, "netns")); len(f) != 0 {
		t.Errorf("netns files left: %v", f)
	}
}

// TestNetworkBridge: -p forwards TCP and UDP to a container on hako0 from
// localhost, the host's own address and another host, keeping the other
// host's source address, and from the container itself (hairpin); a random
// host port works; a second container
// gets another address, its hosts file names it, it reaches the host side
// and, through NAT, the other host; after exit nothing is left.
func TestNetworkBridge(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	cmd, e := n.startServer(t, s, "-p", "8080:7000", "-p", "8081:7000/udp", "-p", "7000")
	if !strings.HasPrefix(e.Address, "10.89.0.") {
		t.Errorf("container address %s, want one in 10.89.0.0/24", e.Address)
	}
	random := 0
	for _, p := range e.Ports {
		if p.Proto == "tcp" && p.HostPort != 8080 {
			random = p.HostPort
		}
	}
	if random < 1024 {
		t.Fatalf("random host port %d", random)
	}
	for _, c := range []struct{ ns, addr, src string }{
		{n.ns, "127.0.0.1:8080", "10.89.0.1"},  // masqueraded: replies must come back to the host
		{n.ns, hostAddr + ":8080", hostAddr},   // the host's own address
		{n.peer, hostAddr + ":8080", peerAddr}, // another host: its own address
		{n.ns, fmt.Sprintf("127.0.0.1:%d", random), "10.89.0.1"},
	} {
		if got := talk(t, c.ns, c.addr); got != c.src {
			t.Errorf("through %s: server saw %s, want %s", c.addr, got, c.src)
		}
	}
	if got, want := udpTalk(t, n.peer, hostAddr+":8081"), "udp "+peerAddr+" HELLO"; got != want {
		t.Errorf("udp: %q, want %q", got, want)
	}
	// Hairpin: the container reaches its own published port through the
	// host's address.
	if got, want := ask(t, n.ns, "127.0.0.1:8080", "dial "+hostAddr+":8080"), "from 10.89.0.1"; got != want {
		t.Errorf("the container through its own published port: %q, want %q", got, want)
	}

	// A second container, while the first runs.
	hostSide, err := listenIn(n.ns, "10.89.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostSide.Close()
	peerSide, err := listenIn(n.peer, peerAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer peerSide.Close()
	seen := []chan string{make(chan string, 1), make(chan string, 1)}
	for i, l := range []net.Listener{hostSide, peerSide} {
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			seen[i] <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}()
	}
	script := fmt.Sprintf("cat /etc/hosts; echo; grep nameserver /etc/resolv.conf; echo x | nc %s; echo x | nc %s",
		strings.Replace(hostSide.Addr().String(), ":", " ", 1), strings.Replace(peerSide.Addr().String(), ":", " ", 1))
	out, errOut, code := n.hako(t, s, "run", "--rm", "--network", "bridge", "--hostname", "second", busybox.ref, "sh", "-c", script)
	if code != 0 {
		t.Fatalf("second container: exit %d, %s", code, errOut)
	}
	if strings.Contains(out, e.Address+"\t") || !strings.Contains(out, "\tsecond\n") {
		t.Errorf("second container's /etc/hosts:\n%s\nwant its own address (not %s) named second", out, e.Address)
	}
	if !strings.Contains(out, "nameserver ") || strings.Contains(out, "127.0.0.53") {
		t.Errorf("second container's resolv.conf has no usable nameserver:\n%s", out)
	}
	second := ""
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[1] == "second" {
			second = f[0]
		}
	}
	if second == "" || second == e.Address {
		t.Errorf("second container's address %q, want one other than the first's %s", second, e.Address)
	}
	// The host side sees the container's own address; the other host sees
	// the host's (outbound NAT).
	for i, want := range []string{second, hostAddr} {
		select {
		case ip := <-seen[i]:
			if ip != want {
				t.Errorf("connection %d from %s, want %s", i, ip, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the second container did not reach %s", []string{"the host side", "the other host"}[i])
		}
	}

	quit(t, n.ns, "127.0.0.1:8080", cmd)
	n.checkClean(t)
}

// fileString reads a file when called: for output still being written.
func fileString(path string) func() string {
	return func() string { b, _ := os.ReadFile(path); return string(b) }
}

func listenIn(ns, addr string) (net.Listener, error) {
	var l net.Listener
	err := in(ns, func() (err error) { l, err = net.Listen("tcp4", addr); return err })
	return l, err
}

// TestNetworkRepair: -P publishes the image's EXPOSEd ports on random host
// ports; a hako run killed with SIGKILL leaves its network; the next hako
// command's Repair removes it all.
func TestNetworkRepair(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	becomeSubreaper(t)
	cmd, e := n.startServer(t, s, "-P")
	if len(e.Ports) != 2 {
		t.Fatalf("-P published %+v, want 7000/tcp and 7000/udp", e.Ports)
	}
	for _, p := range e.Ports {
		addr := fmt.Sprintf("%s:%d", hostAddr, p.HostPort)
		if p.Proto == "tcp" {
			if got := talk(t, n.peer, addr); got != peerAddr {
				t.Errorf("server saw %s", got)
			}
		} else if got, want := udpTalk(t, n.peer, addr), "udp "+peerAddr+" HELLO"; got != want {
			t.Errorf("udp: %q, want %q", got, want)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(e.NetNS); err != nil {
		t.Fatalf("the netns file went with the monitor: %v; the test needs it left", err)
	}
	if _, errOut, code := n.hako(t, s, "run", "--rm", busybox.ref, "true"); code != 0 {
		t.Fatalf("run after the kill: exit %d: %s", code, errOut)
	}
	n.checkClean(t)
}

// TestNetworkErrors: a bad -p, a host port in use and a subnet that clashes
// with a route each fail with one line and exit 125; a configured subnet
// is used; -p alone puts the container on the bridge.
func TestNetworkErrors(t *testing.T) {
	s := runStore(t)
	for spec, want := range map[string]string{
		"abc":             "invalid containerPort: abc",
		"x:80":            "invalid hostPort: x",
		"80/tcpx":         "invalid proto: tcpx",
		"1.2.3:80:80":     "invalid IP address: 1.2.3",
		"8000-8002:80-81": "invalid ranges specified for container and host Ports: 80-81 and 8000-8002",
	} {
		_, errOut, code := s.hako(t, "run", "--rm", "--network", "bridge", "-p", spec, busybox.ref, "true")
		if code != 125 || !strings.Contains(errOut, want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("-p %s: exit %d, stderr %q; want 125 and one line with %q", spec, code, errOut, want)
		}
	}

	n := newTestNet(t)
	busy, err := listenIn(n.ns, "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	_, errOut, code := n.hako(t, s, "run", "--rm", "--network", "bridge", "-p", fmt.Sprintf("%d:80", port), busybox.ref, "true")
	if want := fmt.Sprintf("Bind for 0.0.0.0:%d failed: port is already allocated", port); code != 125 || !strings.Contains(errOut, want) {
		t.Errorf("port in use: exit %d, stderr %q; want 125 and %q", code, errOut, want)
	}
	n.checkClean(t)

	// A route of the host covering the subnet.
	c := newTestNet(t)
	name := filepath.Base(c.ns)
	mustCmd(t, "ip", "-n", name, "route", "add", "10.89.0.0/16", "via", peerAddr)
	_, errOut, code = c.hako(t, s, "run", "--rm", "--network", "bridge", busybox.ref, "true")
	if code != 125 || !strings.Contains(errOut, "overlaps the host's route to 10.89.0.0/16 (dev uplink)") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("subnet clash: exit %d, stderr %q", code, errOut)
	}
	// Another subnet from the config file.
	conf := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(conf, []byte(`{"bridge-subnet": "10.90.7.0/24"}`), 0o644)
	// (-p alone implies --network bridge.)
	out, errOut, code := runTool(t, c.hakoCmd(s, []string{"HAKO_CONFIG=" + conf}, "run", "--rm", "-p", "9999:80", busybox.ref, "ip", "-4", "-o", "addr", "show", "eth0"))
	if code != 0 || !strings.Contains(out, "inet 10.90.7.2/24") {
		t.Errorf("configured subnet: exit %d, out %q, stderr %q", code, out, errOut)
	}
	c.checkClean(t)
}

// TestNetworkParallel: 20 containers started and removed at once, each
// with a published port, get distinct addresses and leave nothing behind:
// the namespace's whole ruleset is as it was before them.
func TestNetworkParallel(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	// One run first: the bridge and hako's table stay set up while idle.
	if _, errOut, code := n.hako(t, s, "run", "--rm", "-p", "0:80", busybox.ref, "true"); code != 0 {
		t.Fatalf("first run: exit %d, %s", code, errOut)
	}
	n.checkClean(t)
	ruleset := func() string { return mustCmd(t, "nsenter", "--net="+n.ns, "nft", "list", "ruleset") }
	before := ruleset()
	const count = 20
	type result struct {
		out, stderr string
		code        int
	}
	results := make(chan result, count)
	for range count {
		go func() {
			var out, errb strings.Builder
			cmd := n.hakoCmd(s, nil, "run", "--rm", "-p", "0:80", busybox.ref, "sh", "-c", "ip -4 -o addr show eth0")
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.Run()
			results <- result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
		}()
	}
	addrs := map[string]bool{}
	for range count {
		r := <-results
		f := strings.Fields(r.out)
		if r.code != 0 || len(f) < 4 {
			t.Errorf("exit %d, out %q, stderr %q", r.code, r.out, r.stderr)
			continue
		}
		if addrs[f[3]] {
			t.Errorf("address %s given twice", f[3])
		}
		addrs[f[3]] = true
	}
	n.checkClean(t)
	if after := ruleset(); after != before {
		t.Errorf("ruleset after %d parallel runs differs:\nbefore:\n%s\nafter:\n%s", count, before, after)
	}
}
