package stdlib

import (
	"reflect"
	"testing"

	"go.starlark.net/starlark"
)

// TestUnpackLikeUnpackArgs: the allocation-free unpack stores what
// starlark.UnpackArgs stores, and fails with its very errors.
func TestUnpackLikeUnpackArgs(t *testing.T) {
	p := httpParams["http.get"]
	s := func(v string) starlark.Value { return starlark.String(v) }
	kw := func(pairs ...any) []starlark.Tuple {
		var out []starlark.Tuple
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, starlark.Tuple{starlark.String(pairs[i].(string)), pairs[i+1].(starlark.Value)})
		}
		return out
	}
	cases := []struct {
		name   string
		args   starlark.Tuple
		kwargs []starlark.Tuple
	}{
		{"url positional", starlark.Tuple{s("http://a/")}, nil},
		{"keywords of every kind", nil, kw("url", s("http://a/"), "name", s("n"), "retries", starlark.MakeInt(2),
			"discard_body", starlark.True, "headers", starlark.NewDict(0), "timeout", starlark.None)},
		{"missing url", nil, kw("name", s("n"))},
		{"unknown keyword", starlark.Tuple{s("http://a/")}, kw("nmae", s("n"))},
		{"twice", starlark.Tuple{s("http://a/")}, kw("url", s("http://b/"))},
		{"string wanted", nil, kw("url", starlark.MakeInt(1))},
		{"int wanted", starlark.Tuple{s("http://a/")}, kw("retries", s("2"))},
		{"int too large", starlark.Tuple{s("http://a/")}, kw("retries", starlark.MakeUint64(1<<63))},
		// Outside int32: UnpackArgs (starlark.AsInt) takes what fits the
		// Go int, and so must the fast path (retries = 2**40 is then
		// judged the same way whichever path read it).
		{"int beyond int32", starlark.Tuple{s("http://a/")}, kw("retries", starlark.MakeInt64(1<<40))},
		{"int below int32", starlark.Tuple{s("http://a/")}, kw("retries", starlark.MakeInt64(-1<<31-1), "redirects", starlark.MakeInt64(-1<<40))},
		{"bool wanted", starlark.Tuple{s("http://a/")}, kw("discard_body", starlark.MakeInt(1))},
		{"too many positional", starlark.Tuple{s("a"), s("b"), s("c"), s("d"), s("e"), s("f"), s("g"), s("h"), s("i"), s("j"), s("k"), s("l"), s("m"), s("n"), s("o"), s("p"), s("q"), s("r"), s("s"), s("t"), s("u"), s("v"), s("w"), s("x")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got, want httpArgs
			got.redirects, want.redirects = 7, 7
			gotErr := p.unpack("http.get", c.args, c.kwargs, &got)
			wantErr := starlark.UnpackArgs("http.get", c.args, c.kwargs, p.pairs(&want)...)
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("error %v, UnpackArgs says %v", gotErr, wantErr)
			}
			if wantErr == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("stored %+v, UnpackArgs stores %+v", got, want)
			}
		})
	}
	var a httpArgs
	args, kwargs := starlark.Tuple{s("http://a/")}, kw("name", s("n"), "discard_body", starlark.True)
	if n := testing.AllocsPerRun(100, func() { _ = p.unpack("http.get", args, kwargs, &a) }); n != 0 {
		t.Errorf("unpack allocates %.0f times per call, want 0", n)
	}
}
