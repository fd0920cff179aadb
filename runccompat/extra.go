package runccompat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer/capabilities"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// psTable runs ps(1) (default -ef) and keeps the header and the lines of
// the container's pids, as runc ps does.
func psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return errors.New("couldn't find PID field in ps output")
	}
	fmt.Println(lines[0])
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if col < len(f) {
			if pid, err := strconv.Atoi(f[col]); err == nil && slices.Contains(pids, pid) {
				fmt.Println(line)
			}
		}
	}
	return nil
}

// specCmd writes runc's default config.json (specconv.Example) into the
// bundle, refusing to overwrite one.
func specCmd(g *globals, args []string) error {
	fs := newFlagSet("spec")
	bundle := fs.String("", "bundle", "b")
	rootless := fs.Bool("rootless")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if err := fs.exactArgs(0); err != nil {
		return err
	}
	spec := specconv.Example()
	if *rootless {
		specconv.ToRootless(spec)
	}
	if *bundle != "" {
		if err := os.Chdir(*bundle); err != nil {
			return fmt.Errorf("failed to chdir to bundle dir: %w", err)
		}
	}
	if _, err := os.Stat("config.json"); err == nil {
		return errors.New("File config.json exists. Remove it first")
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile("config.json", data, 0o666)
}

// featuresCmd prints the OCI runtime features document, as runc builds it
// from what this libcontainer knows.
func featuresCmd(g *globals, args []string) error {
	fs := newFlagSet("features")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if err := fs.exactArgs(0); err != nil {
		return err
	}
	yes := true
	f := features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         configs.KnownHookNames(),
		MountOptions:  specconv.KnownMountOptions(),
		Linux: &features.Linux{
			Namespaces:   specconv.KnownNamespaces(),
			Capabilities: capabilities.KnownCapabilities(),
			Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &yes, Rdma: &yes},
			Apparmor:     &features.Apparmor{Enabled: &yes},
			Selinux:      &features.Selinux{Enabled: &yes},
			IntelRdt:     &features.IntelRdt{Enabled: &yes},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: specconv.KnownMemoryPolicyModes(),
				Flags: specconv.KnownMemoryPolicyFlags(),
			},
			Seccomp:         seccompFeatures(),
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &yes}},
		},
		Annotations: map[string]string{
			"org.opencontainers.runc.version":            Version,
			"org.opencontainers.runc.checkpoint.enabled": "false",
			"run.hako.runc-compat":                       "true",
		},
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "    ")
	return enc.Encode(f)
}

func seccompFeatures() *features.Seccomp {
	enabled := seccomp.Enabled
	sf := &features.Seccomp{Enabled: &enabled}
	if !enabled {
		return sf
	}
	sf.Actions = seccomp.KnownActions()
	sf.Operators = seccomp.KnownOperators()
	sf.Archs = seccomp.KnownArchs()
	sf.KnownFlags = seccomp.KnownFlags()
	sf.SupportedFlags = seccomp.SupportedFlags()
	return sf
}
