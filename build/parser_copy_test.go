package build

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// TestParserCopyPatches runs the code third_party/buildkit's patches touch
// (HAKO.md there): the regexps compiled on first use (whitespace splits of
// the old ENV form and of EXPOSE, a <<- heredoc and its tabs chomped) and
// a located error returned without buildkit's util/stack.
func TestParserCopyPatches(t *testing.T) {
	b, err := parseOnly(t, "FROM scratch\nENV A  b c\nEXPOSE 80 \t 443\nRUN <<-EOT\n\techo hi\n\t\techo two\nEOT\n")
	if err != nil {
		t.Fatal(err)
	}
	cmds := b.stages[0].Commands
	if len(cmds) != 3 {
		t.Fatalf("%d commands, want 3", len(cmds))
	}
	env := cmds[0].(*instructions.EnvCommand).Env
	if len(env) != 1 || env[0].Key != "A" || env[0].Value != "b c" {
		t.Errorf("ENV = %+v, want A=\"b c\"", env)
	}
	if p := cmds[1].(*instructions.ExposeCommand).Ports; strings.Join(p, ",") != "443,80" {
		t.Errorf("EXPOSE = %q, want 80 and 443", p)
	}
	run := cmds[2].(*instructions.RunCommand)
	if len(run.Files) != 1 || !run.Files[0].Chomp || parser.ChompHeredocContent(run.Files[0].Data) != "echo hi\necho two\n" {
		t.Errorf("RUN heredoc = %+v, want one whose tabs chomp away", run.Files)
	}

	res, err := parser.Parse(strings.NewReader("FROM a\nFORM b\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = instructions.ParseInstruction(res.AST.Children[1])
	var le *parser.LocationError
	if !errors.As(err, &le) || le.Locations[0][0].Start.Line != 2 || !strings.Contains(err.Error(), "unknown instruction: FORM") {
		t.Errorf("error = %v (%#v), want a LocationError on line 2", err, le)
	}
}
