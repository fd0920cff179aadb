package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hako-run/hako/cgroups"
)

// TestDebugSteps runs a --rm container with Debugf set and checks that every
// isolation step is reported, in order, with what it set up.
func TestDebugSteps(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("running containers needs root")
	}
	layer := filepath.Join(t.TempDir(), "layer")
	busyboxRootfs(t, layer)
	cg, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	removeNewCgroupParents(t)
	root, runRoot := t.TempDir(), t.TempDir()
	var lines []string
	c, err := Create(Config{
		Root: root, RunRoot: runRoot, Image: "test", ImageID: "sha256:test",
		ImageConfig: ocispec.ImageConfig{Env: []string{"PATH=/bin"}},
		LayerDirs:   []string{layer},
		Options:     SpecOptions{Cmd: []string{"sh", "-c", "exit 0"}},
		Cgroups:     cg,
		Remove:      true,
		Debugf:      func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkGone(t, c, cg, root) })
	if code, err := c.Run(); code != 0 || err != nil {
		t.Fatalf("run: %d, %v", code, err)
	}
	want := []string{
		"container " + c.ID + ": record in ",
		"rootfs: overlay mounted at " + filepath.Join(c.Dir(), "merged") + ": read-only layers (lowerdir, top first): 1: " + layer + ";",
		"network files: ",
		"spec built (",
		"namespaces: new mount, network, uts, pid, ipc",
		"cgroup: " + cg.CgroupsPath(c.ID),
		"capabilities: 14 of this kernel's ",
		"seccomp: Docker's default profile (built in): ",
		"masked paths: 12, ",
		"read-only paths: 5, ",
		"mounts: made in the new mount namespace: /proc (proc), ",
		`process: ["sh" "-c" "exit 0"] as 0:0 in /`,
		"record with spec written (",
		"libcontainer config converted (",
		"seccomp program: ",
		"devices: 6 nodes created in /dev: ",
		"device cgroup rules, in ",
		"libcontainer create: state in " + filepath.Join(runRoot, "libcontainer", c.ID),
		"start +",
		"start +",
		"start +",
		"start +",
		"start: ",
		"wait: exit code 0 (",
		"libcontainer destroy (",
		"cgroup cleanup (",
		"rootfs unmounted (",
		"container directory removed (",
	}
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("debug lines lack %q (in this order); got:\n%s", want[i], strings.Join(lines, "\n"))
	}
	// Every step that does work ends with its duration.
	dur := regexp.MustCompile(`\([0-9.]+(ns|µs|ms|s)\)$`)
	steps := []string{"container ", "rootfs", "network files", "spec built", "record", "libcontainer", "start:", "wait:", "cgroup cleanup"}
	for _, l := range lines {
		for _, p := range steps {
			if strings.HasPrefix(l, p) && !dur.MatchString(l) {
				t.Errorf("step line without a duration: %q", l)
			}
		}
	}
}
