package gotemplate

import (
	"strings"
	"testing"
	"time"
)

type row struct {
	ID     string
	Labels map[string]string
	Nested struct{ Status string }
	Ptr    *row
	When   time.Time
}

func (r row) Short() string { return r.ID[:2] }

func render(t *testing.T, text string, data any) (string, error) {
	t.Helper()
	tmpl, err := New("t").Funcs(FuncMap{"upper": strings.ToUpper}).Parse(text)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	var b strings.Builder
	err = tmpl.Execute(&b, data)
	return b.String(), err
}

// The forms hako's --format and the AppArmor profile use render as with
// text/template.
func TestFieldsMapsFuncs(t *testing.T) {
	r := row{ID: "abcdef", Labels: map[string]string{"b": "2", "a": "1"}, Ptr: &row{ID: "inner"}}
	r.Nested.Status = "up"
	for text, want := range map[string]string{
		`{{.ID}} {{.Nested.Status}} {{.Ptr.ID}}`:           "abcdef up inner",
		`{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}`: "a=1,b=2,",
		`{{.Labels.b}} {{index .Labels "a"}}`:              "2 1",
		`{{if .Ptr}}yes{{end}} {{- len .ID}}`:              "yes6",
		`{{upper .ID | printf "%s!"}}`:                     "ABCDEF!",
	} {
		got, err := render(t, text, r)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", text, got, err, want)
		}
	}
}

// A method is not called: {{.Short}} is a missing field.
func TestNoMethodCalls(t *testing.T) {
	for _, text := range []string{`{{.Short}}`, `{{.When.Unix}}`} {
		got, err := render(t, text, row{ID: "abcdef"})
		if err == nil || !strings.Contains(err.Error(), "can't evaluate field") {
			t.Errorf("%s: got %q, %v; want a can't evaluate field error", text, got, err)
		}
	}
}
