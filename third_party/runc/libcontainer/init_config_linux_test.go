package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 4).

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
)

func testSeccompConfig(program []byte) *initConfig {
	return &initConfig{
		Args: []string{"true"},
		Config: &configs.Config{
			Rootfs: "/rootfs",
			Seccomp: &configs.Seccomp{
				DefaultAction: configs.Errno,
				Architectures: []string{"amd64"},
				Syscalls: []*configs.Syscall{
					{Name: "read", Action: configs.Allow},
					{Name: "ioctl", Action: configs.Notify},
					{Name: "clone", Action: configs.Allow, Args: []*configs.Arg{{Index: 0, Value: 1, Op: configs.MaskEqualTo}}},
				},
				Program:      program,
				ProgramFlags: 1,
			},
		},
	}
}

func TestForChildDropsCompiledRules(t *testing.T) {
	c := testSeccompConfig([]byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f})
	before, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	child := c.forChild()

	// The parent's config is untouched.
	after, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatalf("forChild changed the parent's config:\n%s\n%s", before, after)
	}
	if len(c.Config.Seccomp.Syscalls) != 3 {
		t.Fatalf("parent's rules: %d, want 3", len(c.Config.Seccomp.Syscalls))
	}

	// The child keeps the program, its flags and the notify rule (for
	// InitSeccomp's checks), and nothing else of the rules.
	s := child.Config.Seccomp
	if len(s.Syscalls) != 1 || s.Syscalls[0].Name != "ioctl" || s.Syscalls[0].Action != configs.Notify {
		t.Fatalf("child's rules: %+v, want only the ioctl notify rule", s.Syscalls)
	}
	if !reflect.DeepEqual(s.Program, c.Config.Seccomp.Program) || s.ProgramFlags != 1 ||
		s.DefaultAction != configs.Errno || !reflect.DeepEqual(s.Architectures, []string{"amd64"}) {
		t.Fatalf("child's seccomp config lost a field: %+v", s)
	}

	// Everything else is the same once the rules are set aside.
	want := *c.Config
	wantSeccomp := *c.Config.Seccomp
	wantSeccomp.Syscalls = s.Syscalls
	want.Seccomp = &wantSeccomp
	got := *child.Config
	if !reflect.DeepEqual(&got, &want) || !reflect.DeepEqual(child.Args, c.Args) {
		t.Fatalf("child's config differs beyond the rules:\n%+v\n%+v", got, want)
	}

	// What goes down the pipe is smaller and decodes to the child's view.
	sent, err := json.Marshal(child)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) >= len(before) {
		t.Fatalf("child's config is %d bytes, the whole one %d", len(sent), len(before))
	}
	var decoded initConfig
	if err := json.Unmarshal(sent, &decoded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decoded.Config.Seccomp.Program, s.Program) || len(decoded.Config.Seccomp.Syscalls) != 1 {
		t.Fatalf("decoded child's seccomp: %+v", decoded.Config.Seccomp)
	}
}

func TestForChildWithoutProgramSendsAll(t *testing.T) {
	c := testSeccompConfig(nil)
	if got := c.forChild(); got != c {
		t.Fatal("without a program, the init compiles the rules: they must all be sent")
	}
	noSeccomp := &initConfig{Config: &configs.Config{}}
	if got := noSeccomp.forChild(); got != noSeccomp {
		t.Fatal("without seccomp, the config is sent as is")
	}
}
