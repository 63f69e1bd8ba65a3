package stdlib

import (
	"slices"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/transport"
)

// builtin finds the Starlark function the catalog calls name ("check",
// "http.get") among the predeclared values.
func builtin(t *testing.T, predeclared starlark.StringDict, name string) starlark.Callable {
	t.Helper()
	mod, member, dotted := strings.Cut(name, ".")
	v, ok := predeclared[mod]
	if !ok {
		t.Fatalf("%s is in the catalog but not predeclared", name)
	}
	if dotted {
		ha, ok := v.(starlark.HasAttrs)
		if !ok {
			t.Fatalf("%s: %s is not a module", name, mod)
		}
		if v, _ = ha.Attr(member); v == nil {
			t.Fatalf("%s is in the catalog but %s has no %s", name, mod, member)
		}
	}
	fn, ok := v.(starlark.Callable)
	if !ok {
		t.Fatalf("%s is not callable", name)
	}
	return fn
}

// TestBuiltinsTakeExactlyTheCatalogKeys calls every built-in function of
// the catalog with each of its keys and with a key it lacks: each listed
// key must be accepted as a keyword (whatever the call then makes of its
// value), and the stranger rejected by name.
func TestBuiltinsTakeExactlyTheCatalogKeys(t *testing.T) {
	predeclared := Predeclared()
	for _, f := range catalog.Funcs {
		fn := builtin(t, predeclared, f.Name)
		for _, k := range f.Params {
			thread := &starlark.Thread{Name: "test"}
			_, err := starlark.Call(thread, fn, nil, []starlark.Tuple{{starlark.String(k.Name), starlark.None}})
			if err != nil && strings.Contains(err.Error(), "unexpected keyword argument") {
				t.Errorf("%s does not take %s, which the catalog lists: %v", f.Name, k.Name, err)
			}
		}
		if f.Kwargs != "" {
			continue // any further keyword is passed on
		}
		thread := &starlark.Thread{Name: "test"}
		_, err := starlark.Call(thread, fn, nil, []starlark.Tuple{{starlark.String("no_such_key"), starlark.None}})
		if err == nil || !strings.Contains(err.Error(), `unexpected keyword argument "no_such_key"`) {
			t.Errorf("%s accepted a key the catalog lacks: %v", f.Name, err)
		}
	}
}

// TestUnknownKeySuggestsTheNearest keeps Starlark's did-you-mean for a
// misspelt keyword argument, which the catalog-driven unpacking must not lose.
func TestUnknownKeySuggestsTheNearest(t *testing.T) {
	fn := builtin(t, Predeclared(), "http.get")
	_, err := starlark.Call(&starlark.Thread{}, fn, starlark.Tuple{starlark.String("http://127.0.0.1:1/")},
		[]starlark.Tuple{{starlark.String("heders"), starlark.None}})
	if err == nil || !strings.Contains(err.Error(), "did you mean headers") {
		t.Errorf("got %v, want a suggestion of headers", err)
	}
}

func TestPredeclaredNamesAreTheCatalogs(t *testing.T) {
	predeclared := Predeclared()
	var want []string
	for _, n := range catalog.Predeclared {
		if n.PerRun {
			continue
		}
		want = append(want, n.Name)
		if len(n.Members) == 0 {
			continue
		}
		ha, ok := predeclared[n.Name].(starlark.HasAttrs)
		if !ok {
			t.Errorf("%s is a module in the catalog, not here", n.Name)
			continue
		}
		if got := ha.AttrNames(); !slices.Equal(got, slices.Sorted(slices.Values(n.Members))) {
			t.Errorf("%s has members %v, the catalog lists %v", n.Name, got, n.Members)
		}
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range predeclared {
			if !yield(k) {
				return
			}
		}
	})
	if slices.Sort(want); !slices.Equal(got, want) {
		t.Errorf("predeclared %v, the catalog lists %v", got, want)
	}
}

func TestResultAndUserAttrsAreTheCatalogs(t *testing.T) {
	r := &Result{Name: "x"}
	if got, want := r.AttrNames(), catalog.AttrNames(catalog.ResultAttrs); !slices.Equal(got, want) {
		t.Errorf("result attributes %v, the catalog lists %v", got, want)
	}
	for _, a := range catalog.ResultAttrs {
		if v, err := r.Attr(a.Name); err != nil || v == nil {
			t.Errorf("result.%s: %v, %v", a.Name, v, err)
		}
	}
	if v, _ := r.Attr("no_such_attr"); v != nil {
		t.Errorf("result.no_such_attr = %v, want no such field", v)
	}
	u := NewUser(1, nil)
	if got, want := u.AttrNames(), catalog.AttrNames(catalog.UserFields); !slices.Equal(got, want) {
		t.Errorf("user fields %v, the catalog lists %v", got, want)
	}
	for _, a := range catalog.UserFields {
		if v, err := u.Attr(a.Name); err != nil || v == nil {
			t.Errorf("user.%s: %v, %v", a.Name, v, err)
		}
	}
}

// TestExportKeysAreTheCatalogs checks export= against the catalog: every
// key and every type and scope it lists is taken, anything else refused.
func TestExportKeysAreTheCatalogs(t *testing.T) {
	export := func(kv map[string]starlark.Value) error {
		d := starlark.NewDict(len(kv))
		for k, v := range kv {
			_ = d.SetKey(starlark.String(k), v)
		}
		_, err := parseExports("f", starlark.NewList([]starlark.Value{d}))
		return err
	}
	for _, k := range catalog.Export.Keys {
		var v starlark.Value = starlark.String("x")
		if len(k.Values) > 0 {
			v = starlark.String(k.Values[0])
		}
		if err := export(map[string]starlark.Value{"name": starlark.String("n"), k.Name: v}); err != nil {
			t.Errorf("export key %s: %v", k.Name, err)
		}
	}
	if err := export(map[string]starlark.Value{"name": starlark.String("n"), "pth": starlark.String("x")}); err == nil {
		t.Errorf("export accepted the key pth, which the catalog lacks")
	}
	for _, key := range []string{"type", "scope"} {
		for _, v := range catalog.Export.Values(key) {
			if err := export(map[string]starlark.Value{"name": starlark.String("n"), key: starlark.String(v)}); err != nil {
				t.Errorf("export %s %s: %v", key, v, err)
			}
		}
		if err := export(map[string]starlark.Value{"name": starlark.String("n"), key: starlark.String("bogus")}); err == nil {
			t.Errorf("export accepted %s bogus", key)
		}
	}
}

// TestDurationsAsYAMLReadsThem: a .star call reads a duration with the
// same parser as YAML, so an overflowing one is refused in both.
func TestDurationsAsYAMLReadsThem(t *testing.T) {
	for _, v := range []starlark.Value{starlark.String("1e12"), starlark.Float(1e12), starlark.MakeInt64(1e12), starlark.String("-1s"), starlark.Float(-1)} {
		if d, err := durationArg("http.get", "timeout", v, 0); err == nil {
			t.Errorf("timeout=%s gave %v, want an error", v, d)
		}
	}
	for v, want := range map[starlark.Value]string{starlark.String("300ms"): "300ms", starlark.String("1.5"): "1.5s", starlark.MakeInt(2): "2s", starlark.Float(0.25): "250ms"} {
		if d, err := durationArg("http.get", "timeout", v, 0); err != nil || d.String() != want {
			t.Errorf("timeout=%s gave %v, %v; want %s", v, d, err, want)
		}
	}
}

// TestEnumsAreTheCatalogs: every cookie mode and compression the catalog
// lists is one the calls accept, each meaning something of its own, and
// nothing else is accepted.
func TestEnumsAreTheCatalogs(t *testing.T) {
	modes := map[CookieMode]string{}
	for _, s := range catalog.CookieModes {
		m, err := ParseCookieMode(s)
		if err != nil {
			t.Errorf("cookies %q: %v", s, err)
		}
		if prev, dup := modes[m]; dup {
			t.Errorf("cookies %q and %q are the same mode", prev, s)
		}
		modes[m] = s
	}
	if _, err := ParseCookieMode("session"); err == nil {
		t.Error("cookies \"session\" accepted")
	}
	seen := map[bool]string{}
	for _, s := range catalog.Compressions {
		on, err := compressionArg("http.get", starlark.String(s), !(s == catalog.CompressionGzip))
		if err != nil {
			t.Errorf("compression %q: %v", s, err)
		}
		if prev, dup := seen[on]; dup {
			t.Errorf("compression %q and %q mean the same", prev, s)
		}
		seen[on] = s
	}
	if _, err := compressionArg("http.get", starlark.String("br"), false); err == nil {
		t.Error("compression \"br\" accepted")
	}
	if got := transport.CurveNames(); !slices.Equal(got, catalog.TLSCurves) {
		t.Errorf("tls curves: transport reads %v, the catalog lists %v", got, catalog.TLSCurves)
	}
	if _, err := transport.ParseCurve("x448"); err == nil {
		t.Error("curve \"x448\" accepted")
	}
}

// TestCountIsTheCatalogs: parseCount accepts what the catalog's
// CountPattern does, and nothing else.
func TestCountIsTheCatalogs(t *testing.T) {
	for s, want := range map[string]countCond{"2": {"==", 2}, ">= 1": {">=", 1}, " != 0 ": {"!=", 0}, "<3": {"<", 3}} {
		c, err := parseCount(s)
		if err != nil || *c != want {
			t.Errorf("%q: %+v %v, want %+v", s, c, err, want)
		}
	}
	for _, s := range []string{"=> 1", "-1", "1.5", "== ", "> = 2", "two"} {
		if c, err := parseCount(s); err == nil {
			t.Errorf("%q accepted as %+v", s, c)
		}
	}
}
