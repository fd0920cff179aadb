package runtime

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string]string{
		"": "\x10\x11", "ctrl-p,ctrl-q": "\x10\x11", "ctrl-x": "\x18", "a,ctrl-@,ctrl-_": "a\x00\x1f",
	} {
		got, err := ParseDetachKeys(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseDetachKeys(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ctrl-", "ctrl-P", "ctrl-1", "ab", "ctrl-p,"} {
		if _, err := ParseDetachKeys(bad); err == nil {
			t.Errorf("ParseDetachKeys(%q): no error", bad)
		}
	}
}

// relayInput passes everything but a complete detach sequence; a broken
// prefix goes on as typed.
func TestRelayInput(t *testing.T) {
	keys := []byte("\x10\x11")
	for _, c := range []struct {
		in, sent string
		detach   bool
	}{
		{"ls\n", "ls\n", false},
		{"ab\x10\x11cd", "ab", true},
		{"\x10x\x10\x10\x11", "\x10x\x10", true},
		{"x\x10", "x", false}, // held at the end of input: never completed
	} {
		var sent bytes.Buffer
		detach := relayInput(strings.NewReader(c.in), keys, func(p []byte) error { sent.Write(p); return nil })
		if detach != c.detach || sent.String() != c.sent {
			t.Errorf("relayInput(%q) sent %q detach %v; want %q %v", c.in, sent.String(), detach, c.sent, c.detach)
		}
	}
}
