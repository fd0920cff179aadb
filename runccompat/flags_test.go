package runccompat

import (
	"slices"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The argument shapes go-runc produces, and runc's CLI library accepts.
func TestFlagSetParsesGoRuncArgs(t *testing.T) {
	fs := newFlagSet("kill")
	all := fs.Bool("all", "a")
	if err := fs.parse([]string{"--all", "ctr1", "9"}, false); err != nil || !*all || !slices.Equal(fs.args, []string{"ctr1", "9"}) {
		t.Fatalf("kill --all ctr1 9: %v %v %v", err, *all, fs.args)
	}

	fs = newFlagSet("list")
	format := fs.String("table", "format", "f")
	if err := fs.parse([]string{"--format=json"}, false); err != nil || *format != "json" {
		t.Fatalf("--format=json: %v %q", err, *format)
	}

	fs = newFlagSet("")
	root := fs.String(DefaultRoot, "root")
	debug := fs.Bool("debug")
	fs.String("auto", "rootless")
	err := fs.parse([]string{"--root", "/run/x", "--rootless=false", "-debug", "create", "--bundle", "b"}, true)
	if err != nil || *root != "/run/x" || !*debug || !slices.Equal(fs.args, []string{"create", "--bundle", "b"}) {
		t.Fatalf("globals: %v %q %v %v", err, *root, *debug, fs.args)
	}

	fs = newFlagSet("delete")
	force := fs.Bool("force", "f")
	if err := fs.parse([]string{"-f", "--", "-odd"}, false); err != nil || !*force || !slices.Equal(fs.args, []string{"-odd"}) {
		t.Fatalf("-f -- -odd: %v %v %v", err, *force, fs.args)
	}
	if err := newFlagSet("start").parse([]string{"--bogus", "x"}, false); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
	fs = newFlagSet("create")
	fs.String("", "pid-file")
	if err := fs.parse([]string{"--pid-file"}, false); err == nil {
		t.Fatal("a flag without its value was accepted")
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"9": unix.SIGKILL, "15": unix.SIGTERM, "KILL": unix.SIGKILL, "sigusr1": unix.SIGUSR1, "SIGHUP": unix.SIGHUP} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSignal("NOPE"); err == nil {
		t.Error("parseSignal(NOPE) succeeded")
	}
}

func TestApplyResources(t *testing.T) {
	limit, period, pids := int64(1<<26), uint64(100000), int64(20)
	res := &cgroups.Resources{CpuQuota: 50000, Memory: 1 << 30}
	applyResources(res, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit},
		CPU:    &specs.LinuxCPU{Period: &period},
		Pids:   &specs.LinuxPids{Limit: &pids},
	})
	// A period alone keeps the quota; runc's rule.
	if res.Memory != limit || res.CpuPeriod != period || res.CpuQuota != 50000 || *res.PidsLimit != pids {
		t.Fatalf("resources = %+v", res)
	}
}
