package libcontainer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

type foldLetters struct {
	A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X, Y, Z int
	É, Σ, Ǆ, ẞ                                                                   int
}

// Every rune as a one-rune key: liteDecoder matches the field encoding/json
// matches (dotless ı and dotted İ fold to no ASCII letter there).
func TestInitJSONFoldsKeysAsEncodingJSON(t *testing.T) {
	bad := 0
	for r := rune(0x20); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) || r == '"' || r == '\\' {
			continue
		}
		in := []byte(`{"` + string(r) + `":1}`)
		var want, got foldLetters
		json.Unmarshal(in, &want)
		if err := tryLite(in, reflect.ValueOf(&got).Elem()); err != nil {
			t.Fatal(err)
		}
		if want != got {
			bad++
			if bad < 10 {
				t.Errorf("key %q (U+%04X): lite %+v json %+v", r, r, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d runes fold differently", bad)
	}
}

// A document nested deeper than encoding/json allows is refused, as
// encoding/json refuses it, though each member alone would be within the
// limit.
func TestInitJSONRefusesTooDeep(t *testing.T) {
	deep := []byte(`{"x":` + strings.Repeat("[", maxNestingDepth) + strings.Repeat("]", maxNestingDepth) + `}`)
	var want, got deepConfig
	if err := json.Unmarshal(deep, &want); err == nil {
		t.Fatal("encoding/json accepted it")
	}
	if err := tryLite(deep, reflect.ValueOf(&got).Elem()); err == nil {
		t.Fatal("accepted a document encoding/json refuses")
	}
	ok := []byte(`{"x":"[[[[{{{{","y":[[1]]}`)
	if tooDeep(ok) {
		t.Fatal("brackets in a string counted")
	}
}

type deepConfig struct{ X any }
