package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestScanRecords: what counts as a container and what a scan does with a
// record that is missing or torn, the same for every caller.
func TestScanRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "containers")
	type rec struct {
		Name string `json:"name"`
	}
	scan := func(bad badRecords) (string, error) {
		var got []string
		err := scanRecords(dir, bad, func(id string, r *rec) { got = append(got, id+"="+r.Name) })
		return strings.Join(got, " "), err
	}
	if got, err := scan(failOnBadRecords); err != nil || got != "" {
		t.Fatalf("missing directory: %q, %v; want nothing", got, err)
	}
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("bbb/"+recordFile, `{"id":"bbb","name":"second"}`)
	write("aaa/"+recordFile, `{"id":"aaa","name":"first","spec":{"process":{}}}`)
	write(".tmp-1-1-ccc/"+recordFile, `{"id":"ccc","name":"being-removed"}`) // a removal in progress
	write("ddd/lock", "")                                                    // a create not yet recorded
	write("notadir", `{"name":"file"}`)
	write(".lock", "")
	if got, err := scan(failOnBadRecords); err != nil || got != "aaa=first bbb=second" {
		t.Errorf("scan: %q, %v; want aaa=first bbb=second", got, err)
	}

	write("eee/"+recordFile, "") // a --rm record torn by a power cut
	if got, err := scan(skipBadRecords); err != nil || got != "aaa=first bbb=second" {
		t.Errorf("skipping bad records: %q, %v", got, err)
	}
	if _, err := scan(failOnBadRecords); err == nil || !strings.Contains(err.Error(), "record of container eee") {
		t.Errorf("failing on bad records: %v, want an error naming eee", err)
	}
	// The callers: names skip it, images in use refuse to guess.
	if names, err := containerNames(dir); err != nil || len(names) != 2 || names["first"] != "aaa" {
		t.Errorf("containerNames: %v, %v", names, err)
	}
	if _, err := ImagesInUse(filepath.Dir(dir)); err == nil {
		t.Error("ImagesInUse with a torn record: no error")
	}
}

// TestJSONFileBytes: hako's small JSON files keep json.MarshalIndent's
// bytes; the record is json.Marshal's; both end in a newline.
func TestJSONFileBytes(t *testing.T) {
	rec := Record{ID: "abc", Name: "n<&>", Image: "busybox", Labels: map[string]string{"b": "2", "a": "1"},
		Spec: &specs.Spec{Version: "1.2.0", Process: &specs.Process{Args: []string{"sh", "-c", "echo \u2028 <x>"}}}}
	indented, err := json.MarshalIndent(&rec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	compact, err := json.Marshal(&rec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	check := func(what string, want []byte) {
		t.Helper()
		if b, _ := os.ReadFile(path); !bytes.Equal(b, append(want, '\n')) {
			t.Errorf("%s wrote\n%s\nwant\n%s", what, b, want)
		}
	}
	if err := writeJSONUnsynced(path, &rec); err != nil {
		t.Fatal(err)
	}
	check("writeJSONUnsynced", indented)
	if err := writeJSON(path, &rec); err != nil {
		t.Fatal(err)
	}
	check("writeJSON", indented)
	for _, remove := range []bool{false, true} {
		c := &Container{remove: remove}
		if err := c.writeRecord(path, &rec); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("writeRecord (remove %v)", remove), compact)
	}
	if err := writeJSONUnsynced(path, func() {}); err == nil {
		t.Error("a func was encoded")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files left, want the one written", len(entries))
	}
}
