package runtime_test

import (
	"context"
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ntx-dev/ntx/engine/internal/expr"
	"github.com/ntx-dev/ntx/engine/internal/runtime"
	"github.com/ntx-dev/ntx/engine/internal/scenario"
	"github.com/ntx-dev/ntx/stdlib"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// noopHTTP replaces the http module so that a benchmark measures the
// Starlark side of an action alone: argument passing, the compiled node
// and action functions, edges and results. It answers like a response.
func noopHTTP() starlark.Value {
	resp := starlarkstruct.FromStringDict(starlark.String("response"), starlark.StringDict{
		"ok": starlark.True, "status_code": starlark.MakeInt(200),
	})
	resp.Freeze()
	fn := func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return resp, nil
	}
	members := starlark.StringDict{}
	for _, m := range []string{"request", "get", "post"} {
		members[m] = starlark.NewBuiltin("http."+m, fn)
	}
	return &starlarkstruct.Module{Name: "http", Members: members}
}

const benchYAML = `
name: step
resources:
  - {id: target, properties: {scheme: http, host: 127.0.0.1, port: 18090}}
modules: {lib: custom.star}
actions:
  - id: get-page
    call: get
    with:
      url: "{{target.scheme}}://{{target.host}}:{{target.port}}/page/{{user.id}}"
      headers: {X-Iteration: "{{user.iteration}}"}
  - id: custom-get
    call: lib.get
    with: {url: "http://127.0.0.1:18090/"}
tasks:
  - id: start
    action: get-page
    next:
      - {task: end, when: "{{get-page.status_code == 200 and get-page.ok}}"}
      - {task: again}
  - id: again
    action: get-page
`

const builtinYAML = `
name: builtin
actions:
  - {id: get, call: get, with: {url: "http://127.0.0.1:18090/"}}
tasks:
  - {id: start, action: get}
`

const customYAML = `
name: custom
modules: {lib: custom.star}
actions:
  - {id: custom-get, call: lib.get, with: {url: "http://127.0.0.1:18090/"}}
tasks:
  - {id: start, action: custom-get}
`

// flowOf loads a YAML scenario with the no-op http module and returns a
// function that runs one iteration of its flow.
func flowOf(b *testing.B, src string) func() {
	b.Helper()
	file := filepath.Join("testdata", "bench.yaml")
	p, err := runtime.Load(file, []byte(src), runtime.LoadOptions{Predeclared: starlark.StringDict{"http": noopHTTP()}})
	if err != nil {
		b.Fatal(err)
	}
	flow := p.Flow()
	user := stdlib.NewUser(1, nil)
	sess := &stdlib.Session{Shared: &stdlib.Shared{Ctx: context.Background(), Sink: discard{}, Vars: stdlib.NewVars(nil)}, User: user}
	thread := &starlark.Thread{}
	sess.Attach(thread)
	return func() {
		user.Iteration++
		if _, err := starlark.Call(thread, flow, starlark.Tuple{user}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Record(*metrics.Sample) {}
func (discard) Check(string, bool)     {}

// BenchmarkActionStep is the Starlark cost of one compiled action step:
// a node, its action with three templated arguments, one edge condition
// and the result kept for later templates. Goal: at most 2µs.
func BenchmarkActionStep(b *testing.B) {
	run := flowOf(b, benchYAML)
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}

// BenchmarkBuiltinAction is one built-in GET action with a literal URL.
func BenchmarkBuiltinAction(b *testing.B) {
	run := flowOf(b, builtinYAML)
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}

// BenchmarkCustomAction is the same GET made from a Starlark custom
// action (MODULE.FUNCTION) instead of the built-in: the sandboxed layer's
// extra cost per action, next to BenchmarkBuiltinAction.
func BenchmarkCustomAction(b *testing.B) {
	run := flowOf(b, customYAML)
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}

// BenchmarkTemplateRender renders a four-part URL template, as compiled,
// in Starlark.
func BenchmarkTemplateRender(b *testing.B) {
	s, err := scenario.Parse(filepath.Join("testdata", "t.yaml"), []byte(benchYAML))
	if err != nil {
		b.Fatal(err)
	}
	code, err := expr.Template("{{target.scheme}}://{{target.host}}:{{target.port}}/page/{{user.id}}", s.Scope(false), nil)
	if err != nil {
		b.Fatal(err)
	}
	target := starlarkstruct.FromStringDict(starlark.String("struct"), starlark.StringDict{
		"scheme": starlark.String("http"), "host": starlark.String("127.0.0.1"), "port": starlark.MakeInt(18090),
	})
	env := starlark.StringDict{"target": target, "user": stdlib.NewUser(7, nil)}
	fn, err := starlark.ExprFuncOptions(runtime.FileOptions, "t.star", code, env)
	if err != nil {
		b.Fatal(err)
	}
	thread := &starlark.Thread{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := starlark.Call(thread, fn, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStarlarkFlow is BenchmarkBuiltinAction's GET written as a
// .star flow: the compiled graph's dispatch is the difference.
func BenchmarkStarlarkFlow(b *testing.B) {
	p, err := runtime.Load(filepath.Join("testdata", "flow.star"),
		[]byte("def flow(user):\n    http.get(\"http://127.0.0.1:18090/\", name = \"get\")\n"),
		runtime.LoadOptions{Predeclared: starlark.StringDict{"http": noopHTTP()}})
	if err != nil {
		b.Fatal(err)
	}
	user := stdlib.NewUser(1, nil)
	thread := &starlark.Thread{}
	(&stdlib.Session{Shared: &stdlib.Shared{Ctx: context.Background(), Sink: discard{}}, User: user}).Attach(thread)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := starlark.Call(thread, p.Flow(), starlark.Tuple{user}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
