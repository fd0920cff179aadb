package main

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/spf13/pflag"
)

// stringArrayVar and stringArrayVarP register a repeatable string flag as
// pflag's StringArrayVar does (same type name, parsing and help), minus
// the CSV writer pflag runs to print each such flag's empty default: a
// fresh 4 KB buffer per flag, ~110 of the ~640 page faults every hako
// command paid at start for its ~35 repeatable flags (issue 13).
func stringArrayVar(f *pflag.FlagSet, p *[]string, name string, value []string, usage string) {
	stringArrayVarP(f, p, name, "", value, usage)
}

func stringArrayVarP(f *pflag.FlagSet, p *[]string, name, shorthand string, value []string, usage string) {
	*p = value
	f.VarP(&stringArray{p: p}, name, shorthand, usage)
	if len(value) == 0 {
		// pflag hides "(default [])" in help only for its own types.
		f.Lookup(name).DefValue = ""
	}
}

// stringArray is pflag's stringArrayValue (a pflag.SliceValue).
type stringArray struct {
	p       *[]string
	changed bool
}

func (s *stringArray) Set(v string) error {
	if !s.changed {
		*s.p = []string{v}
		s.changed = true
	} else {
		*s.p = append(*s.p, v)
	}
	return nil
}

func (s *stringArray) Type() string { return "stringArray" }

// String is "[" + the values as one CSV record + "]", as pflag prints it.
func (s *stringArray) String() string {
	if len(*s.p) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(*s.p)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

func (s *stringArray) Append(v string) error {
	*s.p = append(*s.p, v)
	return nil
}

func (s *stringArray) Replace(vs []string) error {
	*s.p = make([]string, len(vs))
	copy(*s.p, vs)
	return nil
}

func (s *stringArray) GetSlice() []string {
	out := make([]string, len(*s.p))
	copy(out, *s.p)
	return out
}
