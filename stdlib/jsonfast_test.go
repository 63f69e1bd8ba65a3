package stdlib

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// decodeJSONRef and toStarlarkRef are how a body was decoded before
// parseJSON: a json.Decoder with UseNumber, then the Go value converted.
// parseJSON must give the same value for every input.
func decodeJSONRef(b []byte) (starlark.Value, bool) {
	if len(b) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return toStarlarkRef(v), true
}

func toStarlarkRef(v any) starlark.Value {
	switch v := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(v)
	case string:
		return starlark.String(v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return starlark.MakeInt64(i)
		}
		f, _ := v.Float64()
		return starlark.Float(f)
	case []any:
		l := make([]starlark.Value, len(v))
		for i, x := range v {
			l[i] = toStarlarkRef(x)
		}
		return starlark.NewList(l)
	case map[string]any:
		d := starlark.NewDict(len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = d.SetKey(starlark.String(k), toStarlarkRef(v[k]))
		}
		return d
	}
	return starlark.None
}

// sameJSON compares what parseJSON and the reference made of in.
func sameJSON(t *testing.T, in []byte) {
	t.Helper()
	got, gotOK := parseJSON(in)
	want, wantOK := decodeJSONRef(in)
	if gotOK != wantOK {
		t.Fatalf("%q: parsed %v, encoding/json %v", in, gotOK, wantOK)
	}
	if !gotOK {
		return
	}
	// String shows types (1 against 1.0), order and escapes.
	if got.String() != want.String() || got.Type() != want.Type() {
		t.Fatalf("%q: parsed %s %s, encoding/json %s %s", in, got.Type(), got, want.Type(), want)
	}
}

var jsonSamples = []string{
	`{"token":"t0k3n"}`, `{}`, `[]`, `[1,2,3]`, `{"a":[{"b":null}],"c":true,"d":false}`,
	` {"b":1,"a":2} trailing garbage`, `{"a":1,"a":2,"b":0,"a":3}`, `"x"`, `123`, `123abc`, `01`, `-0`, `-`, `-a`,
	`1.5`, `1.`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `-1.25e-3`, `9223372036854775807`, `9223372036854775808`,
	`-9223372036854775808`, `-9223372036854775809`, `1e400`, `-1e400`, `1e-400`, `0.0`, `-0.0`,
	`true`, `truex`, `tru`, `null`, `nul`, `false `, ``, `   `, "\t\n\r {\"a\" : 1 } ", `{"a" 1}`, `{"a":1,}`, `[1,]`, `[,1]`,
	`{a:1}`, `{"a":1 "b":2}`, `[1 2]`, `"unterminated`, `"\u00e9\u4e2d\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
	`"\ud83d\u0041"`, `"\ude00\ud83d"`, `"\ud83d\ud83d\ude00"`, `"\u12"`, `"\u12g4"`, `"\ud83d\u12"`, `"\x"`, `"\'"`,
	`"\"\\\/\b\f\n\r\t"`, "\"tab\tin\"", "\"nl\nin\"", "\"del\x7fok\"", "\"bad\xffutf8\xc3\"", "\"\xed\xa0\x80\"",
	"\"caf\xc3\xa9\"", `[[[[[]]]]]`, `{"":""}`, `{"\u0000":"\u0000"}`, `[1,"a",[true,{"z":null,"y":[]}],2.5]`,
	`NaN`, `Infinity`, `+1`, `{"a":{"b":{"c":{}}}}`, `[`, `{`, `{"a"`, `{"a":`, `{"a":1`, `[1`, "\xef\xbb\xbf{}",
}

func TestParseJSONAsEncodingJSON(t *testing.T) {
	for _, s := range jsonSamples {
		sameJSON(t, []byte(s))
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	sameJSON(t, []byte(deep))
	sameJSON(t, []byte("["+deep+"]"))
	sameJSON(t, []byte(strings.Repeat(`{"a":`, 10001)+"1"+strings.Repeat("}", 10001)))
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { sameJSON(t, b) })
}

// sameEncoding compares appendJSON with json.Marshal(toGo(v)).
func sameEncoding(t *testing.T, v starlark.Value) {
	t.Helper()
	got, ok := appendJSON(nil, v, 0)
	g, err := toGo(v)
	if err != nil {
		if ok {
			t.Fatalf("%s: encoded %s, toGo fails: %v", v, got, err)
		}
		return
	}
	want, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if ok && !bytes.Equal(got, want) {
		t.Fatalf("%s: encoded %s, encoding/json %s", v, got, want)
	}
}

func TestAppendJSONAsEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `q"uote`, `back\slash`, "<tag>&amp;", "\x00\x01\x08\x0c\n\r\t\x1f\x7f",
		"caf\xc3\xa9", "bad\xffutf8\xc3", "\u2028\u2029", "\xed\xa0\x80", "😀", "z", "Z", "a b"}
	var vals []starlark.Value
	for _, s := range strs {
		vals = append(vals, starlark.String(s))
	}
	vals = append(vals, starlark.None, starlark.True, starlark.False, starlark.MakeInt(0), starlark.MakeInt(-42),
		starlark.MakeInt64(1<<62), starlark.MakeInt64(-1<<63), starlark.Float(1.5))
	big := starlark.MakeInt64(1 << 62).Mul(starlark.MakeInt(8))
	vals = append(vals, big)
	d := starlark.NewDict(len(strs))
	for i, s := range strs {
		_ = d.SetKey(starlark.String(s), vals[(i*7)%len(strs)])
	}
	nested := starlark.NewDict(2)
	_ = nested.SetKey(starlark.String("d"), d)
	_ = nested.SetKey(starlark.String("l"), starlark.NewList(append([]starlark.Value(nil), vals...)))
	_ = nested.SetKey(starlark.String("t"), starlark.Tuple{starlark.MakeInt(1), starlark.NewList(nil), starlark.NewDict(0)})
	badKey := starlark.NewDict(1)
	_ = badKey.SetKey(starlark.MakeInt(1), starlark.None)
	deep := starlark.Value(starlark.NewList(nil))
	for range 40 {
		deep = starlark.NewList([]starlark.Value{deep})
	}
	for _, v := range append(vals, d, nested, badKey, deep, starlark.NewList(vals), starlark.Tuple(vals)) {
		sameEncoding(t, v)
	}
	plain := starlark.NewDict(2)
	_ = plain.SetKey(starlark.String("d"), d)
	_ = plain.SetKey(starlark.String("l"), starlark.NewList([]starlark.Value{starlark.MakeInt(1), starlark.String("s"), starlark.None, starlark.Tuple{}}))
	if _, ok := appendJSON(nil, plain, 0); !ok {
		t.Error("a dict of strings, integers and lists took the slow path")
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("k", "v", int64(1), true)
	f.Add("<&>", "\xff\u2028", int64(-1), false)
	f.Fuzz(func(t *testing.T, k, s string, i int64, b bool) {
		d := starlark.NewDict(3)
		_ = d.SetKey(starlark.String(k), starlark.String(s))
		_ = d.SetKey(starlark.String(s), starlark.NewList([]starlark.Value{starlark.MakeInt64(i), starlark.Bool(b), starlark.None}))
		_ = d.SetKey(starlark.String(k+s), starlark.Tuple{starlark.String(k)})
		sameEncoding(t, d)
	})
}

// TestBodyHeadersStayShared: a json call's header is shared with the
// others that send nothing else; one that adds a header gets its own
// copy, and the shared one stays as it was.
func TestBodyHeadersStayShared(t *testing.T) {
	body := starlark.NewDict(1)
	_ = body.SetKey(starlark.String("a"), starlark.MakeInt(1))
	auth := starlark.NewDict(1)
	_ = auth.SetKey(starlark.String("bearer"), starlark.String("tok"))
	prep := func(withAuth bool) prepared {
		a := &httpArgs{url: "http://127.0.0.1:1/", json: body, conf: DefaultHTTP()}
		if withAuth {
			a.auth = auth
		}
		var p prepared
		if err := prepare("http.post", a, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, withAuth := range []bool{false, true, false} {
		p := prep(withAuth)
		if got := p.headers.Get("Content-Type"); got != "application/json" {
			t.Errorf("auth %v: Content-Type %q", withAuth, got)
		}
		if got := p.headers.Get("Authorization"); (got != "") != withAuth {
			t.Errorf("auth %v: Authorization %q", withAuth, got)
		}
		if !withAuth && len(p.headers) != 1 {
			t.Errorf("a json call's headers are %v", p.headers)
		}
	}
	if len(bodyHeaders["application/json"]) != 1 {
		t.Errorf("the shared header was changed: %v", bodyHeaders["application/json"])
	}
}

// TestBytesAreNoJSON: bytes, whose elements are bytes again, are refused
// rather than walked without end.
func TestBytesAreNoJSON(t *testing.T) {
	l := starlark.NewList([]starlark.Value{starlark.Bytes("x")})
	if _, err := encodeJSON("http.post", l); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("bytes in a json body: %v", err)
	}
}
