package main

import (
	"slices"
	"strings"
	"testing"
)

// TestTopCommandNames: each entry of topCommands builds the command it is
// named after, with no aliases (commandWord matches names only), and the
// whole tree holds exactly these commands.
func TestTopCommandNames(t *testing.T) {
	var g globalOptions
	for _, c := range topCommands {
		cmd := c.build(&g)
		if cmd.Name() != c.name {
			t.Errorf("topCommands entry %q builds %q", c.name, cmd.Name())
		}
		if len(cmd.Aliases) != 0 {
			t.Errorf("%q has aliases %q: commandWord would not find it by them", c.name, cmd.Aliases)
		}
	}
	root := newRootCommand(&g, "")
	var names []string
	for _, c := range root.Commands() {
		names = append(names, c.Name())
	}
	if len(names) != len(topCommands) {
		t.Errorf("root has %d commands, topCommands %d", len(names), len(topCommands))
	}
	for _, c := range topCommands {
		if !slices.Contains(names, c.name) {
			t.Errorf("root lacks %q", c.name)
		}
	}
}

func TestCommandWord(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"version"}, "version"},
		{[]string{"--debug", "run", "--rm", "busybox", "true"}, "run"},
		{[]string{"--root", "/x", "--runroot=/y", "ps", "-a"}, "ps"},
		{[]string{"--storage-driver", "vfs", "images"}, "images"},
		{[]string{"run", "busybox", "sh", "--help"}, ""},
		{[]string{"-h", "run"}, ""},
		{[]string{"help", "run"}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"__complete", "ru"}, ""},
		{[]string{"foo"}, ""},
		{[]string{"--", "version"}, ""},
		{[]string{"--root"}, ""},
	} {
		if got := commandWord(tc.args); got != tc.want {
			t.Errorf("commandWord(%q) = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

// TestOneCommandTree: for a command the arguments name, run builds only
// that command; its output is the same as with the whole tree.
func TestOneCommandTree(t *testing.T) {
	var g globalOptions
	root := newRootCommand(&g, "version")
	if n := len(root.Commands()); n != 1 {
		t.Fatalf("root for version has %d commands", n)
	}
	for _, args := range [][]string{{"version"}, {"version", "x"}, {"version", "--bogus"}, {"--root", "/x", "version"}} {
		var one, all strings.Builder
		code := run(args, strings.NewReader(""), &one, &one)
		whole := newRootCommand(&globalOptions{}, "")
		whole.SetArgs(args)
		whole.SetOut(&all)
		whole.SetErr(&all)
		_, err := whole.ExecuteC()
		if (code == 0) != (err == nil) {
			t.Errorf("%q: exit %d, whole tree error %v", args, code, err)
		}
		if code == 0 && one.String() != all.String() {
			t.Errorf("%q: %q, whole tree %q", args, one.String(), all.String())
		}
	}
}
