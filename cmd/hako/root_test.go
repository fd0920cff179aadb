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

// TestOneCommandTree: for a command the arguments name, commandTree builds
// only that command, and what hako prints and its exit code are the same as
// with the whole tree. The arguments all fail before any command runs
// (unknown flags, argument counts) or only print.
func TestOneCommandTree(t *testing.T) {
	var g globalOptions
	if n := len(commandTree(&g, []string{"version"}).Commands()); n != 1 {
		t.Fatalf("tree for version has %d commands", n)
	}
	cases := [][]string{
		{"version"}, {"version", "x"}, {"--root", "/x", "version"}, {"--root=/x", "--debug", "version"},
		{"container"}, {"image"}, {"network"}, {"volume"}, {"system"}, {"generate"},
		{"container", "lsx"}, {"image", "lsx"}, {"network", "lsx"}, {"volume", "lsx"},
		{"container", "ls", "--bogus"}, {"image", "ls", "--bogus"}, {"network", "ls", "x"}, {"volume", "rm"},
		{"run"}, {"run", "--rm"}, {"run", "-e"}, {"run", "--memory", "x", "--bogus"}, {"exec"}, {"exec", "x"},
		{"tag", "a"}, {"rm"}, {"rmi"}, {"kill"}, {"logs"}, {"pull"}, {"push"}, {"create"}, {"ps", "x"},
		{"images", "a", "b"}, {"cp", "a"}, {"top"}, {"stats", "--bogus"}, {"port"}, {"wait"}, {"rename", "a"},
	}
	for _, c := range topCommands {
		cases = append(cases, []string{c.name, "--bogus-flag"}, []string{"--debug", c.name, "--bogus-flag"})
	}
	for _, args := range cases {
		var one, all strings.Builder
		var g1, g2 globalOptions
		root := commandTree(&g1, args)
		if len(root.Commands()) != 1 {
			t.Errorf("%q: the tree has %d commands, want 1", args, len(root.Commands()))
		}
		code1 := runTree(root, args, strings.NewReader(""), &one, &one)
		code2 := runTree(newRootCommand(&g2, ""), args, strings.NewReader(""), &all, &all)
		if code1 != code2 || one.String() != all.String() {
			t.Errorf("%q: exit %d, %q; whole tree: exit %d, %q", args, code1, one.String(), code2, all.String())
		}
	}
}
