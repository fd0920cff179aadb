package build

import (
	"errors"
	"strings"
	"testing"
)

// parseOnly parses dockerfile as Build does, without a store.
func parseOnly(t *testing.T, dockerfile string) (*builder, error) {
	t.Helper()
	b := &builder{o: Options{Dockerfile: []byte(dockerfile)}, name: "Dockerfile", used: map[string]bool{}}
	metaArgs, err := b.parse()
	if err != nil {
		return b, err
	}
	b.globalArgs(metaArgs)
	return b, nil
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		dockerfile string
		line       int
		want       string
	}{
		{"FROM a\nRUN x\nFORM b\n", 3, "unknown instruction: FORM"},
		{"# c\nFROM a AS 1x\n", 2, "invalid name for build stage"},
		{"RUN x\n", 1, "the first instruction must be FROM"},
		{"FROM a\nCOPY onlyone\n", 2, "COPY requires at least two arguments"},
	} {
		_, err := parseOnly(t, tc.dockerfile)
		var be *Error
		if !errors.As(err, &be) || be.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v (line %v), want line %d and %q", tc.dockerfile, err, be, tc.line, tc.want)
		}
	}
}

// TestNeededStages: only the stages the target stands on (FROM a stage,
// COPY --from by name or number, stage names through meta ARGs) are built.
func TestNeededStages(t *testing.T) {
	b, err := parseOnly(t, `ARG SRC=one
FROM busybox AS one
FROM busybox AS two
FROM one AS three
COPY --from=${SRC} /a /a
FROM scratch AS four
COPY --from=1 /b /b
FROM three
`)
	if err != nil {
		t.Fatal(err)
	}
	need, err := b.needed(len(b.stages) - 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true, false, true} {
		if need[i] != want {
			t.Errorf("stage %d needed = %v, want %v", i, need[i], want)
		}
	}
	need, _ = b.needed(3)
	if !need[1] || need[0] || need[2] {
		t.Errorf("target four: %v", need)
	}
}

func TestGlobalArgs(t *testing.T) {
	b := &builder{o: Options{Dockerfile: []byte("ARG A=x\nARG B=${A}y\nARG C\nFROM s\n"), BuildArgs: map[string]string{"A": "z"}}, used: map[string]bool{}}
	metaArgs, err := b.parse()
	if err != nil {
		t.Fatal(err)
	}
	b.target.OS, b.target.Architecture = "linux", "arm64"
	b.globalArgs(metaArgs)
	if b.global["A"] != "z" || b.global["B"] != "zy" || b.global["C"] != "" || b.global["TARGETARCH"] != "arm64" || b.global["TARGETPLATFORM"] != "linux/arm64" {
		t.Errorf("global args: %v", b.global)
	}
	if !b.used["A"] {
		t.Error("--build-arg A not marked used")
	}
}
