package main

import (
	"testing"
	"time"

	"github.com/hako-run/hako/runtime"
)

func TestStatusLine(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		s    runtime.State
		want string
	}{
		{runtime.State{Status: "running", Running: true, StartedAt: now.Add(-3 * time.Second)}, "Up 3 seconds"},
		{runtime.State{Status: "exited", ExitCode: 0, FinishedAt: now.Add(-5 * time.Second)}, "Exited (0) 5 seconds ago"},
		{runtime.State{Status: "exited", ExitCode: 137, FinishedAt: now.Add(-2 * time.Hour)}, "Exited (137) 2 hours ago"},
		{runtime.State{Status: "created"}, "Created"},
		{runtime.State{Status: "restarting", Running: true, Restarting: true, ExitCode: 1, FinishedAt: now.Add(-2 * time.Second)}, "Restarting (1) 2 seconds ago"},
	} {
		if got := statusLine(tc.s, now); got != tc.want {
			t.Errorf("statusLine(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestPsFilters(t *testing.T) {
	c := &runtime.Info{
		Record: runtime.Record{ID: "abcdef0123", Name: "web-1", Image: "busybox", ImageID: "sha256:feed0123",
			Labels: map[string]string{"tier": "front", "flag": ""}},
		State: runtime.State{Status: "exited", ExitCode: 3},
	}
	for _, tc := range []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"name=web"}, true},
		{[]string{"name=db"}, false},
		{[]string{"name=db", "name=web"}, true}, // one key: ORed
		{[]string{"name=web", "status=running"}, false},
		{[]string{"status=exited", "exited=3"}, true},
		{[]string{"exited=0"}, false},
		{[]string{"ancestor=docker.io/library/busybox:latest"}, true},
		{[]string{"ancestor=feed"}, true},
		{[]string{"ancestor=alpine"}, false},
		{[]string{"label=tier"}, true},
		{[]string{"label=tier=front"}, true},
		{[]string{"label=tier=back"}, false},
		{[]string{"id=abc"}, true},
	} {
		f, err := parsePsFilters(tc.filters)
		if err != nil {
			t.Fatalf("%q: %v", tc.filters, err)
		}
		if got := f.match(c); got != tc.want {
			t.Errorf("%q matched %v, want %v", tc.filters, got, tc.want)
		}
	}
	for _, bad := range []string{"name", "bogus=1", "status=exit", "exited=x"} {
		if _, err := parsePsFilters([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
