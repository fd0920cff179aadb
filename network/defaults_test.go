package network

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigDefaults: "bridge" and "firewall" are read and checked.
func TestConfigDefaults(t *testing.T) {
	for body, want := range map[string]string{
		`{}`:                       "bridge ",
		`{"bridge": "none"}`:       "none ",
		`{"bridge": "hako0"}`:      "bridge ",
		`{"firewall": "iptables"}`: "bridge iptables",
		`{"firewall": "nftables"}`: "bridge nftables",
		`{"bridge": "docker0"}`:    `error: invalid "bridge" "docker0"`,
		`{"firewall": "ufw"}`:      `error: invalid "firewall" "ufw"`,
		`{"bridge-subnet": "10.1.0.0/16", "bridge": "none"}`: "none ",
	} {
		p := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("HAKO_CONFIG", p)
		cfg, err := LoadConfig(p)
		mode, merr := DefaultMode()
		got := mode + " " + cfg.Firewall
		if err != nil || merr != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(strings.TrimPrefix(got, "error: "+p+": "), strings.TrimPrefix(want, "error: ")) ||
			strings.HasPrefix(want, "error") != strings.HasPrefix(got, "error") {
			t.Errorf("%s: got %q, want %q", body, got, want)
		}
	}
}
