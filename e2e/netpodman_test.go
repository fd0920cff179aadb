package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// podmanNet is podman's default network as Debian's podman (CNI) ships it
// in /etc/cni/net.d/87-podman-bridge.conflist, with one change: the
// address allocations go to the test's directory, not /var/lib/cni.
const podmanNet = `{
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

// TestNetworkPodmanCoexists: podman (Debian's, with CNI) runs a container
// with -p on its default network in the test's namespace, so its bridge
// and iptables rules (CNI-HOSTPORT-DNAT, CNI-FORWARD, masquerade) are
// there; hako's -p, with nftables and with the iptables fallback, works
// beside it from another host and from localhost, podman's -p keeps
// working, and hako's teardown leaves podman's rules as they were.
func TestNetworkPodmanCoexists(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman is needed (make test installs it): %v", err)
	}
	s := runStore(t)
	n := newTestNet(t)
	podRoot, podRun, netDir := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(netDir, "podman.conflist"), fmt.Appendf(nil, podmanNet, t.TempDir()), 0o644); err != nil {
		t.Fatal(err)
	}
	// CNI keeps its results cache in /var/lib/cni, podman its blob cache
	// in /var/lib/containers whatever --root says: remove them afterwards
	// if this test made them.
	for _, d := range []string{"/var/lib/cni", "/var/lib/containers"} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	global := []string{"--root", podRoot, "--runroot", podRun, "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "none", "--network-config-dir", netDir,
		"--runtime", "runc"} // crun refuses this host's hybrid cgroups
	podman := func(inNS bool, args ...string) string {
		t.Helper()
		argv := append(append([]string{}, global...), args...)
		cmd := exec.Command("podman", argv...)
		if inNS {
			cmd = exec.Command("nsenter", append([]string{"--net=" + n.ns, "podman"}, argv...)...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// podman names the container's namespace /run/netns/netns-<uuid> and
	// sometimes leaves it behind (seen once or twice per CI run): the ones
	// that appear during this test (the only e2e test running a podman
	// container; e2e tests run one at a time) go at its end.
	netnsBefore, _ := filepath.Glob("/run/netns/netns-*")
	t.Cleanup(func() {
		after, _ := filepath.Glob("/run/netns/netns-*")
		for _, p := range after {
			if !slices.Contains(netnsBefore, p) {
				exec.Command("ip", "netns", "del", filepath.Base(p)).Run()
			}
		}
	})
	t.Cleanup(func() {
		// podman leaves the container's namespace file when its run failed.
		key, _ := exec.Command("podman", append(global, "inspect", "--format", "{{.NetworkSettings.SandboxKey}}", "web")...).Output()
		// In the namespace, where CNI removes what it added.
		exec.Command("nsenter", append([]string{"--net=" + n.ns, "podman"}, append(global, "rm", "-f", "-t", "0", "-a")...)...).Run()
		if k := strings.TrimSpace(string(key)); strings.HasPrefix(k, "/run/netns/netns-") {
			if _, err := os.Stat(k); err == nil {
				exec.Command("ip", "netns", "del", filepath.Base(k)).Run()
			}
		}
		exec.Command("podman", append(global, "system", "reset", "-f")...).Run()
	})
	podman(false, "pull", "-q", "--tls-verify=false", busybox.ref)
	// The ulimits: podman's defaults exceed the hard limits hako's tests
	// may run under, which a container cannot raise.
	podman(true, "run", "-d", "--name", "web", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		"-p", "8090:80", busybox.ref, "sh", "-c", "mkdir /www && echo podman-ok > /www/index.html && exec httpd -f -p 80 -h /www")
	waitHTTP(t, n.ns, "127.0.0.1:8090", "podman-ok")
	// podman rm -f can fail on a lock shared by every podman on the host and
	// leave the container and its conmon running: end them by PID then.
	var pids []int
	for _, f := range strings.Fields(podman(false, "inspect", "--format", "{{.State.ConmonPid}} {{.State.Pid}}", "web")) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	t.Cleanup(func() { killLeftovers(pids, podRoot) })
	save := func() string {
		t.Helper()
		return saveNoise.ReplaceAllString(mustCmd(t, "nsenter", "--net="+n.ns, "iptables-nft-save"), "")
	}
	podmanRules := save()
	for _, want := range []string{"CNI-HOSTPORT-DNAT", "--to-destination 10.88.", "CNI-FORWARD"} {
		if !strings.Contains(podmanRules, want) {
			t.Fatalf("podman's rules lack %q:\n%s", want, podmanRules)
		}
	}

	for _, fw := range []string{"nftables", "iptables"} {
		conf := filepath.Join(t.TempDir(), "config.json")
		os.WriteFile(conf, []byte(`{"firewall": "`+fw+`"}`), 0o644)
		n.env = []string{"HAKO_CONFIG=" + conf}
		cmd, _ := n.startServer(t, s, "-p", "8080:7000")
		for _, c := range []struct{ ns, addr, src string }{
			{n.peer, hostAddr + ":8080", peerAddr},
			{n.ns, "127.0.0.1:8080", "10.89.0.1"},
		} {
			if got := talk(t, c.ns, c.addr); got != c.src {
				t.Errorf("%s: hako's port %s: server saw %s, want %s", fw, c.addr, got, c.src)
			}
		}
		for _, ns := range []string{n.peer, n.ns} {
			waitHTTP(t, ns, hostAddr+":8090", "podman-ok")
		}
		waitHTTP(t, n.ns, "127.0.0.1:8090", "podman-ok")
		quit(t, n.ns, "127.0.0.1:8080", cmd)
		n.checkClean(t)
		if after := save(); after != podmanRules {
			t.Errorf("%s: hako's teardown changed the iptables rules:\nbefore:\n%s\nafter:\n%s", fw, podmanRules, after)
		}
		waitHTTP(t, n.peer, hostAddr+":8090", "podman-ok")
	}
}

// waitHTTP GETs / at addr from namespace ns until the body has want
// (a server just started may not listen yet), for up to 20 seconds.
func waitHTTP(t *testing.T, ns, addr, want string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		err := in(ns, func() error {
			c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
			b, err := io.ReadAll(c)
			last = string(b)
			return err
		})
		if err == nil && strings.Contains(last, want) {
			return
		}
		if err != nil {
			last = err.Error()
		}
	}
	t.Fatalf("GET http://%s/ from %s: %q, want %q", addr, filepath.Base(ns), last, want)
}

// killLeftovers ends what podman left behind: its conmon, only while that
// PID's command line still names this test's podman root (never a reused
// PID), and the container's init, only while conmon is its parent.
func killLeftovers(pids []int, podRoot string) {
	if len(pids) != 2 {
		return
	}
	conmon, init := pids[0], pids[1]
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", conmon)); !strings.Contains(string(cmdline), podRoot) {
		return
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", init)); err == nil {
		// pid (comm) state ppid …: comm may hold spaces, so split after ')'.
		if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 1 && f[1] == strconv.Itoa(conmon) {
			syscall.Kill(init, syscall.SIGKILL)
		}
	}
	syscall.Kill(conmon, syscall.SIGKILL)
}
