package runccompat

import (
	"fmt"
	"strconv"
	"strings"
)

// flagSet parses flags the way runc's CLI library accepts them: one or two
// leading dashes, "--name value" or "--name=value", flags anywhere among the
// arguments (go-runc puts kill's --all before the ID), "--" ending them.
type flagSet struct {
	cmd     string
	bools   map[string]*bool
	strings map[string]*string
	alias   map[string]string
	args    []string
}

func newFlagSet(cmd string) *flagSet {
	return &flagSet{cmd: cmd, bools: map[string]*bool{}, strings: map[string]*string{}, alias: map[string]string{}}
}

// Bool declares a boolean flag; names after the first are aliases.
func (f *flagSet) Bool(names ...string) *bool {
	v := new(bool)
	f.bools[names[0]] = v
	for _, a := range names[1:] {
		f.alias[a] = names[0]
	}
	return v
}

// String declares a flag with a value and its default.
func (f *flagSet) String(def string, names ...string) *string {
	v := &def
	f.strings[names[0]] = v
	for _, a := range names[1:] {
		f.alias[a] = names[0]
	}
	return v
}

// parse reads args; when stopAtArg is set the first non-flag argument ends
// the flags (the global flags stop at the command's name).
func (f *flagSet) parse(args []string, stopAtArg bool) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			f.args = append(f.args, args[i+1:]...)
			return nil
		}
		if len(a) < 2 || a[0] != '-' {
			if stopAtArg {
				f.args = append(f.args, args[i:]...)
				return nil
			}
			f.args = append(f.args, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		if full, ok := f.alias[name]; ok {
			name = full
		}
		if b, ok := f.bools[name]; ok {
			if !hasValue {
				*b = true
				continue
			}
			v, err := strconv.ParseBool(value)
			if err != nil {
				return fmt.Errorf("invalid boolean value %q for flag -%s", value, name)
			}
			*b = v
			continue
		}
		s, ok := f.strings[name]
		if !ok {
			if f.cmd == "" {
				return fmt.Errorf("flag provided but not defined: -%s", name)
			}
			return fmt.Errorf("%s: flag provided but not defined: -%s", f.cmd, name)
		}
		if !hasValue {
			if i+1 >= len(args) {
				return fmt.Errorf("flag needs an argument: -%s", name)
			}
			i++
			value = args[i]
		}
		*s = value
	}
	return nil
}

// exactArgs checks the number of positional arguments, worded as runc's
// checkArgs words it.
func (f *flagSet) exactArgs(n int) error {
	if len(f.args) != n {
		return fmt.Errorf("hako-runc: %q requires exactly %d argument(s)", f.cmd, n)
	}
	return nil
}
