package runtime

// Parsers of Docker's run flags that shape SpecOptions, for the CLI and for
// programs that embed hako and take the same strings.

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ParseEnv reads --env-file files, then -e values; a bare KEY takes its
// value from hako's environment and is dropped when unset there (Docker).
func ParseEnv(files, vars []string) ([]string, error) {
	var env []string
	for _, f := range files {
		lines, err := readEnvFile(f)
		if err != nil {
			return nil, err
		}
		env = append(env, lines...)
	}
	for _, v := range vars {
		kv, ok := resolveEnv(v)
		if ok {
			env = append(env, kv)
		}
	}
	return env, nil
}

func resolveEnv(v string) (string, bool) {
	if strings.Contains(v, "=") {
		return v, true
	}
	if val, ok := os.LookupEnv(v); ok {
		return v + "=" + val, true
	}
	return "", false
}

// readEnvFile parses Docker's env file: KEY=VALUE or KEY lines, with blank
// lines and # comments ignored.
func readEnvFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if n == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a UTF-8 BOM, as editors on Windows write
		}
		if !utf8.ValidString(text) {
			return nil, fmt.Errorf("reading env file %s: invalid UTF-8 at line %d", name, n)
		}
		line := strings.TrimLeftFunc(text, unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, _ := strings.Cut(line, "="); k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("reading env file %s: invalid variable name %q", name, k)
		}
		if kv, ok := resolveEnv(line); ok {
			env = append(env, kv)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading env file %s: %w", name, err)
	}
	return env, nil
}

// ParseTmpfs turns --tmpfs PATH[:OPTIONS] into a map for SpecOptions.
func ParseTmpfs(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, t := range list {
		p, opts, _ := strings.Cut(t, ":")
		if !path.IsAbs(p) {
			return nil, fmt.Errorf("invalid tmpfs %q: the path must be absolute", t)
		}
		out[path.Clean(p)] = opts
	}
	return out, nil
}

// ParseUlimits parses --ulimit NAME=SOFT[:HARD] (hard defaults to soft).
func ParseUlimits(list []string) ([]specs.POSIXRlimit, error) {
	var out []specs.POSIXRlimit
	for _, u := range list {
		name, val, ok := strings.Cut(u, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid ulimit %q: want NAME=SOFT[:HARD]", u)
		}
		softS, hardS, hasHard := strings.Cut(val, ":")
		if !hasHard {
			hardS = softS
		}
		soft, err1 := parseRlimitValue(softS)
		hard, err2 := parseRlimitValue(hardS)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("invalid ulimit %q: bad number", u)
		}
		if soft > hard {
			return nil, fmt.Errorf("invalid ulimit %q: soft limit above hard limit", u)
		}
		typ := "RLIMIT_" + strings.ToUpper(name)
		if !KnownRlimit(typ) {
			return nil, fmt.Errorf("invalid ulimit %q: unknown name %q", u, name)
		}
		out = append(out, specs.POSIXRlimit{Type: typ, Soft: soft, Hard: hard})
	}
	return out, nil
}

func parseRlimitValue(s string) (uint64, error) {
	if s == "-1" || s == "unlimited" {
		return ^uint64(0), nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// ApplySecurityOpt handles one --security-opt value.
func ApplySecurityOpt(so *SpecOptions, opt string) error {
	k, v, hasValue := strings.Cut(opt, "=")
	if !hasValue {
		k, v, hasValue = strings.Cut(opt, ":") // Docker's old syntax
	}
	switch {
	case k == "no-new-privileges" && (!hasValue || v == "true"):
		so.NoNewPrivileges = true
	case k == "no-new-privileges" && v == "false":
		so.NoNewPrivileges = false
	case k == "seccomp" && v == "builtin": // the Docker CLI's name for the default
		so.SeccompProfile = ""
	case k == "seccomp" && hasValue && v != "":
		so.SeccompProfile = v
	case k == "systempaths" && v == "unconfined":
		so.UnconfinedSystemPaths = true
	// Any name is taken here: Create checks it against the host, where
	// AppArmor may not even be enabled (then it is ignored, as by Docker).
	case k == "apparmor" && hasValue:
		so.AppArmorProfile = v
	// hako applies no SELinux label, so turning it off (common in copied
	// docker commands) is already true.
	case k == "label" && (v == "disable" || v == "disable=true"):
	case k == "label":
		return fmt.Errorf("invalid --security-opt %q: hako applies no SELinux labels (label=disable is accepted)", opt)
	default:
		return fmt.Errorf("invalid --security-opt %q: supported are seccomp=unconfined|PROFILE.json, no-new-privileges, systempaths=unconfined, apparmor=PROFILE|unconfined, label=disable", opt)
	}
	return nil
}
