package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/internal/atomicfile"
)

func TestCurrentMonitor(t *testing.T) {
	m, err := CurrentMonitor()
	if err != nil {
		t.Fatal(err)
	}
	if m.PID != os.Getpid() || m.StartTime == 0 || !m.Alive() {
		t.Fatalf("monitor %+v: want this process, alive", m)
	}
	if (Monitor{PID: m.PID, StartTime: m.StartTime + 1}).Alive() {
		t.Error("a different start time counts as alive: pid reuse is not detected")
	}
	if (Monitor{PID: deadPID(t), StartTime: m.StartTime}).Alive() {
		t.Error("an exited process counts as alive")
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// fakeContainer writes a container directory as a monitor leaves it.
func fakeContainer(t *testing.T, root, id string, rec *Record, m *Monitor, status bool) string {
	t.Helper()
	dir := filepath.Join(containersDir(root), id)
	if err := os.MkdirAll(filepath.Join(dir, mergedDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		rec.ID = id
		if err := writeJSON(filepath.Join(dir, recordFile), rec); err != nil {
			t.Fatal(err)
		}
	}
	if m != nil {
		if err := writeJSON(filepath.Join(dir, monitorFile), m); err != nil {
			t.Fatal(err)
		}
	}
	if status {
		if err := writeJSON(filepath.Join(dir, statusFile), Status{State: "exited", ExitCode: 3}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readStatus(t *testing.T, dir string) (Status, bool) {
	t.Helper()
	var st Status
	b, err := os.ReadFile(filepath.Join(dir, statusFile))
	if os.IsNotExist(err) {
		return st, false
	}
	if err != nil || json.Unmarshal(b, &st) != nil {
		t.Fatalf("reading status: %v %s", err, b)
	}
	return st, true
}

// TestRepairRecords checks which records Repair treats as orphans and what
// it does to each. No container runs: only the on-disk side is exercised
// here (e2e/repair_test.go kills a real monitor).
func TestRepairRecords(t *testing.T) {
	cg, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	root, runRoot := t.TempDir(), t.TempDir()
	self, err := CurrentMonitor()
	if err != nil {
		t.Fatal(err)
	}
	dead := &Monitor{PID: deadPID(t), StartTime: 1}
	id := func(n int) string { return fmt.Sprintf("%064x", n) }

	keep := fakeContainer(t, root, id(1), &Record{Name: "keep"}, dead, false)
	rm := fakeContainer(t, root, id(2), &Record{Name: "rm", Remove: true}, dead, false)
	locked := fakeContainer(t, root, id(3), &Record{Name: "locked"}, dead, false)
	finished := fakeContainer(t, root, id(4), &Record{Name: "finished"}, dead, true)
	alive := fakeContainer(t, root, id(5), &Record{Name: "alive"}, &self, false)
	norecord := fakeContainer(t, root, id(6), nil, nil, false)
	abandoned := filepath.Join(containersDir(root), fmt.Sprintf("%s%d-1-x", atomicfile.TmpPrefix, dead.PID))
	live := filepath.Join(containersDir(root), fmt.Sprintf("%s%d-1-x", atomicfile.TmpPrefix, os.Getpid()))
	for _, d := range []string{abandoned, live} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Another open file description holds this one's lock, as its monitor would.
	unlock, err := atomicfile.Lock(filepath.Join(locked, lockFile), true)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	if err := Repair(root, runRoot, cg); err != nil {
		t.Fatal(err)
	}
	if st, ok := readStatus(t, keep); !ok || st.State != "exited" || st.ExitCode != 137 || st.FinishedAt.IsZero() {
		t.Errorf("orphan without --rm: status %+v (%v), want exited 137", st, ok)
	}
	for what, d := range map[string]string{"--rm orphan": rm, "orphan without a record": norecord, "abandoned removal": abandoned} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want removed", what, err)
		}
	}
	for what, d := range map[string]string{"locked": locked, "alive monitor": alive} {
		if _, ok := readStatus(t, d); ok {
			t.Errorf("%s container was repaired", what)
		}
	}
	if st, _ := readStatus(t, finished); st.ExitCode != 3 {
		t.Errorf("finished container's status rewritten: %+v", st)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live process's removal was touched: %v", err)
	}
	ents, _ := os.ReadDir(containersDir(root))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TmpPrefix) && filepath.Join(containersDir(root), e.Name()) != live {
			t.Errorf("temporary entry left: %s", e.Name())
		}
	}

	// Once its lock is free the last one is repaired, exactly once.
	unlock()
	if err := Repair(root, runRoot, cg); err != nil {
		t.Fatal(err)
	}
	st, ok := readStatus(t, locked)
	if !ok || st.ExitCode != 137 {
		t.Errorf("after unlock: status %+v (%v), want 137", st, ok)
	}
	if err := Repair(root, runRoot, cg); err != nil {
		t.Fatal(err)
	}
	if again, _ := readStatus(t, locked); !again.FinishedAt.Equal(st.FinishedAt) {
		t.Errorf("a second repair rewrote the status: %+v, was %+v", again, st)
	}
}

func TestRepairNoContainers(t *testing.T) {
	cg, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	if err := Repair(t.TempDir(), t.TempDir(), cg); err != nil {
		t.Errorf("repair of an empty root: %v", err)
	}
	if err := Repair(t.TempDir(), t.TempDir(), nil); err == nil {
		t.Error("repair without a cgroup host: no error")
	}
}

// TestCreateLocksContainer: Create records this process as the monitor and
// holds the container's lock until the container is torn down.
func TestCreateLocksContainer(t *testing.T) {
	c := newTestContainer(t, false, &bytes.Buffer{}, "true")
	m, err := ReadMonitor(c.Dir())
	if err != nil || m.PID != os.Getpid() || !m.Alive() {
		t.Fatalf("monitor %+v (%v), want this process", m, err)
	}
	if unlock, ok, err := tryLock(filepath.Join(c.Dir(), lockFile)); err != nil || ok {
		if ok {
			unlock()
		}
		t.Fatalf("container lock free while created (%v)", err)
	}
	if c.Name == "" || !ValidName(c.Name) {
		t.Errorf("generated name %q", c.Name)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
}
