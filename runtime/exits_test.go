package runtime

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSweepExits: codes older than exitsKeep go, newer ones stay, and a
// sweep less than exitsSweepEvery after the last one does nothing.
func TestSweepExits(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	file := func(name string, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	old, fresh := file("old", exitsKeep+time.Minute), file("fresh", time.Minute)
	sweepExits(dir, now)
	if exists(old) || !exists(fresh) {
		t.Fatalf("first sweep: old there %v, fresh there %v; want false, true", exists(old), exists(fresh))
	}
	old2 := file("old2", exitsKeep+time.Minute)
	sweepExits(dir, now.Add(exitsSweepEvery/2))
	if !exists(old2) {
		t.Error("a sweep within exitsSweepEvery of the last one removed a code")
	}
	sweepExits(dir, now.Add(exitsSweepEvery+time.Second))
	if exists(old2) || !exists(fresh) {
		t.Errorf("sweep after exitsSweepEvery: old2 there %v, fresh there %v; want false, true", exists(old2), exists(fresh))
	}
	if !exists(filepath.Join(dir, exitsSwept)) {
		t.Error("the sweep marker was removed")
	}
}

// TestRecordRemovedExit: the code written is the one removedExit reads.
func TestRecordRemovedExit(t *testing.T) {
	runRoot := t.TempDir()
	want := Status{State: "exited", ExitCode: 3, FinishedAt: time.Now().UTC().Truncate(time.Second)}
	if err := recordRemovedExit(runRoot, "abc", want); err != nil {
		t.Fatal(err)
	}
	got, ok := removedExit(runRoot, "abc")
	if !ok || got.ExitCode != want.ExitCode || got.State != want.State || !got.FinishedAt.Equal(want.FinishedAt) {
		t.Errorf("removedExit = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := removedExit(runRoot, "nosuch"); ok {
		t.Error("removedExit found a code never written")
	}
}

// TestRemovedExitCode: only a full, lower-case hex ID is looked up, so a
// prefix or a path never reads another file of RUNROOT.
func TestRemovedExitCode(t *testing.T) {
	runRoot := t.TempDir()
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if err := recordRemovedExit(runRoot, id, Status{State: "exited", ExitCode: 42}); err != nil {
		t.Fatal(err)
	}
	if code, ok := RemovedExitCode(runRoot, id); !ok || code != 42 {
		t.Errorf("full ID: %d, %v; want 42, true", code, ok)
	}
	os.WriteFile(filepath.Join(exitsDir(runRoot), "short"), []byte(`{"ExitCode":1}`), 0o600)
	for _, ref := range []string{id[:12], "short", "../exits/" + id, "", id + "0"} {
		if code, ok := RemovedExitCode(runRoot, ref); ok {
			t.Errorf("%q: found code %d; want not looked up", ref, code)
		}
	}
}
