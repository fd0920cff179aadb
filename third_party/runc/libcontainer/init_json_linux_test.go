package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/runc/libcontainer/configs"
)

// filler sets every field it can reach to a non-zero value, so that
// each type and field of the config takes part in the comparison.
type filler struct {
	n     int
	depth map[reflect.Type]int
}

var fillStrings = []string{
	"plain", "/proc/sys", "with \"quotes\" and \\backslashes\\", "line\nbreak\ttab",
	"<html> & 'amp'", "unicode é ü 中文 🚀", "\u2028\u2029", "null", "{\"json\":1}",
}

func (f *filler) fill(v reflect.Value) {
	t := v.Type()
	if f.depth[t] > 1 { // recursive types: two levels
		return
	}
	f.depth[t]++
	defer func() { f.depth[t]-- }()
	f.n++
	switch t.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(t.Elem()))
		f.fill(v.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, 5+f.n%7)
			for i := range b {
				b[i] = byte(f.n*31 + i*7)
			}
			v.SetBytes(b)
			return
		}
		s := reflect.MakeSlice(t, 2, 2)
		f.fill(s.Index(0))
		f.fill(s.Index(1))
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			f.fill(v.Index(i))
		}
	case reflect.Map:
		m := reflect.MakeMap(t)
		for i := 0; i < 2; i++ {
			k := reflect.New(t.Key()).Elem()
			f.fill(k)
			if k.Kind() == reflect.String {
				k.SetString(fmt.Sprintf("key%d-%s", i, k.String()))
			}
			e := reflect.New(t.Elem()).Elem()
			f.fill(e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(fillStrings[f.n%len(fillStrings)])
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		vals := []int64{-1, 1, 42, math.MaxInt8, math.MinInt8}
		v.SetInt(vals[f.n%len(vals)])
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		vals := []uint64{1, 7, math.MaxUint8, 200}
		v.SetUint(vals[f.n%len(vals)])
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5 + float64(f.n))
	case reflect.Interface:
		// left nil: encoding/json decodes interfaces (liteDecoder hands them over).
	}
}

func filledInitConfig(t *testing.T) *initConfig {
	t.Helper()
	var c initConfig
	f := &filler{depth: map[reflect.Type]int{}}
	f.fill(reflect.ValueOf(&c).Elem())
	// Hooks marshal themselves, from hook values; give it one of each kind
	// the init may be sent.
	c.Config.Hooks = configs.Hooks{
		configs.Prestart:       configs.HookList{configs.NewCommandHook(&configs.Command{Path: "/bin/true", Args: []string{"true"}})},
		configs.StartContainer: configs.HookList{configs.NewCommandHook(&configs.Command{Path: "/bin/hook", Env: []string{"A=b"}})},
	}
	return &c
}

// TestInitJSONSameAsEncodingJSON: the init's config, every field set,
// decodes to the same value through liteDecoder (without falling back) as
// through encoding/json.
func TestInitJSONSameAsEncodingJSON(t *testing.T) {
	c := filledInitConfig(t)
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var want, got initConfig
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := tryLite(data, reflect.ValueOf(&got).Elem()); err != nil {
		t.Fatalf("liteDecoder failed (it would fall back): %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("decoded configs differ:\nlite: %s\njson: %s", g, w)
	}
	if want.Config == nil || want.Config.Cgroups == nil || want.Config.Cgroups.Resources == nil ||
		len(want.Config.Mounts) == 0 || want.Config.Seccomp == nil || len(want.Config.Hooks) == 0 {
		t.Fatal("the filled config left whole parts out")
	}

	// Through the pipe as the init reads it, a sync message behind it.
	var r bytes.Buffer
	r.Write(data)
	r.WriteString(`{"type":"procReady"}`)
	var piped initConfig
	if err := decodeInitConfig(&r, &piped); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(piped, want) {
		t.Fatal("decodeInitConfig differs from encoding/json")
	}
}

type embeddedInner struct {
	A string `json:"a"`
	B string
	C string `json:"c"`
}

type EmbeddedExported struct {
	B string
	D int `json:"d"`
}

type embeddedOuter struct {
	*embeddedInner
	EmbeddedExported
	C        string           `json:"c"` // shallower: wins over embeddedInner.C
	Named    EmbeddedExported `json:"named"`
	Tagged   embeddedInner    `json:"tagged,omitempty"`
	Skip     string           `json:"-"`
	Dash     string           `json:"-,"`
	Bytes    []byte
	Arr      [2]int
	Any      any
	Num      json.Number
	Raw      json.RawMessage
	IntMap   map[int]string
	U8       uint8
	F32      float32
	Ptr      *int
	Slice    []*embeddedInner
	unexport string
}

type quoted struct {
	A      string
	Quoted int `json:",string"`
}

type noString struct {
	A map[string]int
	B []string
	C *EmbeddedExported
	D int8
	E uint16
	F bool
	G float64
	H map[uint8]bool
}

// TestInitJSONCases: values and errors as encoding/json's, for inputs it
// never makes itself.
func TestInitJSONCases(t *testing.T) {
	cases := []struct {
		json string
		typ  any
	}{
		{`{"a":"x","B":"y","c":"z","d":4,"named":{"B":"n","d":5},"tagged":{"a":"t"},"Skip":"s","-":"dash","Bytes":"aGFrbw==","Arr":[1,2],"Any":{"k":[1,"2",null]},"Num":12.5,"Raw":{"r":1},"IntMap":{"1":"one","-2":"minus"},"U8":255,"F32":1.5,"Ptr":3,"Slice":[{"a":"1"},null]}`, &embeddedOuter{}},
		{`{"A":"case","b":"fold","C":"upper","D":1,"NAMED":{"b":"x"},"unexport":"no"}`, &embeddedOuter{}},
		{`{"a":null,"Bytes":null,"Arr":null,"Any":null,"Ptr":null,"Slice":null,"IntMap":null,"U8":null,"named":null}`, &embeddedOuter{}},
		{`{"Slice":[],"IntMap":{},"Bytes":""}`, &embeddedOuter{}},
		{` { "a" : "sp" , "unknown" : {"x":[1,{"y":"\"}"}]}, "B" : "b" } `, &embeddedOuter{}},
		{`{"a":"first","a":"second","named":{"B":"1"},"named":{"d":2}}`, &embeddedOuter{}},
		{`{"a":"esc\"aped\u00e9\n","\u0061":"key escaped"}`, &embeddedOuter{}},
		{`{"a":"\ud83d\ude80 \ud800 bad surrogate"}`, &embeddedOuter{}},
		{"{\"a\":\"invalid \xff utf8\"}", &embeddedOuter{}},
		{`{"U8":256}`, &embeddedOuter{}},
		{`{"U8":-1}`, &embeddedOuter{}},
		{`{"U8":1.5}`, &embeddedOuter{}},
		{`{"F32":1e39}`, &embeddedOuter{}},
		{`{"F32":-0.5e+2,"U8":0}`, &embeddedOuter{}},
		{`{"U8":01}`, &embeddedOuter{}},
		{`{"F32":1.}`, &embeddedOuter{}},
		{`{"F32":-}`, &embeddedOuter{}},
		{`{"F32":1e}`, &embeddedOuter{}},
		{`{"F32":.5}`, &embeddedOuter{}},
		{`{"F32":+1}`, &embeddedOuter{}},
		{`{"a":1}`, &embeddedOuter{}},
		{`{"Ptr":"x"}`, &embeddedOuter{}},
		{`{"IntMap":{"x":"y"}}`, &embeddedOuter{}},
		{`{"Num":"12"}`, &embeddedOuter{}},
		{`{"Bytes":"not base64!"}`, &embeddedOuter{}},
		{`[1,2]`, &embeddedOuter{}},
		{`{"A":{"x":1,"y":-2},"B":["a","b"],"C":{"B":"c"},"D":-128,"E":65535,"F":false,"G":-1.25e-3,"H":{"1":true,"255":false}}`, &noString{}},
		{`{"D":128}`, &noString{}},
		{`{"E":65536}`, &noString{}},
		{`{"F":"true"}`, &noString{}},
		{`{"H":{"256":true}}`, &noString{}},
		{`{"B":[1]}`, &noString{}},
		{`{"A":{"x":"1"}}`, &noString{}},
		{`null`, &noString{}},
		{`{"unknown":{"a":[1,]},"D":1}`, &noString{}},
		{`{"unknown":[01],"D":1}`, &noString{}},
		{`{"unknown":{"a":"\x"},"D":1}`, &noString{}},
		{`{"A":"x","Quoted":"7"}`, &quoted{}},
		{`{"A":"x","Quoted":7}`, &quoted{}},
	}
	for _, tc := range cases {
		typ := reflect.TypeOf(tc.typ).Elem()
		want := reflect.New(typ)
		got := reflect.New(typ)
		errWant := json.Unmarshal([]byte(tc.json), want.Interface())
		errGot := unmarshalLite([]byte(tc.json), got.Interface())
		if errWant == nil && typ != reflect.TypeOf(quoted{}) {
			// Decoded by liteDecoder itself, not by the fallback.
			lite := reflect.New(typ)
			if err := tryLite([]byte(tc.json), lite.Elem()); err != nil {
				t.Errorf("%s: liteDecoder failed: %v", tc.json, err)
			} else if !reflect.DeepEqual(lite.Interface(), want.Interface()) {
				t.Errorf("%s:\nlite %+v\njson %+v", tc.json, lite.Elem().Interface(), want.Elem().Interface())
			}
		}
		if fmt.Sprint(errGot) != fmt.Sprint(errWant) {
			t.Errorf("%s: error %v, encoding/json's %v", tc.json, errGot, errWant)
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%s:\nlite %+v\njson %+v", tc.json, got.Elem().Interface(), want.Elem().Interface())
		}
	}
}

// TestInitJSONFieldsAsEncodingJSON: for every struct type of the config,
// liteFields names the fields encoding/json marshals, in its order.
func TestInitJSONFieldsAsEncodingJSON(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walk(typ.Elem())
			return
		case reflect.Struct:
		default:
			return
		}
		fs, ok := liteFields(typ)
		if !ok {
			return
		}
		// A value with every field set marshals each field by its name.
		v := reflect.New(typ)
		(&filler{depth: map[reflect.Type]int{}}).fill(v.Elem())
		var m map[string]json.RawMessage
		data, err := json.Marshal(v.Interface())
		if err != nil || json.Unmarshal(data, &m) != nil {
			return // marshals itself as something else
		}
		var names []string
		for _, f := range fs {
			names = append(names, f.name)
			walk(f.typ)
		}
		var keys []string
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.Token()
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			dec.Decode(&skip)
		}
		if len(keys) > 0 && strings.Join(keys, ",") != strings.Join(names, ",") {
			t.Errorf("%v: liteFields %v, encoding/json %v", typ, names, keys)
		}
	}
	walk(reflect.TypeOf(initConfig{}))
	walk(reflect.TypeOf(embeddedOuter{}))
	if len(seen) < 40 {
		t.Fatalf("walked only %d types", len(seen))
	}
}

// TestInitJSONReadObject: the config read off the pipe in pieces, with
// what follows it, and the errors json.Decoder gives.
func TestInitJSONReadObject(t *testing.T) {
	c := filledInitConfig(t)
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var want initConfig
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	var got initConfig
	in := append(append([]byte(" \n"), data...), `{"type":"next"}`...)
	if err := decodeInitConfig(iotest.OneByteReader(bytes.NewReader(in)), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("read byte by byte: differs from encoding/json")
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", io.EOF},
		{"  ", io.EOF},
		{`{"args":["a"`, io.ErrUnexpectedEOF},
		{`{"args":"\"}`, io.ErrUnexpectedEOF},
	} {
		var c initConfig
		err := decodeInitConfig(iotest.OneByteReader(strings.NewReader(tc.in)), &c)
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, err, tc.want)
		}
	}
	// Not an object, or not JSON: encoding/json's error.
	for _, in := range []string{`[1]`, `"s"`, `x`, `{"args":[1,]}`, `{"uid":01}`} {
		var c initConfig
		errGot := decodeInitConfig(strings.NewReader(in), &c)
		var d initConfig
		errWant := json.NewDecoder(strings.NewReader(in)).Decode(&d)
		if errGot == nil || errWant == nil || errGot.Error() != errWant.Error() {
			t.Errorf("%q: %v, encoding/json: %v", in, errGot, errWant)
		}
	}
}
