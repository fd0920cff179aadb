package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDebugNarration: hako --debug run tells each isolation step with this
// container's real values and each step's time: the overlay and its
// layers, the namespaces (made, then compared by inode with hako's own),
// pivot_root, the cgroup path and the limits read back from its files,
// capabilities kept and dropped counted against the kernel's, the seccomp
// profile, masked and read-only paths, the devices; and on the bridge (in
// a network namespace the test made) the veth, the addresses and the port
// rule; with -d, the monitor tells the start. A run without --debug
// prints none of it.
func TestDebugNarration(t *testing.T) {
	s := runStore(t)
	_, errOut, code := s.run(t, "--rm", "--memory", "64m", "--pids-limit", "50", busybox.ref, "true")
	if code != 0 || errOut != "" {
		t.Fatalf("without --debug: exit %d, stderr %q; want 0 and nothing", code, errOut)
	}

	_, errOut, code = s.hako(t, "--debug", "run", "--rm", "--network", "none", "--memory", "64m", "--pids-limit", "50", busybox.ref, "true")
	if code != 0 {
		t.Fatalf("--debug run: exit %d, stderr: %s", code, errOut)
	}
	m := regexp.MustCompile(`debug: container ([0-9a-f]{64}):`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no container ID in: %s", errOut)
	}
	id := m[1]
	merged := filepath.Join(s.root, "containers", id, "merged")
	lastCap, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(lastCap)))
	allCaps := n + 1
	hostMnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	memFile := `memory\.limit_in_bytes=67108864`
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		memFile = `memory\.max=67108864`
	}
	q := regexp.QuoteMeta
	for _, want := range []string{
		`rootfs: overlay mounted at ` + q(merged) + `: read-only layers \(lowerdir, top first\): 1: ` + q(s.root) + `/layers/[0-9a-f]{64}; below them the mount targets \(/dev /proc /sys /etc/hosts…\): ` + q(s.root) + `/targets/1; upperdir=` +
			q(filepath.Join(s.root, "containers", id, "upper")) + ` .*options redirect_dir=off,metacopy=off,index=off,volatile \(the kernel shows: [^)]*volatile[^)]*\) \([0-9.]+[µm]?s\)`,
		`namespaces: new mount, network, uts, pid, ipc(, cgroup)?; the host's .*\(as configured\)`,
		`cgroup: /hako/` + id + `, limits: memory 67108864 bytes, .*pids 50 \(as configured\)`,
		`capabilities: 14 of this kernel's ` + strconv.Itoa(allCaps) + ` kept \(bounding set; 14 effective\): CAP_CHOWN .*; ` +
			strconv.Itoa(allCaps-14) + ` dropped: .*CAP_SYS_ADMIN`,
		`seccomp: Docker's default profile \(built in\): [1-9][0-9]+ system calls allowed, .*any other call: SCMP_ACT_ERRNO`,
		`seccomp program: [1-9][0-9]* instructions, (compiled|cached) \(BPF, cache ` + q(filepath.Join(s.runroot, "seccomp")) + `\)`,
		`masked paths: 12, .*/proc/kcore`,
		`read-only paths: 5, .*/proc/sys `,
		`mounts: made in the new mount namespace: /proc \(proc\), /dev \(tmpfs\), `,
		`devices: 6 nodes created in /dev: .*/dev/null \(c 1:3\)`,
		`device cgroup rules, in .*: deny a \*:\* rwm, .*allow c 1:3 rwm`,
		// Measured in the init, in this order.
		`start \+[0-9.]+[µm]?s \(step [0-9.]+[µm]?s\): init: hako runs again as "hako init" \(pid [0-9]+\)`,
		`start \+.*init: unshare\(2\) makes the new namespaces: mount, network, uts, pid, ipc`,
		`start \+.*hako wrote the cgroup limits: .*/hako/` + id + `: ` + memFile + `.*pids\.max=50`,
		`start \+.*namespaces of the init \(pid [0-9]+\): mnt:\[[0-9]+\] \(hako's: ` + q(strings.TrimPrefix(hostMnt, "mnt:")) + `\)`,
		`start \+.*init: pivot_root\(2\) into ` + q(merged) + `: it becomes /`,
		`start \+.*init: capabilities dropped to the kept set, user set to 0:0, seccomp filter loaded`,
		`start \+.*exec: .*execve\(2\) of \["true"\]`,
	} {
		if !regexp.MustCompile(want).MatchString(errOut) {
			t.Errorf("--debug output lacks %s; got:\n%s", want, errOut)
		}
	}
	// The init's steps come in time order, each with its time.
	var last time.Duration
	for _, mm := range regexp.MustCompile(`start \+([0-9.]+[µm]?s) \(step ([0-9.]+[µm]?s)\)`).FindAllStringSubmatch(errOut, -1) {
		at, err1 := time.ParseDuration(mm[1])
		_, err2 := time.ParseDuration(mm[2])
		if err1 != nil || err2 != nil || at < last {
			t.Errorf("start line out of order or without a time: %q", mm[0])
		}
		last = at
	}

	// -d: the monitor starts the container and tells the start on hako's
	// stderr, then lets go of it (else this would wait for the sleep).
	t0 := time.Now()
	out, errOut, code := s.hako(t, "--debug", "run", "-d", "--network", "none", busybox.ref, "sleep", "60")
	if code != 0 {
		t.Fatalf("--debug run -d: exit %d, stderr: %s", code, errOut)
	}
	s.mustHako(t, "rm", "-f", strings.TrimSpace(out))
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("--debug run -d took %s: the monitor kept hako's stderr", d)
	}
	for _, want := range []string{
		`debug: monitor: seccomp program: `,
		`debug: monitor: start \+.*init: pivot_root\(2\) into ` + q(filepath.Join(s.root, "containers", strings.TrimSpace(out), "merged")),
		`debug: monitor: start \+.*exec: .*execve\(2\) of \["sleep" "60"\]`,
	} {
		if !regexp.MustCompile(want).MatchString(errOut) {
			t.Errorf("--debug run -d output lacks %s; got:\n%s", want, errOut)
		}
	}

	// The bridge, in a network namespace of the test's own.
	tn := newTestNet(t)
	_, errOut, code = tn.hako(t, s, "--debug", "run", "--rm", "-p", "127.0.0.1:18080:80", busybox.ref, "true")
	if code != 0 {
		t.Fatalf("--debug run on the bridge: exit %d, stderr: %s", code, errOut)
	}
	m = regexp.MustCompile(`debug: container ([0-9a-f]{64}):`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no container ID in: %s", errOut)
	}
	id = m[1]
	netns := `/run/hako-network/netns/` + id
	if d := os.Getenv("HAKO_NETWORK_DIR"); d != "" {
		netns = `.*/netns/` + id
	}
	for _, want := range []string{
		`network: host ports reserved .*: 127\.0\.0\.1:18080->80/tcp \(`,
		`network: address (10\.89\.0\.[0-9]+)/24 allocated on bridge hako0 \(gateway 10\.89\.0\.1\)`,
		`network: new network namespace \(unshare\), kept by a bind mount at ` + netns + ` \(`,
		`network: veth pair: hako` + id[:11] + ` on the host, a port of bridge hako0 <-> eth0 in the namespace, 10\.89\.0\.[0-9]+/24, default route via 10\.89\.0\.1 \(`,
		`network: 1 port forwarding rules added .*(dport 18080 dnat to|--dport 18080 .*--to-destination) 10\.89\.0\.[0-9]+:80`,
		`namespaces: new mount, uts, pid, ipc; joins network at ` + netns + `; `,
		`start \+.*init: joins an existing namespace with setns\(2\): net namespace \(with path ` + netns + `\)`,
	} {
		if !regexp.MustCompile(want).MatchString(errOut) {
			t.Errorf("--debug output on the bridge lacks %s; got:\n%s", want, errOut)
		}
	}
	// The address the narration gave is the one the container got.
	m = regexp.MustCompile(`network: address (10\.89\.0\.[0-9]+)/24`).FindStringSubmatch(errOut)
	if m != nil && !strings.Contains(errOut, "eth0 in the namespace, "+m[1]+"/24") {
		t.Errorf("the veth line does not carry the allocated address %s", m[1])
	}
}
