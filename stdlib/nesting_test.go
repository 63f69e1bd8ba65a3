package stdlib

import (
	"fmt"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// deepProgram builds values nested past MaxNesting the way a scenario
// would (a loop), and just under it, and evaluates expr on them.
const deepProgram = `
def build(n, wrap):
    x = []
    for i in range(n):
        x = wrap(x)
    return x

deep = build(%d, lambda x: [x])
deep_tuple = build(%d, lambda x: (x,))
deep_dict = build(%d, lambda x: {"a": x})
deep_struct = build(%d, lambda x: struct(a = x))
ok = build(%d, lambda x: [x])
shared = build(60, lambda x: [x, x])  # 2**60 paths, 60 levels
loop = [1]
loop.append(loop)
deep_json = "[" * %d + "]" * %d
`

func deepGlobals(t *testing.T) (starlark.StringDict, starlark.StringDict) {
	t.Helper()
	pre := Predeclared()
	over, at := MaxNesting, MaxNesting-1 // wraps around the innermost []
	code := fmt.Sprintf(deepProgram, over, over, over, over, at, MaxNesting+1, MaxNesting+1)
	globals, err := starlark.ExecFileOptions(&syntax.FileOptions{}, &starlark.Thread{}, "deep.star", code, pre)
	if err != nil {
		t.Fatal(err)
	}
	return pre, globals
}

// TestNestingBound: the formatters and the JSON encoder and decoder that
// a scenario reaches refuse values nested more than MaxNesting deep with
// an error, instead of recursing until Go's stack overflows (a fatal
// error no recover catches); values within the bound, shared ones and
// ones that contain themselves are formatted as before.
func TestNestingBound(t *testing.T) {
	pre, globals := deepGlobals(t)
	env := starlark.StringDict{}
	for k, v := range pre {
		env[k] = v
	}
	for k, v := range globals {
		env[k] = v
	}
	th := &starlark.Thread{}
	for expr, want := range map[string]string{
		"json.encode(deep)":        "json.encode: the list nests containers more than 1000 levels deep",
		"json.encode_indent(deep)": "json.encode_indent: the list nests",
		"json.encode(deep_dict)":   "json.encode: the dict nests",
		"json.encode(deep_struct)": "json.encode: the struct nests",
		"json.decode(deep_json)":   "json.decode: the JSON text nests arrays and objects more than 1000 levels deep",
		"str(deep)":                "str: the list nests",
		"str(deep_tuple)":          "str: the tuple nests",
		"repr(deep_dict)":          "repr: the dict nests",
		"print(1, deep)":           "print: the list nests",
		"fail(deep)":               "<list nested more than 1000 levels deep>",
	} {
		_, err := starlark.EvalOptions(&syntax.FileOptions{}, th, "t", expr, env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", expr, err, want)
		}
	}
	for expr, want := range map[string]string{
		"len(json.encode(ok))": "2000",
		"len(str(ok))":         "2000",
		"str(loop)":            `"[1, [...]]"`,
		"json.decode('[[1]]')": "[[1]]",
		`json.decode("[" * 999 + "]" * 999) != None`: "True",
		`json.decode('"[[["')`:                       `"[[["`,
	} {
		v, err := starlark.EvalOptions(&syntax.FileOptions{}, th, "t", expr, env)
		if err != nil || v.String() != want {
			t.Errorf("%s: got %v, %v; want %s", expr, v, err, want)
		}
	}
	// A value with 2**60 paths through 61 lists is checked once per
	// list (walking every path would not end).
	if tooDeep(globals["shared"]) {
		t.Error("shared: 61 levels found too deep")
	}
	if _, err := encodeJSON("http.post", globals["deep"]); err == nil || !strings.Contains(err.Error(), "more than 1000 levels deep") {
		t.Errorf("a request's json body nested too deep: %v", err)
	}
	if s := str(globals["deep"]); s != "<list nested more than 1000 levels deep>" {
		t.Errorf("str: %.100s", s)
	}
}
