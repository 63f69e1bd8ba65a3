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
