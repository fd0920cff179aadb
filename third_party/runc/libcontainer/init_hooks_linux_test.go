package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 7).

import (
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestHooksBeforePivot(t *testing.T) {
	fn := configs.NewFunctionHook(func(*specs.State) error { return nil })
	cmd := configs.NewCommandHook(&configs.Command{Path: "/bin/true"})
	for _, tc := range []struct {
		name  string
		hooks configs.Hooks
		want  bool
	}{
		{"none", nil, false},
		{"empty", configs.Hooks{}, false},
		{"prestart", configs.Hooks{configs.Prestart: {cmd}}, true},
		{"createRuntime function hook", configs.Hooks{configs.CreateRuntime: {fn}}, true},
		{"createContainer", configs.Hooks{configs.CreateContainer: {cmd}}, true},
		{"startContainer and poststart only", configs.Hooks{configs.StartContainer: {cmd}, configs.Poststart: {fn}}, false},
	} {
		if got := hooksBeforePivot(&configs.Config{Hooks: tc.hooks}); got != tc.want {
			t.Errorf("%s: hooksBeforePivot = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// parentSide reads procHooks from the parent's end, then lets go of
// procHooksDone when release is closed.
func parentSide(t *testing.T, parent *syncSocket, release <-chan struct{}) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		if err := readSync(parent, procHooks); err != nil {
			done <- err
			return
		}
		<-release
		done <- writeSync(parent, procHooksDone)
	}()
	return done
}

func TestSyncParentHooksStartLate(t *testing.T) {
	parent, child, err := newSyncSockpair("hooks")
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	release := make(chan struct{})
	sent := parentSide(t, parent, release)

	// Late: procHooks goes out and the init goes on without an answer.
	wait, err := syncParentHooksStart(child, true)
	if err != nil {
		t.Fatal(err)
	}
	if wait == nil {
		t.Fatal("late: no wait function")
	}
	waited := make(chan error, 1)
	go func() { waited <- wait() }()
	select {
	case err := <-waited:
		t.Fatalf("wait returned before procHooksDone was sent: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("wait: %v", err)
	}
}

func TestSyncParentHooksStartWaits(t *testing.T) {
	parent, child, err := newSyncSockpair("hooks")
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	release := make(chan struct{})
	sent := parentSide(t, parent, release)

	// Not late: upstream's syncParentHooks, which returns only after
	// procHooksDone.
	type result struct {
		wait func() error
		err  error
	}
	returned := make(chan result, 1)
	go func() {
		w, err := syncParentHooksStart(child, false)
		returned <- result{w, err}
	}()
	select {
	case r := <-returned:
		t.Fatalf("returned before procHooksDone was sent: %v", r.err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	r := <-returned
	if r.err != nil || r.wait != nil {
		t.Fatalf("got wait %v, err %v; want nil, nil", r.wait != nil, r.err)
	}
}

// A failed parent (the socket closed before procHooksDone) is an error for
// the late wait as for the immediate one.
func TestSyncParentHooksStartLateParentGone(t *testing.T) {
	parent, child, err := newSyncSockpair("hooks")
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	wait, err := syncParentHooksStart(child, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := readSync(parent, procHooks); err != nil {
		t.Fatal(err)
	}
	parent.Close()
	if err := wait(); err == nil {
		t.Fatal("wait succeeded with the parent gone")
	}
}

func TestFinishHooksRunsOnce(t *testing.T) {
	var c initConfig
	if err := c.finishHooks(); err != nil {
		t.Fatalf("nothing left to do: %v", err)
	}
	if afterLateHooks(nil, true) != nil {
		t.Fatal("without a late wait there is nothing to do after it")
	}
	calls := 0
	c.afterHooks = afterLateHooks(func() error { calls++; return nil }, false)
	for range 3 {
		if err := c.finishHooks(); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("wait ran %d times, want 1", calls)
	}

	// The parent's failure ends the init's setup.
	c.afterHooks = afterLateHooks(func() error { return errors.New("parent gone") }, true)
	if err := c.finishHooks(); err == nil || err.Error() != "parent gone" {
		t.Fatalf("got %v, want the wait's error", err)
	}
}
