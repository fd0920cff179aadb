package termscreen

import (
	"slices"
	"testing"
)

func TestScreen(t *testing.T) {
	cases := []struct {
		name, out string
		want      []string
	}{
		{"plain lines", "a\nb\n", []string{"a", "b"}},
		{"redraw two lines", "x 10%\ny 0%\n\x1b[2A\x1b[Jx 100%\ny 50%\n", []string{"x 100%", "y 50%"}},
		{"shorter redraw erases the rest", "long line\n\x1b[1A\x1b[Jshort\n", []string{"short"}},
		{"carriage return overwrites", "abcdef\rXY\n", []string{"XYcdef"}},
		{"erase line", "abc\x1b[2K\rd\n", []string{"d"}},
		{"other sequences dropped", "\x1b[?25la\x1b[1mb\x1b[0m\n", []string{"ab"}},
		{"text after the bars stays", "bar\n\x1b[1A\x1b[Jbar done\nStatus: ok\n", []string{"bar done", "Status: ok"}},
	}
	for _, c := range cases {
		if got := Screen(c.out); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
