package stdlib

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// TestBodiesAreTheJSONModule: a json body is the bytes json.encode
// gives for the same value, and response.json() is what json.decode
// gives for the body: one encoder and one decoder, the library's, for
// scripts and for HTTP. A body that is not JSON, or nests past
// MaxNesting, decodes to nothing.
func TestBodiesAreTheJSONModule(t *testing.T) {
	thread := &starlark.Thread{Name: "test"}
	eval := func(expr string) starlark.Value {
		v, err := starlark.EvalOptions(&syntax.FileOptions{}, thread, "test.star", expr, starlark.StringDict{"json": jsonModule()})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	for _, expr := range []string{
		`{"user": "u", "password": "p<&>", "n": 3, "f": 1.5, "ok": True, "none": None}`,
		`[1, "two", [3.25], {"z": 1, "a": {"b": []}}]`,
		`"caf\u00e9 \t\n"`,
		`12345678901234567890123`,
	} {
		v := eval(expr)
		body, err := encodeJSON("http.post", v)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		want := eval("json.encode(" + expr + ")")
		if string(body) != string(want.(starlark.String)) {
			t.Errorf("json body of %s is %s; json.encode gives %s", expr, body, want)
		}
		got, ok := decodeJSON(body)
		if !ok {
			t.Fatalf("%s does not decode", body)
		}
		if eq, err := starlark.Equal(got, eval("json.decode("+string(want.String())+")")); err != nil || !eq {
			t.Errorf("%s decodes to %s; json.decode gives otherwise", body, got)
		}
	}
	for _, body := range []string{"", "not json", `{"a": 1} trailing`, strings.Repeat("[", MaxNesting+1) + strings.Repeat("]", MaxNesting+1)} {
		if v, ok := decodeJSON([]byte(body)); ok {
			t.Errorf("%.40q decoded to %s", body, v)
		}
	}
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
