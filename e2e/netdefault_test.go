package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// isolateNetwork keeps the run off the host's network: every hako the
// tests start (they inherit this environment) reads a config file with
// {"bridge": "none"}, so a container run without --network gets none
// rather than the default bridge, and keeps its network state and
// definitions in a temporary directory. The bridge tests run hako in
// network namespaces of their own with the defaults (testNet.hakoCmd).
// It returns the function that removes the directory.
func isolateNetwork() (func(), error) {
	dir, err := os.MkdirTemp("", "hako-e2e-net")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "config.json")
	if err := os.WriteFile(conf, []byte(`{"bridge": "none"}`+"\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	os.Setenv("HAKO_CONFIG", conf)
	os.Setenv("HAKO_NETWORK_DIR", filepath.Join(dir, "state"))
	os.Setenv("HAKO_NETWORK_DEFS", filepath.Join(dir, "networks"))
	return func() { os.RemoveAll(dir) }, nil
}

// bridgeConfig is the config a test network's hako reads: none, so the
// defaults (the bridge by default).
func (n *testNet) bridgeConfig() string { return filepath.Join(n.stateDir, "no-config.json") }

// TestNetworkDefaultBridge: without --network a container is on hako0, as
// in Docker; {"bridge": "none"} in the config file (the harness's) makes
// that none; bundle defaults to none and refuses -p; a run --rm on the
// bridge costs little more than one with none (the medians are logged).
func TestNetworkDefaultBridge(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	out, errOut, code := n.hako(t, s, "run", "--rm", busybox.ref, "ip", "-4", "-o", "addr", "show", "eth0")
	if code != 0 || !strings.Contains(out, "inet 10.89.0.") {
		t.Errorf("run without --network: exit %d, out %q, stderr %q; want eth0 on 10.89.0.0/24", code, out, errOut)
	}
	// The harness's config: none.
	out, errOut, code = s.hako(t, "run", "--rm", busybox.ref, "ip", "-o", "link")
	if code != 0 || strings.Contains(out, "eth0") {
		t.Errorf("run with {\"bridge\": \"none\"}: exit %d, out %q, stderr %q; want only lo", code, out, errOut)
	}

	dir := filepath.Join(t.TempDir(), "b")
	if _, errOut, code := n.hako(t, s, "bundle", busybox.ref, dir); code != 0 {
		t.Fatalf("bundle without --network: exit %d, %s", code, errOut)
	}
	var spec struct {
		Linux struct {
			Namespaces []struct{ Type, Path string }
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || json.Unmarshal(b, &spec) != nil {
		t.Fatalf("reading the bundle's config.json: %v", err)
	}
	netns := 0
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == "network" && ns.Path == "" {
			netns++
		}
	}
	if netns != 1 {
		t.Errorf("bundle's namespaces %+v, want a new (empty) network namespace", spec.Linux.Namespaces)
	}
	_, errOut, code = n.hako(t, s, "bundle", "-p", "80", busybox.ref, t.TempDir())
	if code != 125 || !strings.Contains(errOut, "--network none or host") {
		t.Errorf("bundle -p: exit %d, stderr %q; want 125 saying bundle needs none or host", code, errOut)
	}

	const rounds = 7
	median := func(args ...string) time.Duration {
		var ds []time.Duration
		for range rounds {
			start := time.Now()
			if _, errOut, code := runTool(t, n.hakoCmd(s, nil, append([]string{"run", "--rm"}, args...)...)); code != 0 {
				t.Fatalf("run --rm %v: exit %d, %s", args, code, errOut)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[rounds/2]
	}
	median(busybox.ref, "true") // warm the caches
	bridge, none := median(busybox.ref, "true"), median("--network", "none", busybox.ref, "true")
	t.Logf("run --rm busybox true: median %v on the bridge, %v with --network none (+%v)", bridge, none, bridge-none)
	// The target is 30 ms; a busy test machine gets slack.
	if bridge-none > 100*time.Millisecond {
		t.Errorf("the bridge adds %v to a run --rm, want at most 30 ms", bridge-none)
	}
	n.checkClean(t)
}

// TestNetworkForwardDropWarning: hako info warns when iptables' FORWARD
// policy (Docker's DROP) will drop hako's forwarded traffic, and says how
// to let it through; once DOCKER-USER accepts hako+ both ways, it does not.
func TestNetworkForwardDropWarning(t *testing.T) {
	s := newStore(t)
	n := newTestNet(t)
	info := func() string {
		t.Helper()
		_, errOut, code := n.hako(t, s, "info")
		if code != 0 {
			t.Fatalf("hako info: exit %d, %s", code, errOut)
		}
		return errOut
	}
	if w := info(); strings.Contains(w, "FORWARD") {
		t.Errorf("a warning with the policy ACCEPT: %q", w)
	}
	ipt := func(args ...string) {
		mustCmd(t, "nsenter", append([]string{"--net=" + n.ns, "iptables-nft", "-w"}, args...)...)
	}
	ipt("-P", "FORWARD", "DROP")
	ipt("-N", "DOCKER-USER")
	ipt("-A", "FORWARD", "-j", "DOCKER-USER")
	if w := info(); !strings.Contains(w, "FORWARD chain's policy is DROP") || !strings.Contains(w, "iptables -I DOCKER-USER -i hako+ -j ACCEPT") {
		t.Errorf("hako info with Docker's DROP policy: stderr %q, want a warning naming the DOCKER-USER fix", w)
	}
	ipt("-I", "DOCKER-USER", "-i", "hako+", "-j", "ACCEPT")
	ipt("-I", "DOCKER-USER", "-o", "hako+", "-j", "ACCEPT")
	if w := info(); strings.Contains(w, "FORWARD") {
		t.Errorf("a warning although DOCKER-USER lets hako+ through: %q", w)
	}
}
