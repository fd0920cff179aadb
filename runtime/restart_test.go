package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestParseRestartPolicy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want RestartPolicy
		err  string
	}{
		{"", RestartPolicy{Name: "no"}, ""},
		{"no", RestartPolicy{Name: "no"}, ""},
		{"always", RestartPolicy{Name: "always"}, ""},
		{"unless-stopped", RestartPolicy{Name: "unless-stopped"}, ""},
		{"on-failure", RestartPolicy{Name: "on-failure"}, ""},
		{"on-failure:5", RestartPolicy{Name: "on-failure", MaximumRetryCount: 5}, ""},
		{"on-failure:-1", RestartPolicy{}, "cannot be negative"},
		{"always:1", RestartPolicy{}, "can only be used with 'on-failure'"},
		{"no:-1", RestartPolicy{}, "can only be used with 'on-failure' and cannot be negative"},
		{":3", RestartPolicy{}, "no policy provided before colon"},
		{"on-failure:x", RestartPolicy{}, "must be an integer"},
		{"sometimes", RestartPolicy{}, "unknown policy 'sometimes'"},
	} {
		got, err := ParseRestartPolicy(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want an error with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	onFailure2 := &RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}
	for _, c := range []struct {
		p       *RestartPolicy
		code    int
		stopped bool
		count   int
		want    bool
	}{
		{nil, 1, false, 0, false},
		{&RestartPolicy{Name: "no"}, 1, false, 0, false},
		{&RestartPolicy{Name: "always"}, 0, false, 9, true},
		{&RestartPolicy{Name: "always"}, 0, true, 0, true}, // boot: always comes back
		{&RestartPolicy{Name: "unless-stopped"}, 0, false, 0, true},
		{&RestartPolicy{Name: "unless-stopped"}, 1, true, 0, false},
		{&RestartPolicy{Name: "on-failure"}, 0, false, 0, false},
		{&RestartPolicy{Name: "on-failure"}, 1, false, 100, true},
		{onFailure2, 1, false, 1, true},
		{onFailure2, 1, false, 2, false},
	} {
		if got := c.p.ShouldRestart(c.code, c.stopped, c.count); got != c.want {
			t.Errorf("%+v code %d stopped %v count %d: %v", c.p, c.code, c.stopped, c.count, got)
		}
	}
}

func TestNextBackoff(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for i := 0; i < 12; i++ {
		d = NextBackoff(d, time.Second)
		got = append(got, d)
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("back-offs %v", got)
		}
	}
	if d := NextBackoff(time.Minute, 10*time.Second); d != 100*time.Millisecond {
		t.Errorf("after 10 s of running: %v, want 100ms", d)
	}
}
