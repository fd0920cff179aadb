package main

import (
	"testing"
	"time"
)

func TestPruneFilter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"1700000000":           time.Unix(1700000000, 0),
		"2025-05-06T07:08:09Z": time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC),
		"2025-05-06":           time.Date(2025, 5, 6, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := parseUntil(v, now); err != nil || !got.Equal(want) {
			t.Errorf("parseUntil(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	if _, err := parseUntil("yesterday", now); err == nil {
		t.Errorf("parseUntil(yesterday) took it")
	}
	f, err := parsePruneFilters([]string{"until=2025-01-01", "label=a", "label!=b=1"})
	if err != nil {
		t.Fatal(err)
	}
	old, recent := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		created time.Time
		labels  map[string]string
		want    bool
	}{
		{old, map[string]string{"a": "x"}, true},
		{recent, map[string]string{"a": "x"}, false},
		{old, nil, false},
		{old, map[string]string{"a": "", "b": "1"}, false},
		{old, map[string]string{"a": "", "b": "2"}, true},
	} {
		if got := f.match(c.created, c.labels); got != c.want {
			t.Errorf("match(%v, %v) = %v, want %v", c.created, c.labels, got, c.want)
		}
	}
}
