package main

import (
	"strings"
	"testing"
)

func TestSystemdUnit(t *testing.T) {
	g := &globalOptions{root: "/var/lib/hako", runroot: "/run/hako"}
	unit, err := systemdUnit(g, "web", 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\n[Service]\nType=forking\nExecStart=/",
		" --root /var/lib/hako --runroot /run/hako start web\n",
		" --root /var/lib/hako --runroot /run/hako stop -t 7 web\n",
		"TimeoutStopSec=67\n",
		"RequiresMountsFor=/var/lib/hako /run/hako\n",
		"[Install]\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	// A path a unit would have to quote is refused, not written broken.
	g.root = "/var/lib/my hako"
	if _, err := systemdUnit(g, "web", 10); err == nil || !strings.Contains(err.Error(), "quoted") {
		t.Errorf("root with a space: %v", err)
	}
}
