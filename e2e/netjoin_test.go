package e2e

import (
	"strings"
	"testing"
)

// TestNetworkContainer: --network container:NAME joins another container's
// network namespace (a sidecar reaches its server on 127.0.0.1), takes its
// hostname and hosts file, and follows it after both are started again.
func TestNetworkContainer(t *testing.T) {
	s := runStore(t)
	out, errOut, code := s.hako(t, "run", "-d", "--name", "srv", "-h", "srvhost", busybox.ref,
		"sh", "-c", "while true; do echo hello-from-srv | nc -l -p 7000; done")
	if code != 0 {
		t.Fatalf("run -d srv: exit %d: %s", code, errOut)
	}
	srv := strings.TrimSpace(out)
	t.Cleanup(func() { s.hako(t, "rm", "-f", "side", srv) })
	srvNS := strings.TrimSpace(s.mustHako(t, "exec", "srv", "readlink", "/proc/self/ns/net"))
	dial := "for i in $(seq 50); do nc 127.0.0.1 7000 </dev/null && break; sleep 0.1; done"
	out, errOut, code = s.hako(t, "run", "--rm", "--network", "container:srv", busybox.ref, "sh", "-c",
		"hostname; readlink /proc/self/ns/net; tail -1 /etc/hosts; "+dial)
	if want := "srvhost\n" + srvNS + "\n"; code != 0 || !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "hello-from-srv\n") {
		t.Errorf("joined run: exit %d, %q, want %q… hello-from-srv; stderr %s", code, out, want, errOut)
	}
	out, errOut, code = s.hako(t, "run", "-d", "--name", "side", "--network", "container:srv", busybox.ref, "sleep", "300")
	if code != 0 {
		t.Fatalf("run -d side: exit %d: %s", code, errOut)
	}
	if mode := strings.TrimSpace(s.mustHako(t, "inspect", "--format", "{{.HostConfig.NetworkMode}}", "side")); mode != "container:"+srv {
		t.Errorf("NetworkMode = %q, want container:%s", mode, srv)
	}
	// Both stopped and started again: side follows srv's new namespace.
	s.mustHako(t, "stop", "-t", "0", "side", "srv")
	if _, errOut, code := s.hako(t, "run", "--rm", "--network", "container:srv", busybox.ref, "true"); code != 125 || !strings.Contains(errOut, "non running container") {
		t.Errorf("joining a stopped container: exit %d, %q", code, errOut)
	}
	s.mustHako(t, "start", "srv")
	s.mustHako(t, "start", "side")
	newNS := strings.TrimSpace(s.mustHako(t, "exec", "srv", "readlink", "/proc/self/ns/net"))
	if got := strings.TrimSpace(s.mustHako(t, "exec", "side", "readlink", "/proc/self/ns/net")); got != newNS || newNS == srvNS {
		t.Errorf("after start: side in %s, srv in %s (before %s)", got, newNS, srvNS)
	}
	if out, errOut, code := s.hako(t, "exec", "side", "sh", "-c", dial); code != 0 || out != "hello-from-srv\n" {
		t.Errorf("side after start: exit %d, %q, %s", code, out, errOut)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"--network", "container:nosuchcontainer"}},
		{[]string{"--network", "container:srv", "-p", "80"}},
		{[]string{"--network", "container:srv", "-h", "other"}},
		{[]string{"--network", "container:srv", "--add-host", "a:1.2.3.4"}},
	} {
		if _, errOut, code := s.hako(t, append(append([]string{"run", "--rm"}, c.args...), busybox.ref, "true")...); code != 125 {
			t.Errorf("run %v: exit %d (%s), want 125", c.args, code, errOut)
		}
	}
}
