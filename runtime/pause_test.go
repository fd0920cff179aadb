package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFrozenAt: the paused state as read on cgroup v1 (and hybrid hosts,
// where the v1 freezer decides) and on v2.
func TestFrozenAt(t *testing.T) {
	put := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, procCgroup, file, state string
		want                          bool
	}{
		{"v1 frozen", "6:freezer:/hako/c1\n4:memory:/hako/c1\n0::/\n", "freezer/hako/c1/freezer.state", "FROZEN\n", true},
		{"v1 freezing", "6:freezer:/hako/c1\n", "freezer/hako/c1/freezer.state", "FREEZING\n", true},
		{"v1 thawed", "6:freezer:/hako/c1\n0::/\n", "freezer/hako/c1/freezer.state", "THAWED\n", false},
		{"hybrid: v1 freezer decides", "0::/hako/c1\n6:freezer:/hako/c1\n", "freezer/hako/c1/freezer.state", "THAWED\n", false},
		{"v2 frozen", "0::/hako/c1\n", "hako/c1/cgroup.freeze", "1\n", true},
		{"v2 thawed", "0::/hako/c1\n", "hako/c1/cgroup.freeze", "0\n", false},
		{"a v1 freezer line, v2 mounted: v2 decides", "6:freezer:/user\n0::/hako/c1\n", "hako/c1/cgroup.freeze", "1\n", true},
		{"v2 no freezer file", "0::/hako/c1\n", "hako/c1/other", "1\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			put(filepath.Join(dir, "proc-cgroup"), c.procCgroup)
			put(filepath.Join(dir, "sys", c.file), c.state)
			if got := frozenAt(filepath.Join(dir, "proc-cgroup"), filepath.Join(dir, "sys")); got != c.want {
				t.Errorf("frozen = %v, want %v", got, c.want)
			}
		})
	}
	if frozenAt("/nonexistent", "/sys/fs/cgroup") {
		t.Errorf("a process that is gone is frozen")
	}
}
