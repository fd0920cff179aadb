package image

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ApplyChanges applies Dockerfile instructions (`hako commit -c`) to an
// image config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME,
// WORKDIR and STOPSIGNAL, in their JSON and shell forms, as Docker's
// commit does (an ENTRYPOINT clears an inherited CMD).
func ApplyChanges(cfg *v1.Config, changes []string) error {
	cmdSet := false
	for _, ch := range changes {
		ch = strings.TrimSpace(ch)
		instr, rest, _ := strings.Cut(ch, " ")
		rest = strings.TrimSpace(rest)
		if instr == "" {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("invalid change %q: %s", ch, why)
		}
		if rest == "" {
			return bad(strings.ToUpper(instr) + " needs an argument")
		}
		switch strings.ToUpper(instr) {
		case "CMD":
			cfg.Cmd, cmdSet = commandForm(rest), true
		case "ENTRYPOINT":
			cfg.Entrypoint = commandForm(rest)
			if !cmdSet {
				cfg.Cmd = nil
			}
		case "ENV":
			pairs, err := keyValues(rest)
			if err != nil {
				return bad(err.Error())
			}
			for _, kv := range pairs {
				cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
			}
		case "LABEL":
			pairs, err := keyValues(rest)
			if err != nil {
				return bad(err.Error())
			}
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range pairs {
				cfg.Labels[kv[0]] = kv[1]
			}
		case "EXPOSE":
			words, err := splitWords(rest)
			if err != nil {
				return bad(err.Error())
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range words {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[strings.ToLower(p)] = struct{}{}
			}
		case "VOLUME":
			vols := jsonList(rest)
			if vols == nil {
				var err error
				if vols, err = splitWords(rest); err != nil {
					return bad(err.Error())
				}
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range vols {
				cfg.Volumes[v] = struct{}{}
			}
		case "USER":
			cfg.User = rest
		case "WORKDIR":
			if !path.IsAbs(rest) {
				base := cfg.WorkingDir
				if base == "" {
					base = "/"
				}
				rest = path.Join(base, rest)
			}
			cfg.WorkingDir = path.Clean(rest)
		case "STOPSIGNAL":
			cfg.StopSignal = rest
		default:
			return bad(strings.ToUpper(instr) + " is not supported; use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR or STOPSIGNAL")
		}
	}
	return nil
}

// commandForm is the exec form of a JSON array, else the shell form.
func commandForm(s string) []string {
	if l := jsonList(s); l != nil {
		return l
	}
	return []string{"/bin/sh", "-c", s}
}

func jsonList(s string) []string {
	if !strings.HasPrefix(s, "[") {
		return nil
	}
	var l []string
	if json.Unmarshal([]byte(s), &l) != nil {
		return nil
	}
	return l
}

// keyValues reads `k=v k2="v 2"`, or the legacy `k v w` (one key, the rest
// its value).
func keyValues(s string) ([][2]string, error) {
	words, err := splitWords(s)
	if err != nil {
		return nil, err
	}
	if len(words) > 0 && !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(s, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// splitWords splits at blanks outside quotes; quotes and backslashes go.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unmatched %c", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
