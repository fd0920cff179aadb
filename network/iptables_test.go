package network

import (
	"slices"
	"testing"
)

func TestSplitRule(t *testing.T) {
	for line, want := range map[string][]string{
		`-A HAKO-PORTS -p tcp -m tcp --dport 80 -m comment --comment "hako:abc" -j DNAT --to-destination 10.89.0.2:80`: {"-A", "HAKO-PORTS", "-p", "tcp", "-m", "tcp", "--dport", "80", "-m", "comment", "--comment", "hako:abc", "-j", "DNAT", "--to-destination", "10.89.0.2:80"},
		`-A HAKO-POSTROUTING -s 10.89.0.0/24 ! -o hako0 -m comment --comment "hako:subnet 10.89.0.0/24" -j MASQUERADE`: {"-A", "HAKO-POSTROUTING", "-s", "10.89.0.0/24", "!", "-o", "hako0", "-m", "comment", "--comment", "hako:subnet 10.89.0.0/24", "-j", "MASQUERADE"},
		`-A X -m comment --comment "name: \"podman\" id: \"44e8\"" -j ACCEPT`:                                          {"-A", "X", "-m", "comment", "--comment", `name: "podman" id: "44e8"`, "-j", "ACCEPT"},
		`-A HAKO-PORTS -m comment --comment hako:abc -j RETURN`:                                                        {"-A", "HAKO-PORTS", "-m", "comment", "--comment", "hako:abc", "-j", "RETURN"},
	} {
		got := splitRule(line)
		if !slices.Equal(got, want) {
			t.Errorf("splitRule(%s) = %q, want %q", line, got, want)
		}
		if c := comment(got); c != want[slices.Index(want, "--comment")+1] {
			t.Errorf("comment(%s) = %q", line, c)
		}
	}
}
