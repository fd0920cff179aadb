package main

import "testing"

// TestNetworkAliasesRefuseHostsSyntax: an alias goes into the other
// members' /etc/hosts as one word, so a newline, blank, '#' or other
// control character (which would add a hosts line of the caller's choice,
// e.g. "x\n10.0.0.9 registry.example", or cut the line) is refused, for
// run --network-alias as for network connect --alias.
func TestNetworkAliasesRefuseHostsSyntax(t *testing.T) {
	for _, a := range []string{"x\n10.0.0.9 registry.example", "a b", "a\tb", "a#b", "a\rb", "a\x00b", "", "a\vb"} {
		if err := networkAliases(runOptions{network: "mynet", networkAliases: []string{"ok", a}}); err == nil {
			t.Errorf("run --network-alias %q: no error", a)
		}
		if err := checkAliases([]string{a}); err == nil {
			t.Errorf("connect --alias %q: no error", a)
		}
	}
	for _, a := range []string{"web", "db.internal", "my-svc_1"} {
		if err := networkAliases(runOptions{network: "mynet", networkAliases: []string{a}}); err != nil {
			t.Errorf("run --network-alias %q: %v", a, err)
		}
	}
}
