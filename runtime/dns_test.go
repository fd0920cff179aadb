package runtime

import "testing"

func TestParseAddHost(t *testing.T) {
	good := map[string]ExtraHost{
		"db:10.1.2.3":      {"db", "10.1.2.3"},
		"db=10.1.2.3":      {"db", "10.1.2.3"},
		"v6:2001:db8::1":   {"v6", "2001:db8::1"},
		"v6=[2001:db8::1]": {"v6", "2001:db8::1"},
		"gw:host-gateway":  {"gw", "host-gateway"},
	}
	for in, want := range good {
		if got, err := ParseAddHost(in); err != nil || got != want {
			t.Errorf("ParseAddHost(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "db", ":1.2.3.4", "db:", "db:notanip"} {
		if _, err := ParseAddHost(in); err == nil {
			t.Errorf("ParseAddHost(%q) succeeded", in)
		}
	}
}

func TestInsertHosts(t *testing.T) {
	base := []byte(defaultHosts + "10.89.0.5\tweb\n")
	got := string(insertHosts(base, []byte("10.1.2.3\tdb\n"), true))
	if want := defaultHosts + "10.1.2.3\tdb\n10.89.0.5\tweb\n"; got != want {
		t.Errorf("with its own line last: %q, want %q", got, want)
	}
	got = string(insertHosts([]byte(defaultHosts), []byte("10.1.2.3\tdb\n"), false))
	if want := defaultHosts + "10.1.2.3\tdb\n"; got != want {
		t.Errorf("without: %q, want %q", got, want)
	}
}
