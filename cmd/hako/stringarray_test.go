package main

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

// stringArrayVar behaves as pflag's StringArrayVar: parsing, the printed
// value, the type name and the help line.
func TestStringArrayAsPflag(t *testing.T) {
	for _, args := range [][]string{nil, {"--e", "a"}, {"--e", "a,b", "-e", `q"x`, "--e="}} {
		var ours, theirs []string
		fo := pflag.NewFlagSet("ours", pflag.ContinueOnError)
		ft := pflag.NewFlagSet("theirs", pflag.ContinueOnError)
		stringArrayVarP(fo, &ours, "e", "e", nil, "usage")
		ft.StringArrayVarP(&theirs, "e", "e", nil, "usage")
		if err := fo.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := ft.Parse(args); err != nil {
			t.Fatal(err)
		}
		o, th := fo.Lookup("e"), ft.Lookup("e")
		if !slices.Equal(ours, theirs) || o.Value.String() != th.Value.String() || o.Value.Type() != th.Value.Type() ||
			fo.FlagUsages() != ft.FlagUsages() {
			t.Errorf("%q: ours %q %s %s %q, pflag's %q %s %s %q", args, ours, o.Value, o.Value.Type(), o.DefValue,
				theirs, th.Value, th.Value.Type(), th.DefValue)
		}
		if got, want := o.Value.(pflag.SliceValue).GetSlice(), th.Value.(pflag.SliceValue).GetSlice(); !slices.Equal(got, want) {
			t.Errorf("%q: GetSlice %q, pflag's %q", args, got, want)
		}
	}
}
