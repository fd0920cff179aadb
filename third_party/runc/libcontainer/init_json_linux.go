package libcontainer

// hako patch 21: the init decodes its config without encoding/json's type
// analysis.
//
// encoding/json (Go 1.26) builds, for every struct type it decodes, the
// field list and the encoders of every field type, recursively: decoding
// initConfig once in a fresh process analyses the whole type graph of
// configs.Config (cgroups.Resources, hooks, the seccomp types, ...), ~2 ms
// of the init's ~2.6 ms decode on a PVM host, before a byte of the config
// is used. decodeInitConfig reads the JSON object off the pipe and fills
// the value with a small reflection decoder that looks only at the types
// the data holds, checking the syntax as it goes. Anything it does not handle the way encoding/json does —
// types with their own UnmarshalJSON or UnmarshalText, interfaces, the
// ",string" option, escaped or non-UTF-8 strings, numbers it cannot parse,
// map keys that are not strings or integers — it hands to encoding/json
// for that value alone, and any error makes the whole config decode again
// with encoding/json from the same bytes, so the result and the errors are
// encoding/json's (TestInitJSONSameAsEncodingJSON compares both ways).

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// decodeInitConfig reads one JSON value from r into config.
func decodeInitConfig(r io.Reader, config *initConfig) error {
	raw, err := readObject(r)
	if err != nil {
		return err
	}
	return unmarshalLite(raw, config)
}

// readObject reads from r until it holds a whole JSON object and returns
// it. Like json.Decoder, it may read past the object what r has already
// received (the parent sends nothing more until the init answers). Its
// syntax is checked where the value is decoded: by liteDecoder, and by
// encoding/json for anything liteDecoder does not take.
func readObject(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 64<<10)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		d := liteDecoder{data: buf}
		d.skipSpace()
		if d.pos < len(buf) && buf[d.pos] != '{' {
			// Not an object: encoding/json reads it (and says what is wrong).
			var raw json.RawMessage
			if err := json.NewDecoder(io.MultiReader(bytes.NewReader(buf), r)).Decode(&raw); err != nil {
				return nil, err
			}
			return raw, nil
		}
		if d.pos < len(buf) && d.skipValue() == nil {
			return buf[:d.pos], nil
		}
		if err != nil {
			if err == io.EOF && len(bytes.TrimSpace(buf)) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// unmarshalLite is json.Unmarshal(data, v) for a pointer v, decoding
// through liteDecoder when it can.
func unmarshalLite(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(data, v)
	}
	if err := tryLite(data, rv.Elem()); err != nil {
		// Start over with encoding/json: same result, same errors.
		rv.Elem().SetZero()
		return json.Unmarshal(data, v)
	}
	return nil
}

// tryLite decodes data into v with liteDecoder alone.
func tryLite(data []byte, v reflect.Value) error {
	if tooDeep(data) {
		// encoding/json refuses it; its sub-values, which this decoder
		// hands to it, would each be within the limit.
		return errLiteSyntax
	}
	d := liteDecoder{data: data}
	if err := d.value(v); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return errLiteSyntax
	}
	return nil
}

var errLiteSyntax = errors.New("init config: unexpected JSON")

// maxNestingDepth is encoding/json's limit on nested arrays and objects.
const maxNestingDepth = 10000

// tooDeep reports whether data nests arrays and objects deeper than
// encoding/json accepts (brackets inside strings do not count).
func tooDeep(data []byte) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > maxNestingDepth {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

type liteDecoder struct {
	data []byte
	pos  int
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonNumberType      = reflect.TypeFor[json.Number]()
)

func (d *liteDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value decodes the next JSON value into v (addressable).
func (d *liteDecoder) value(v reflect.Value) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return errLiteSyntax
	}
	t := v.Type()
	// Types that decode themselves, and interfaces: encoding/json, for
	// this value only (neither needs its type analysis of t).
	if t.Kind() == reflect.Interface || t == jsonNumberType || reflect.PointerTo(t).Implements(jsonUnmarshalerType) ||
		reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return d.delegate(v)
	}
	c := d.data[d.pos]
	if c == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		// encoding/json leaves any other value as it is.
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.value(v.Elem())
	case reflect.Struct:
		if c != '{' {
			return errLiteSyntax
		}
		return d.object(v)
	case reflect.Map:
		if c != '{' {
			return errLiteSyntax
		}
		return d.mapValue(v)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && c == '"' {
			s, err := d.strBytes()
			if err != nil {
				return err
			}
			b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
			n, err := base64.StdEncoding.Decode(b, s)
			if err != nil {
				return err
			}
			v.SetBytes(b[:n])
			return nil
		}
		if c != '[' {
			return errLiteSyntax
		}
		return d.array(v)
	case reflect.String:
		if c != '"' {
			return errLiteSyntax
		}
		s, err := d.str()
		if err != nil {
			return err
		}
		v.SetString(s)
		return nil
	case reflect.Bool:
		switch c {
		case 't':
			v.SetBool(true)
			return d.literal("true")
		case 'f':
			v.SetBool(false)
			return d.literal("false")
		}
		return errLiteSyntax
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(d.number(), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return errLiteSyntax
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(d.number(), 10, 64)
		if err != nil || v.OverflowUint(n) {
			return errLiteSyntax
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(d.number(), t.Bits())
		if err != nil || v.OverflowFloat(n) {
			return errLiteSyntax
		}
		v.SetFloat(n)
		return nil
	}
	return d.delegate(v)
}

// delegate decodes the next value with encoding/json.
func (d *liteDecoder) delegate(v reflect.Value) error {
	start := d.pos
	if err := d.skipValue(); err != nil {
		return err
	}
	if !v.CanAddr() || !v.Addr().CanInterface() {
		return errLiteSyntax // a field of an unexported embedded type: encoding/json's way
	}
	return json.Unmarshal(d.data[start:d.pos], v.Addr().Interface())
}

func (d *liteDecoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return errLiteSyntax
	}
	d.pos += len(lit)
	return nil
}

// number returns the next number's text, empty if it is not a JSON
// number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *liteDecoder) number() string {
	start := d.pos
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		return ""
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return ""
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return ""
		}
	}
	return string(d.data[start:d.pos])
}

// str returns the next string, unquoted.
func (d *liteDecoder) str() (string, error) {
	b, err := d.strBytes()
	return string(b), err
}

// strBytes returns the next string, unquoted: a slice of the data unless
// it holds an escape or bytes that are not UTF-8, which encoding/json
// unquotes.
func (d *liteDecoder) strBytes() ([]byte, error) {
	start := d.pos
	d.pos++ // the opening quote
	plain := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			body := d.data[start+1 : d.pos-1]
			if plain && utf8.Valid(body) {
				return body, nil
			}
			var s string
			err := json.Unmarshal(d.data[start:d.pos], &s)
			return []byte(s), err
		case c == '\\':
			plain = false
			d.pos += 2
			continue
		case c < 0x20:
			return nil, errLiteSyntax
		}
		d.pos++
	}
	return nil, errLiteSyntax
}

// skipValue moves past the next value. It checks only what it needs to
// find the value's end: what it skips, encoding/json then decodes or
// checks.
func (d *liteDecoder) skipValue() error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return errLiteSyntax
	}
	switch c := d.data[d.pos]; c {
	case '"':
		_, err := d.rawString()
		return err
	case '{', '[':
		depth := 0
		for d.pos < len(d.data) {
			switch d.data[d.pos] {
			case '"':
				if _, err := d.rawString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					d.pos++
					return nil
				}
			}
			d.pos++
		}
		return errLiteSyntax
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		if d.number() == "" {
			return errLiteSyntax
		}
		return nil
	}
}

// rawString moves past the next string and returns it, quotes included.
func (d *liteDecoder) rawString() ([]byte, error) {
	start := d.pos
	d.pos++
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case '"':
			d.pos++
			return d.data[start:d.pos], nil
		case '\\':
			d.pos += 2
			continue
		}
		d.pos++
	}
	return nil, errLiteSyntax
}

// members calls fn for each member of the object at d.pos, fn decoding
// (or skipping) the value.
func (d *liteDecoder) members(fn func(key []byte) error) error {
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return errLiteSyntax
		}
		key, err := d.strBytes()
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return errLiteSyntax
		}
		d.pos++
		if err := fn(key); err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return errLiteSyntax
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return errLiteSyntax
		}
	}
}

func (d *liteDecoder) object(v reflect.Value) error {
	fields, ok := liteFields(v.Type())
	if !ok {
		return d.delegate(v)
	}
	return d.members(func(key []byte) error {
		f := fields.find(key)
		if f == nil {
			// An unknown member: skipped, once encoding/json finds it valid.
			d.skipSpace()
			start := d.pos
			if err := d.skipValue(); err != nil {
				return err
			}
			if !json.Valid(d.data[start:d.pos]) {
				return errLiteSyntax
			}
			return nil
		}
		fv, err := fieldByIndex(v, f.index)
		if err != nil {
			return err
		}
		return d.value(fv)
	})
}

// fieldByIndex is v.FieldByIndex, allocating nil embedded pointers as
// encoding/json does.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errLiteSyntax
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

func (d *liteDecoder) mapValue(v reflect.Value) error {
	t := v.Type()
	kt := t.Key()
	switch kt.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		return d.delegate(v)
	}
	if reflect.PointerTo(kt).Implements(textUnmarshalerType) {
		return d.delegate(v)
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	return d.members(func(key []byte) error {
		elem := reflect.New(t.Elem()).Elem()
		if err := d.value(elem); err != nil {
			return err
		}
		k := reflect.New(kt).Elem()
		switch kt.Kind() {
		case reflect.String:
			k.SetString(string(key))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n, err := strconv.ParseInt(string(key), 10, 64)
			if err != nil || k.OverflowInt(n) {
				return errLiteSyntax
			}
			k.SetInt(n)
		default:
			n, err := strconv.ParseUint(string(key), 10, 64)
			if err != nil || k.OverflowUint(n) {
				return errLiteSyntax
			}
			k.SetUint(n)
		}
		v.SetMapIndex(k, elem)
		return nil
	})
}

func (d *liteDecoder) array(v reflect.Value) error {
	d.pos++ // '['
	v.SetLen(0)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		return nil
	}
	i := 0
	for {
		if i >= v.Cap() {
			v.Grow(1)
		}
		v.SetLen(i + 1)
		if err := d.value(v.Index(i)); err != nil {
			return err
		}
		i++
		d.skipSpace()
		if d.pos >= len(d.data) {
			return errLiteSyntax
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return errLiteSyntax
		}
	}
}

// liteField is a struct field as encoding/json names it.
type liteField struct {
	name  string
	index []int
	typ   reflect.Type
	tag   bool
}

type liteStruct []liteField

// find matches a key as encoding/json does: the exact name, else the
// first field whose name equals it without regard to case.
func (fs liteStruct) find(key []byte) *liteField {
	for i := range fs {
		if string(key) == fs[i].name {
			return &fs[i]
		}
	}
	folded := string(foldName(key))
	for i := range fs {
		if string(foldName([]byte(fs[i].name))) == folded {
			return &fs[i]
		}
	}
	return nil
}

var liteCache sync.Map // reflect.Type → liteStruct, or nil if not handled

// liteFields lists t's JSON fields in encoding/json's order, with its
// rules for embedded structs (fields promoted from untagged embedded
// structs; a shallower name wins, then a tagged one at the same depth,
// else the name is dropped). ok is false for what liteDecoder leaves to
// encoding/json: the ",string" option.
func liteFields(t reflect.Type) (liteStruct, bool) {
	if c, ok := liteCache.Load(t); ok {
		fs := c.(liteStruct)
		return fs, fs != nil
	}
	fs, ok := typeLiteFields(t)
	if !ok {
		fs = nil
	}
	liteCache.Store(t, fs)
	return fs, ok
}

func typeLiteFields(t reflect.Type) (liteStruct, bool) {
	if fs, ok := flatLiteFields(t); ok {
		return fs, true
	}
	type queued struct {
		typ   reflect.Type
		index []int
	}
	current := []queued{}
	next := []queued{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []liteField
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := 0; i < q.typ.NumField(); i++ {
				sf := q.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				if hasOpt(opts, "string") {
					return nil, false
				}
				index := make([]int, len(q.index)+1)
				copy(index, q.index)
				index[len(q.index)] = i
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, liteField{name: name, index: index, typ: sf.Type, tag: tagged})
					if count[q.typ] > 1 {
						// The same type embedded twice at this depth: a
						// duplicate, which dominance below drops.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}
	// Dominance: per name, the shallowest fields; of those one, or the one
	// tagged; otherwise the name is dropped.
	byName := map[string][]int{}
	var order []string
	for i, f := range fields {
		if _, ok := byName[f.name]; !ok {
			order = append(order, f.name)
		}
		byName[f.name] = append(byName[f.name], i)
	}
	var out liteStruct
	for _, name := range order {
		idx := byName[name]
		depth := len(fields[idx[0]].index)
		var cands []int
		for _, i := range idx {
			switch l := len(fields[i].index); {
			case l < depth:
				depth, cands = l, []int{i}
			case l == depth:
				cands = append(cands, i)
			}
		}
		if len(cands) > 1 {
			var tagged []int
			for _, i := range cands {
				if fields[i].tag {
					tagged = append(tagged, i)
				}
			}
			if len(tagged) != 1 {
				continue
			}
			cands = tagged
		}
		out = append(out, fields[cands[0]])
	}
	// encoding/json's order: by index sequence.
	sortFields(out)
	return out, true
}

// flatLiteFields is typeLiteFields for the common struct: no struct to
// explore for promoted fields, no ",string", no name twice. ok is false
// for any other.
func flatLiteFields(t reflect.Type) (liteStruct, bool) {
	n := t.NumField()
	fs := make(liteStruct, 0, n)
	index := make([]int, n)
	for i := 0; i < n; i++ {
		sf := t.Field(i)
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = ""
		}
		if sf.Anonymous || (opts != "" && hasOpt(opts, "string")) {
			return nil, false
		}
		tagged := name != ""
		if !tagged {
			name = sf.Name
		}
		for j := range fs {
			if fs[j].name == name {
				return nil, false
			}
		}
		index[i] = i
		fs = append(fs, liteField{name: name, index: index[i : i+1 : i+1], typ: sf.Type, tag: tagged})
	}
	return fs, true
}

func sortFields(fs liteStruct) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && indexLess(fs[j].index, fs[j-1].index); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

func indexLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// validTagName is encoding/json's isValidTag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// foldName is encoding/json's: ASCII letters upper-cased, other runes
// mapped through unicode.ToUpper(unicode.ToLower(r)).
func foldName(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune is encoding/json's (Go 1.26): the smallest rune of r's
// simple case-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}
