package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 12).

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
)

func testEarlyContainer(t *testing.T) (*Container, parentProcess) {
	t.Helper()
	cg := &cgroups.Cgroup{Name: "hako-test-early-state", Parent: "hako-test", Resources: &cgroups.Resources{}}
	m, err := manager.New(cg)
	if err != nil {
		t.Skipf("no cgroup manager: %v", err)
	}
	c := &Container{
		id:       "early-state",
		stateDir: t.TempDir(),
		config: &configs.Config{
			Rootfs:     "/",
			Cgroups:    cg,
			Namespaces: configs.Namespaces{{Type: configs.NEWNS}, {Type: configs.NEWPID}},
		},
		cgroupManager: m,
	}
	c.state = &stoppedState{c: c}
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p := &initProcess{containerProcess: containerProcess{
		cmd: &exec.Cmd{Process: self},
		fds: []string{"/dev/null", "pipe:[1]", "pipe:[2]"},
	}}
	return c, p
}

// The state committed is byte for byte what upstream's updateState(p)
// writes at procReady, with the creation time of the commit, and nothing
// named state.json exists before it.
func TestEarlyStateIsUpstreamsState(t *testing.T) {
	c, p := testEarlyContainer(t)
	e, err := c.prepareState(p)
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(c.stateDir, stateFilename)
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Fatalf("state.json exists before commit: %v", err)
	}
	if c.initProcess != nil || !c.created.IsZero() {
		t.Fatal("prepareState changed the container")
	}
	st, err := e.commit(c, p)
	if err != nil {
		t.Fatal(err)
	}
	e.discard() // a no-op after commit
	got, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if c.initProcess != p || c.created.IsZero() || !st.Created.Equal(c.created) {
		t.Fatalf("commit: init %v, created %v, state's %v", c.initProcess, c.created, st.Created)
	}
	want, err := json.Marshal(c.currentState()) // what saveState writes
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("state.json differs from upstream's:\n got %s\nwant %s", got, want)
	}
	if st.InitProcessPid != os.Getpid() || st.InitProcessStartTime == 0 || st.NamespacePaths[configs.NEWPID] == "" {
		t.Fatalf("state lacks the init: %+v", st.BaseState)
	}
	ents, _ := os.ReadDir(c.stateDir)
	if len(ents) != 1 {
		t.Fatalf("state dir holds %d entries, want state.json alone", len(ents))
	}
	l, err := Load(filepath.Dir(c.stateDir), filepath.Base(c.stateDir))
	if err != nil {
		t.Fatalf("Load of the committed state: %v", err)
	}
	if !l.created.Equal(c.created) {
		t.Fatalf("loaded creation time %v, want %v", l.created, c.created)
	}
}

// A start that fails before procReady leaves neither state.json nor the
// temporary file.
func TestEarlyStateDiscard(t *testing.T) {
	c, p := testEarlyContainer(t)
	e, err := c.prepareState(p)
	if err != nil {
		t.Fatal(err)
	}
	e.discard()
	ents, _ := os.ReadDir(c.stateDir)
	if len(ents) != 0 {
		t.Fatalf("state dir holds %v after discard", ents)
	}
}

// writeAll (patch 14) writes its pieces in order, empty ones included.
func TestEarlyStateWriteAll(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "w")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	big := bytes.Repeat([]byte("x"), 100000)
	if err := writeAll(f, []byte("a"), nil, []byte("bc"), big, []byte{}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.Name())
	if want := append([]byte("abc"), big...); !bytes.Equal(got, want) {
		t.Fatalf("wrote %d bytes, want %d", len(got), len(want))
	}
}
