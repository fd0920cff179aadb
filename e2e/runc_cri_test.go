package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/hako-run/hako/internal/testimage"
)

// The README's "On a cluster" snippets are what the tests below run.
const readmeBinaryName = `BinaryName = "/usr/local/bin/hako-runc"`

// readmeBlock returns the body of the one fenced block of language lang in
// the README that contains marker.
func readmeBlock(t *testing.T, lang, marker string) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, part := range strings.Split(string(data), "```"+lang+"\n")[1:] {
		body, _, ok := strings.Cut(part, "```")
		if ok && strings.Contains(body, marker) {
			found = append(found, body)
		}
	}
	if len(found) != 1 {
		t.Fatalf("README: %d ```%s blocks containing %q, want 1", len(found), lang, marker)
	}
	return found[0]
}

// pauseSource is the pod sandbox's process: it holds the pod's namespaces,
// reaps what is reparented to it (the pod shares its PID namespace), and
// exits on SIGINT or SIGTERM, as Kubernetes' pause does.
const pauseSource = `package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range c {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			if pid, _ := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 {
				break
			}
		}
	}
}
`

// findCrictl returns $CRICTL, or bin/crictl built by `make bin/crictl`
// (cri-tools' Go module) in the repository root.
func findCrictl(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CRICTL"); p != "" {
		return p
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "crictl")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("make", "bin/crictl")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make bin/crictl: %v\n%s", err, out)
	}
	return bin
}

// criContainerd is the test's containerd with its CRI plugin on, run in a
// network namespace of the test's own (the CNI bridge and its stream server
// live there, never in the host's), with crictl pointed at it.
type criContainerd struct {
	*testContainerd
	crictl, crictlConfig, netns string
}

func startCRIContainerd(t *testing.T, hakoRunc, crictl string) *criContainerd {
	t.Helper()
	for _, tool := range []string{"containerd", "ctr", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make test-deps installs it)", tool)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Fatal("the CNI plugins are not installed (make test-deps installs Debian's containernetworking-plugins)")
	}
	// Short: the unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "hako-cri-")
	if err != nil {
		t.Fatal(err)
	}
	c := &criContainerd{
		testContainerd: &testContainerd{dir: dir, sock: filepath.Join(dir, "c.sock"), ns: "k8s.io", runcRoot: filepath.Join(dir, "runc")},
		crictl:         crictl,
		crictlConfig:   filepath.Join(dir, "crictl.yaml"),
		netns:          "hako-cri-" + strconv.Itoa(os.Getpid()),
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	// The README's block, with this test's hako-runc and its own runc root.
	block := readmeBlock(t, "toml", "runtimes.hako]")
	if !strings.Contains(block, readmeBinaryName) {
		t.Fatalf("README's containerd block has no %s", readmeBinaryName)
	}
	block = strings.Replace(block, readmeBinaryName, fmt.Sprintf("BinaryName = %q\n    Root = %q", hakoRunc, c.runcRoot), 1)
	// A second handler with the systemd cgroup driver, as on a kubelet
	// configured for it.
	sd := strings.NewReplacer("runtimes.hako]", "runtimes.hako-systemd]", "runtimes.hako.options]", "runtimes.hako-systemd.options]",
		"SystemdCgroup = false", "SystemdCgroup = true").Replace(block)
	if !strings.Contains(sd, "SystemdCgroup = true") {
		t.Fatal("README's containerd block does not set SystemdCgroup = false")
	}
	block += "\n" + sd
	// This machine's bounding set lacks CAP_SYS_RESOURCE, without which no
	// runtime can give the sandbox its oom_score_adj of -998
	// (restrict_oom_score_adj keeps it at containerd's own). The stream
	// server (exec) takes a free port on the namespace's loopback.
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  address = %[5]q
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/library/hako-pause:e2e"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  restrict_oom_score_adj = %[6]v
  netns_mounts_under_state_dir = true
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "hako"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    Root = %[9]q
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = %[7]q
%[8]s`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc",
		filepath.Join(dir, "debug.sock"), !hasCapSysResource(t), filepath.Join(dir, "cni"), block, filepath.Join(dir, "runc-runc"))
	cfgPath := filepath.Join(dir, "config.toml")
	// The bridge lives in the test's network namespace; host-local keeps its
	// leases in the test's directory.
	cni := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "hako-e2e", "plugins": [{"type": "bridge", "bridge": "hakocri0",
 "isGateway": false, "ipMasq": false, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.0.0/24"}]], "dataDir": %q}}]}`,
		filepath.Join(dir, "ipam"))
	crictlConfig := fmt.Sprintf("runtime-endpoint: unix://%[1]s\nimage-endpoint: unix://%[1]s\ntimeout: 60\n", c.sock)
	for path, content := range map[string]string{cfgPath: config, filepath.Join(dir, "cni", "10-hako.conflist"): cni, c.crictlConfig: crictlConfig} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if out, err := exec.Command("ip", "netns", "add", c.netns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", c.netns).Run() })
	if out, err := exec.Command("ip", "-n", c.netns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	// libcni caches results under /var/lib/cni; remove it if this test made it.
	if _, err := os.Stat("/var/lib/cni"); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove("/var/lib/cni/results"); os.Remove("/var/lib/cni") })
	}

	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat("/run/containerd")
	c.hadRunDir = err == nil
	// nsenter execs containerd in place: the PID is containerd's.
	c.cmd = exec.Command("nsenter", "--net=/run/netns/"+c.netns, "containerd", "--config", cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever a failed test left: pods and their containers first.
		runTool(t, c.crictlCmd("rmp", "--force", "--all"))
		c.stop(t)
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if exec.Command("ctr", "-a", c.sock, "version").Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not come up: %s", readFile(filepath.Join(dir, "containerd.log")))
		}
	}
	if log := readFile(filepath.Join(dir, "containerd.log")); strings.Contains(log, "failed to load plugin io.containerd.grpc.v1.cri") {
		t.Fatalf("containerd's CRI plugin did not load: %s", log)
	}
	return c
}

// hasCapSysResource reports whether CAP_SYS_RESOURCE is in this process's
// bounding set.
func hasCapSysResource(t *testing.T) bool {
	for _, line := range strings.Split(readFile("/proc/self/status"), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return caps&(1<<24) != 0 // CAP_SYS_RESOURCE
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return false
}

// crictlCmd runs crictl in the test's network namespace, where the stream
// server that exec talks to listens.
func (c *criContainerd) crictlCmd(args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=/run/netns/" + c.netns, c.crictl, "--config", c.crictlConfig}, args...)...)
}

func (c *criContainerd) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runTool(t, c.crictlCmd(args...))
	if code != 0 {
		t.Fatalf("crictl %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// importImage writes img as a tarball named ref and imports it into the
// CRI plugin's namespace.
func (c *criContainerd) importImage(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.dir, strings.ReplaceAll(tag.RepositoryStr(), "/", "_")+".tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	c.testContainerd.must(t, "images", "import", path)
}

func pauseImage(t *testing.T) v1.Image {
	t.Helper()
	base, err := testimage.Base(testimage.HostPlatform())
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimage.GoProgram(base, "/pause", pauseSource)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	cfg.Entrypoint = []string{"/pause"}
	if img, err = mutate.Config(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// TestRuncUnderCRI drives containerd's CRI plugin with crictl, as a kubelet
// would: a pod sandbox (the pause image, a netns containerd made, an
// address from Debian's CNI bridge plugin) and a container in it, both run
// by hako-runc through the runtime handler "hako" from the README's
// containerd block; then stop and removal leave nothing behind.
func TestRuncUnderCRI(t *testing.T) {
	r := newRunc(t)
	crictl := findCrictl(t)
	// Registered first, so it runs after containerd's cleanup has removed
	// whatever a failed test left in it.
	cgroupParent := "/hako-cri-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + cgroupParent)
		if d, _ := os.Stat("/sys/fs/cgroup" + cgroupParent); d != nil {
			dirs = append(dirs, "/sys/fs/cgroup"+cgroupParent)
		}
		for _, d := range dirs {
			if err := os.Remove(d); err != nil {
				t.Errorf("pod cgroup parent: %v", err) // still holds a cgroup
			}
		}
	})
	c := startCRIContainerd(t, r.bin, crictl)
	c.importImage(t, "docker.io/library/hako-pause:e2e", pauseImage(t))
	const image = "docker.io/library/hako-busybox:e2e"
	c.importImage(t, image, busybox.img)

	pod := map[string]any{
		"metadata":      map[string]any{"name": "hako-pod", "namespace": "default", "uid": "hako-e2e-" + strconv.Itoa(os.Getpid())},
		"log_directory": filepath.Join(c.dir, "logs"),
		"linux":         map[string]any{"cgroup_parent": cgroupParent},
	}
	ctr := map[string]any{
		"metadata": map[string]any{"name": "hello"},
		"image":    map[string]any{"image": image},
		"command":  []string{"sh", "-c", "echo hello from hako; exec sleep 1000"},
		"log_path": "hello.log",
		// RuntimeDefault: containerd's seccomp profile, which hako-runc
		// compiles once and caches.
		"linux": map[string]any{"security_context": map[string]any{"seccomp": map[string]any{"profile_type": 0}}},
	}
	podJSON, ctrJSON := filepath.Join(c.dir, "pod.json"), filepath.Join(c.dir, "ctr.json")
	for path, v := range map[string]any{podJSON: pod, ctrJSON: ctr} {
		data, _ := json.Marshal(v)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	podID := strings.TrimSpace(c.must(t, "runp", "--runtime", "hako", podJSON))
	var podInfo struct {
		Status struct {
			State   string `json:"state"`
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
		Info struct {
			RuntimeHandler string `json:"runtimeHandler"`
		} `json:"info"`
	}
	if err := json.Unmarshal([]byte(c.must(t, "inspectp", podID)), &podInfo); err != nil {
		t.Fatal(err)
	}
	if podInfo.Status.State != "SANDBOX_READY" || podInfo.Info.RuntimeHandler != "hako" || !strings.HasPrefix(podInfo.Status.Network.IP, "10.99.0.") {
		t.Fatalf("inspectp: %+v; want a ready sandbox of handler hako with a 10.99.0.x address", podInfo)
	}
	// hako-runc made the sandbox: its state is in the handler's Root.
	var st specs.State
	if err := json.Unmarshal([]byte(r.must(t, "--root", filepath.Join(c.runcRoot, "k8s.io"), "state", podID)), &st); err != nil || st.Status != "running" {
		t.Fatalf("hako-runc state of the sandbox: %+v (%v)", st, err)
	}

	id := strings.TrimSpace(c.must(t, "create", podID, ctrJSON, podJSON))
	c.must(t, "start", id)
	waitFor(t, "the container's log", func() bool {
		out, _, _ := runTool(t, c.crictlCmd("logs", id))
		return out == "hello from hako\n"
	})
	if cached, _ := os.ReadDir(filepath.Join(c.runcRoot, "k8s.io", ".hako-seccomp")); len(cached) == 0 {
		t.Error("no seccomp program in hako-runc's cache: RuntimeDefault did not go through hako-runc")
	}
	// exec (through the stream server): the pod shares the sandbox's PID
	// and network namespaces, the seccomp filter is on.
	out := c.must(t, "exec", id, "sh", "-c", "cat /proc/1/cmdline; echo; ip -4 -o addr show eth0; grep ^Seccomp: /proc/self/status")
	if !strings.HasPrefix(out, "/pause\x00\n") || !strings.Contains(out, " "+podInfo.Status.Network.IP+"/24 ") || !strings.Contains(out, "Seccomp:\t2") {
		t.Fatalf("crictl exec printed %q; want /pause as PID 1, the pod's address %s on eth0, and seccomp mode 2", out, podInfo.Status.Network.IP)
	}

	// The systemd driver where systemd does not run: the sandbox is refused
	// in hako-runc's one line, which the shim and crictl pass on, and
	// containerd removes what it had made for it.
	if _, err := os.Stat("/run/systemd/system"); os.IsNotExist(err) {
		pod["metadata"] = map[string]any{"name": "hako-sd", "namespace": "default", "uid": "hako-e2e-sd-" + strconv.Itoa(os.Getpid())}
		pod["linux"] = map[string]any{"cgroup_parent": "hako-e2e.slice"}
		sdJSON := filepath.Join(c.dir, "pod-systemd.json")
		data, _ := json.Marshal(pod)
		if err := os.WriteFile(sdJSON, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runTool(t, c.crictlCmd("runp", "--runtime", "hako-systemd", sdJSON))
		if code == 0 || !strings.Contains(stderr, "systemd not running on this host, cannot use systemd cgroups manager") ||
			!strings.Contains(stderr, "hako-e2e.slice:cri-containerd:") {
			t.Fatalf("runp with SystemdCgroup = true: exit %d, stderr %q; want hako-runc's refusal", code, stderr)
		}
		if pods := strings.Fields(c.must(t, "pods", "-q")); len(pods) != 1 || pods[0] != podID {
			t.Fatalf("pods after the refused sandbox: %v, want only %s", pods, podID)
		}
	}

	c.must(t, "stop", "--timeout", "5", id)
	var ctrInfo struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(c.must(t, "inspect", id)), &ctrInfo); err != nil {
		t.Fatal(err)
	}
	if ctrInfo.Status.State != "CONTAINER_EXITED" || ctrInfo.Status.ExitCode != 128+int(syscall.SIGTERM) {
		t.Fatalf("after stop: %+v; want exited by SIGTERM", ctrInfo.Status)
	}
	c.must(t, "rm", id)
	c.must(t, "stopp", podID)
	c.must(t, "rmp", podID)

	// How long a pod sandbox takes to come up (runp: netns, CNI, shim,
	// create and start of the pause container) with hako-runc and with
	// runc, interleaved; logged, not asserted.
	if _, err := exec.LookPath("runc"); err == nil {
		took := map[string][]time.Duration{}
		for i := range 5 {
			for _, handler := range []string{"hako", "runc"} {
				pod["metadata"] = map[string]any{"name": "time-" + handler, "namespace": "default", "uid": fmt.Sprintf("hako-e2e-%s-%d", handler, i)}
				pod["linux"] = map[string]any{"cgroup_parent": cgroupParent}
				p := filepath.Join(c.dir, "pod-time.json")
				data, _ := json.Marshal(pod)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				t0 := time.Now()
				id := strings.TrimSpace(c.must(t, "runp", "--runtime", handler, p))
				took[handler] = append(took[handler], time.Since(t0))
				c.must(t, "stopp", id)
				c.must(t, "rmp", id)
			}
		}
		for _, h := range []string{"hako", "runc"} {
			slices.Sort(took[h])
			t.Logf("crictl runp with handler %s: median %v of %v", h, took[h][len(took[h])/2], took[h])
		}
	}

	// Nothing left: no pod, no container, no shim, no hako-runc state, no
	// lease, no cgroup under the pod's parent (the cleanup removes the
	// parent itself and fails on one that is not empty).
	if out := c.must(t, "pods", "-q") + c.must(t, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("left after rmp: %q", out)
	}
	waitFor(t, "the shims to exit", func() bool { return len(c.shims()) == 0 })
	entries, _ := os.ReadDir(filepath.Join(c.runcRoot, "k8s.io"))
	if slices.ContainsFunc(entries, func(e os.DirEntry) bool { return !strings.HasPrefix(e.Name(), ".") }) {
		t.Errorf("hako-runc state left: %v", entries)
	}
	leases, _ := filepath.Glob(filepath.Join(c.dir, "ipam", "hako-e2e", "10.*"))
	if len(leases) > 0 {
		t.Errorf("CNI leases left: %v", leases)
	}
	for _, d := range []string{podID, id} {
		if left, _ := filepath.Glob("/sys/fs/cgroup/*" + cgroupParent + "/" + d); len(left) > 0 {
			t.Errorf("cgroups left: %v", left)
		}
	}
}

// TestClusterSnippets checks the README's k3s template and RuntimeClass
// against its containerd block: the template, run as k3s runs it
// (text/template with its "base" template and SystemdCgroup), adds exactly
// that block in containerd 2's table names; the RuntimeClass parses and
// names the block's handler.
func TestClusterSnippets(t *testing.T) {
	block := readmeBlock(t, "toml", "runtimes.hako]")
	tmpl, err := template.New("config-v3.toml.tmpl").Parse(readmeBlock(t, "gotemplate", "runtimes.hako]"))
	if err == nil {
		_, err = tmpl.New("base").Parse("# k3s's base\n")
	}
	if err != nil {
		t.Fatalf("k3s template: %v", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct{ SystemdCgroup bool }{false}); err != nil {
		t.Fatalf("k3s template: %v", err)
	}
	got, ok := strings.CutPrefix(out.String(), "# k3s's base\n")
	if !ok {
		t.Fatalf("k3s template does not start with the base template:\n%s", out.String())
	}
	got = strings.ReplaceAll(got, `'io.containerd.cri.v1.runtime'`, `"io.containerd.grpc.v1.cri"`)
	if strings.TrimSpace(got) != strings.TrimSpace(block) {
		t.Fatalf("k3s template adds\n%s\nwant the containerd block\n%s", got, block)
	}

	var rc struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Handler string `yaml:"handler"`
	}
	dec := yaml.NewDecoder(strings.NewReader(readmeBlock(t, "yaml", "kind: RuntimeClass")))
	dec.KnownFields(true)
	if err := dec.Decode(&rc); err != nil {
		t.Fatalf("RuntimeClass: %v", err)
	}
	handler := regexp.MustCompile(`runtimes\.(\w+)\]`).FindStringSubmatch(block)
	if rc.APIVersion != "node.k8s.io/v1" || rc.Kind != "RuntimeClass" || rc.Metadata.Name == "" || handler == nil || rc.Handler != handler[1] {
		t.Fatalf("RuntimeClass %+v; want node.k8s.io/v1 RuntimeClass with handler %v", rc, handler)
	}
}

// TestNomadRawExecRecipe runs the README's Nomad raw_exec task as Nomad
// would: its command's args as given (the image from the test registry, the
// Nomad variables filled in), then its kill_signal; hako passes the signal
// to the container, exits 0 and leaves no container (--rm).
func TestNomadRawExecRecipe(t *testing.T) {
	hcl := readmeBlock(t, "hcl", `driver = "raw_exec"`)
	m := regexp.MustCompile(`(?m)^\s*args\s*=\s*(\[.*\])\s*$`).FindStringSubmatch(hcl)
	sig := regexp.MustCompile(`kill_signal\s*=\s*"(SIG\w+)"`).FindStringSubmatch(hcl)
	if m == nil || sig == nil || sig[1] != "SIGTERM" {
		t.Fatalf("README's Nomad job: no args list or kill_signal SIGTERM:\n%s", hcl)
	}
	var args []string
	if err := json.Unmarshal([]byte(m[1]), &args); err != nil { // an HCL list of strings is JSON
		t.Fatalf("README's Nomad args: %v", err)
	}
	allocID := "0b1c2d3e-" + strconv.Itoa(os.Getpid())
	for i, a := range args {
		a = strings.ReplaceAll(a, "${NOMAD_ALLOC_ID}", allocID)
		if a == "busybox" {
			a = busybox.ref
		}
		if strings.Contains(a, "${") {
			t.Fatalf("README's Nomad args: %q uses a variable this test does not fill in", a)
		}
		args[i] = a
	}
	s := newStore(t)
	s.mustHako(t, "pull", "-q", busybox.ref)
	cmd := s.cmd(args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		t.Logf("first line of the task's output: %q", line)
	case <-time.After(time.Minute):
		t.Fatal("the task printed nothing for a minute")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("hako run after SIGTERM: %v; want exit 0", err)
		}
	case <-time.After(15 * time.Second): // the recipe's kill_timeout
		t.Fatal("hako run did not end within the recipe's kill_timeout after SIGTERM")
	}
	if ps := strings.TrimSpace(s.mustHako(t, "ps", "-a", "--format", "{{.Names}}")); ps != "" {
		t.Fatalf("containers left after the task stopped: %q", ps)
	}
}

// TestRuncSystemdCgroupRefused: where systemd does not run, a create with
// --systemd-cgroup and the slice:prefix:name cgroupsPath the shim passes
// with SystemdCgroup = true is refused before anything is made: a nonzero
// exit, nothing on stdout, and exactly one JSON error line in the --log
// file (the one the shim quotes), in runc's words.
func TestRuncSystemdCgroupRefused(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs on this host: --systemd-cgroup is used, not refused")
	}
	r := newRunc(t)
	id := "hako-e2e-sd-" + strconv.Itoa(os.Getpid())
	bundle := runcBundle(t, r, id, false, "true")
	setCgroupsPath(t, bundle, "system.slice:hako:"+id)

	stdout, stderr, code := r.run(t, "--systemd-cgroup", "create", "--bundle", bundle, id)
	if code == 0 || stdout != "" || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("create --systemd-cgroup: exit %d, stdout %q, stderr %q; want nonzero, nothing, one line", code, stdout, stderr)
	}
	logLines := strings.Split(strings.TrimSpace(readFile(r.log)), "\n")
	var entry struct{ Level, Msg string }
	if len(logLines) != 1 || json.Unmarshal([]byte(logLines[0]), &entry) != nil || entry.Level != "error" ||
		!strings.HasPrefix(entry.Msg, "systemd not running on this host, cannot use systemd cgroups manager") ||
		!strings.Contains(entry.Msg, "SystemdCgroup") {
		t.Fatalf("log: %q; want one JSON error line in runc's words naming SystemdCgroup", logLines)
	}
	if _, _, code := r.run(t, "state", id); code == 0 {
		t.Fatal("a refused create left a container")
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/system.slice/hako-" + id + ".scope"); len(left) > 0 {
		t.Fatalf("a refused create made cgroups: %v", left)
	}

	// The same path without --systemd-cgroup is refused too, instead of
	// becoming a cgroupfs directory named with colons.
	os.Truncate(r.log, 0)
	if _, stderr, code := r.run(t, "create", "--bundle", bundle, id); code == 0 || !strings.Contains(stderr, "needs --systemd-cgroup") {
		t.Fatalf("create with a slice path and no --systemd-cgroup: exit %d, stderr %q", code, stderr)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/*system.slice:hako:*"); len(left) > 0 {
		t.Fatalf("a refused create made cgroups: %v", left)
	}
}

// setCgroupsPath rewrites the bundle's linux.cgroupsPath.
func setCgroupsPath(t *testing.T, bundle, path string) {
	t.Helper()
	p := filepath.Join(bundle, "config.json")
	var spec specs.Spec
	data, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		t.Fatal(err)
	}
	spec.Linux.CgroupsPath = path
	if data, err = json.Marshal(&spec); err == nil {
		err = os.WriteFile(p, data, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}
