package scenario

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// fromStar runs src and decodes its `scenario` dict as a .star scenario.
func fromStar(t *testing.T, src string) (*Scenario, error) {
	t.Helper()
	opts := &syntax.FileOptions{}
	f, err := opts.Parse("s.star", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	globals, err := starlark.ExecFileOptions(opts, &starlark.Thread{}, "s.star", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	return FromStarlarkFile("s.star", f, globals["scenario"])
}

// TestStarlarkWorkbookNesting checks that a .star scenario dict accepts
// the workbook nesting of the YAML, into the same model.
func TestStarlarkWorkbookNesting(t *testing.T) {
	s, err := fromStar(t, `
pool = {"id": "p", "ranges": ["127.0.0.2-127.0.0.3"], "allocation_strategy": "sequential"}
scenario = {
    "name": "nested",
    "workbook": {"ip_pools": [pool], "variables": {"greeting": "hi"}, "tenants": [{"id": "t"}]},
    "load": {"user_lifetime": {"mode": "loop", "iterations": 2}},
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "nested" || len(s.Pools) != 1 || len(s.Pools[0].Addrs) != 2 || len(s.Tenants) != 1 || s.Variables == nil || s.Load.Lifetime.Mode != Loop {
		t.Errorf("decoded %+v", s)
	}
}

func TestStarlarkDictPositions(t *testing.T) {
	_, err := fromStar(t, `
scenario = {
    "workbook": {"ip_pools": [{"id": "p", "ranges": ["127.0.0.2"]}]},
    "ip_pools": [],
    "load": {"duration": "soon", "graceful_stop": 5},
}
`)
	want := []string{
		`s.star:3:18: ip_pools is given both at the top level (line 4) and under workbook:`,
		`s.star:5:26: duration: "soon" is not a duration`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got\n%v\nwant %d errors", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("got %q, want %q", lines[i], w)
		}
	}
}

// TestCheckFlowExports checks that names exported with user or workbook
// scope may be read, and that an export the check cannot read turns it
// off rather than guess.
func TestCheckFlowExports(t *testing.T) {
	check := func(src string) ErrorList {
		f, err := (&syntax.FileOptions{}).Parse("f.star", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		return CheckFlow("f.star", f, nil, &Scenario{})
	}
	ok := `
def flow(user):
    http.get("http://h:1/", export = [{"name": "token", "scope": "user"}, {"name": "shared", "scope": "workbook"}])
    return user.token, vars.shared, user.id, user.data
`
	if errs := check(ok); len(errs) != 0 {
		t.Errorf("exported names refused: %v", errs)
	}
	unknown := `
EXPORTS = [{"name": "token", "scope": "user"}]
def flow(user):
    http.get("http://h:1/", export = EXPORTS)
    return user.anything, vars.anything
`
	if errs := check(unknown); len(errs) != 0 {
		t.Errorf("an export built elsewhere should turn the check off: %v", errs)
	}
	if errs := check("def flow(user):\n    return user.tokn, vars.x\n"); len(errs) != 2 {
		t.Errorf("want 2 errors, got %v", errs)
	}
}

// TestStarlarkDictSetLater checks that an entry set after the dict is
// written (scenario["load"] = ...) is reported where it is set.
func TestStarlarkDictSetLater(t *testing.T) {
	_, err := fromStar(t, `
scenario = {"name": "later"}
scenario["load"] = {"duration": "soon"}
`)
	if err == nil || !strings.HasPrefix(err.Error(), `s.star:3:33: duration: "soon" is not a duration`) {
		t.Errorf("got %v", err)
	}
}

func TestEndlessLoops(t *testing.T) {
	src := `
def flow(user):
    while True:
        sleep("1ms")
    while True:
        for x in range(3):
            if x == user.id:
                break
    while True:
        fail("no", reason = "x")
    while user.id:
        pass
`
	f, err := (&syntax.FileOptions{While: true}).Parse("l.star", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := EndlessLoops("l.star", f)
	if len(w) != 1 || w[0].Pos.String() != "l.star:3:5" {
		t.Errorf("got %v, want one warning at l.star:3:5", w)
	}
}
