package compile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/compile"
	"github.com/ntx-dev/ntx/engine/internal/scenario"
	"github.com/ntx-dev/ntx/stdlib"
)

var dialect = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, Recursion: true}

// resolves checks that src is a Starlark program whose every free name
// is predeclared, by the built-ins or by the runtime for each run.
func resolves(src string) error {
	pre := stdlib.Predeclared()
	for _, n := range catalog.Predeclared {
		if n.PerRun {
			pre[n.Name] = starlark.None
		}
	}
	_, _, err := starlark.SourceProgramOptions(dialect, "compiled.star", src, pre.Has)
	return err
}

func TestCompiledProgramsResolve(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/valid/*.yaml")
	more, _ := filepath.Glob("../../../scripts/*.yaml")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("found only %d scenarios", len(files))
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s, err := scenario.Parse(file, src)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		out, err := compile.Build(s)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		code := out.Source
		// Every line of the program maps back into the YAML file.
		yamlLines := strings.Count(string(src), "\n") + 1
		for i, line := range strings.Split(code, "\n") {
			p, ok := out.Map.Position(i+1, len(line)+1, "")
			if !ok || p.File != file || p.Line < 1 || p.Line > yamlLines || p.Col < 1 {
				t.Errorf("%s: program line %d %q maps to %v (%v)", file, i+1, line, p, ok)
			}
		}
		if err := resolves(code); err != nil {
			t.Errorf("%s compiles to a program that does not resolve: %v\n%s", file, err, code)
		}
	}
}

func TestCompiledShape(t *testing.T) {
	s, err := scenario.Parse("g.yaml", []byte(`
name: g
actions:
  - {id: probe-get, call: get, with: {url: "http://127.0.0.1:1/"}}
workflows:
  nodes:
    - id: start
      action: probe-get
      edges:
        - {to: end, trigger: {condition: "{{probe-get.status_code == 200}}"}}
        - {to: start, trigger: {condition: "{{probe-get.status_code != 200}}"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	code, err := compile.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"def action_probe_get(user, r):",
		"def node_start(user, r):",
		// The node makes its action's call itself: no frame for the action.
		"def node_start(user, r):  # g.yaml:7:11\n    # action probe-get\n    r[\"probe-get\"] = http.get(\n",
		`    if r["probe-get"].status_code == 200:`,
		`    elif r["probe-get"].status_code != 200:`,
		`    fail("no edge of node \"start\" holds", reason = "no-edge")`,
		"def flow(user):",
	} {
		if !strings.Contains(code, want) {
			t.Errorf("compiled program lacks %q:\n%s", want, code)
		}
	}
}

// FuzzCompile compiles whatever the loader accepts: the compiler must not
// fail or panic on a valid scenario, and its output must resolve.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("../../../testdata/valid/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\nactions: [{id: a-b, call: get, with: {url: 'http://h:1/{{a-b.status_code}}'}}]\ntasks: [{id: s, action: a-b}]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := scenario.Parse("fuzz.yaml", src)
		if err != nil {
			return
		}
		code, err := compile.Compile(s)
		if err != nil {
			t.Fatalf("valid scenario failed to compile: %v\n%s", err, src)
		}
		if err := resolves(code); err != nil {
			t.Fatalf("compiled program does not resolve: %v\n--- scenario\n%s\n--- program\n%s", err, src, code)
		}
	})
}

// TestSourceMap checks that positions in the compiled program lead back
// to what the YAML says at them.
func TestSourceMap(t *testing.T) {
	src := "name: m\n" + // 1
		"actions:\n" + // 2
		"  - id: a\n" + // 3
		"    call: get\n" + // 4
		"    with:\n" + // 5
		"      url: \"http://h:1/{{user.id}}\"\n" + // 6
		"      timeout: 2s\n" + // 7
		"tasks:\n" + // 8
		"  - id: s\n" + // 9
		"    action: a\n" + // 10
		"    next: [{task: end, when: '{{a.ok}}'}]\n" // 11
	s, err := scenario.Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := compile.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.Source, "\x00\x01") {
		t.Fatalf("markers left in the program:\n%s", out.Source)
	}
	lines := strings.Split(out.Source, "\n")
	find := func(sub string) (int, int) {
		for i, l := range lines {
			if j := strings.Index(l, sub); j >= 0 {
				return i + 1, j + 1
			}
		}
		t.Fatalf("no %q in the program:\n%s", sub, out.Source)
		return 0, 0
	}
	at := func(p scenario.Pos) string { return p.String() }
	for _, tc := range []struct {
		sub, msg, want string
	}{
		{"http.get(", "http.get: url \"x\" is not an absolute http(s) URL", "m.yaml:6:12"},
		{"http.get(", "http.get: timeout=\"x\" is not a duration", "m.yaml:7:16"},
		{"http.get(", "http.get: something else", "m.yaml:4:11"},
		{"user.id", "key not in dict", "m.yaml:6:24"},
		{"if r[", "", "m.yaml:11:31"},
		{"def node_s", "", "m.yaml:9:9"},
	} {
		line, col := find(tc.sub)
		p, ok := out.Map.Position(line, col+len(tc.sub)-1, tc.msg)
		if !ok || at(p) != tc.want {
			t.Errorf("%q at %d:%d with %q maps to %v (%v), want %s", tc.sub, line, col, tc.msg, p, ok, tc.want)
		}
	}
}

// TestUnreadBodiesAreDiscarded: an HTTP action whose body no template,
// condition or export of its own reads is compiled to count its body and
// drop it; the others keep theirs.
func TestUnreadBodiesAreDiscarded(t *testing.T) {
	s, err := scenario.Parse("bodies.yaml", []byte(`
name: bodies
actions:
  - {id: unread, call: get, with: {url: "http://127.0.0.1:1/a"}}
  - {id: status-only, call: get, with: {url: "http://127.0.0.1:1/b"}}
  - {id: read-by-template, call: get, with: {url: "http://127.0.0.1:1/c"}}
  - {id: read-by-condition, call: get, with: {url: "http://127.0.0.1:1/d"}}
  - {id: read-by-export, call: get, with: {url: "http://127.0.0.1:1/e"}, export: [{type: content, name: id}]}
  - {id: header-export, call: get, with: {url: "http://127.0.0.1:1/f"}, export: [{type: header, name: etag}]}
  - {id: asked, call: post, with: {url: "http://127.0.0.1:1/g", body: "{{read-by-template.json.id}}", discard_body: false}}
tasks:
  - {id: t1, action: unread, next: [t2]}
  - {id: t2, action: status-only, next: [{task: t3, when: "{{status-only.status_code == 200}}"}, {task: t3}]}
  - {id: t3, action: read-by-template, next: [t4]}
  - {id: t4, action: read-by-condition, next: [{task: t5, when: "{{'x' in read-by-condition.body}}"}, {task: t5}]}
  - {id: t5, action: read-by-export, next: [t6]}
  - {id: t6, action: header-export, next: [t7]}
  - {id: t7, action: asked}
`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := compile.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range strings.Split(out.Source, "\ndef ")[1:] {
		name, _, _ := strings.Cut(fn, "(")
		want := name == "action_unread" || name == "action_status_only" || name == "action_header_export"
		if strings.HasPrefix(name, "action_") && strings.Contains(fn, "discard_body = True") != want {
			t.Errorf("%s: discard_body = True %v, want %v:\n%s", name, !want, want, fn)
		}
	}
	if err := resolves(out.Source); err != nil {
		t.Error(err)
	}
}

// TestFlowDispatch: a graph with a cycle is walked by a loop that bounds
// the visits; one without is visited in straight-line code, and an
// iteration whose results no template reads makes no results(). The
// nodes every iteration goes through, up to the first condition, are
// made in the flow itself, not through NODES.
func TestFlowDispatch(t *testing.T) {
	cyclic := `
name: g
actions:
  - {id: a, call: get, with: {url: "http://127.0.0.1:1/"}}
workflows:
  nodes:
    - {id: start, action: a, edges: [{to: again, trigger: {condition: "{{a.ok}}"}}, {to: end}]}
    - {id: again, action: a, edges: [{to: start}]}
`
	straight := `
name: g
actions:
  - {id: a, call: get, with: {url: "http://127.0.0.1:1/"}}
  - {id: b, call: get, with: {url: "http://127.0.0.1:1/"}}
workflows:
  nodes:
    - {id: start, action: a, edges: [{to: two}]}
    - {id: two, action: b}
`
	prefixed := `
name: g
actions:
  - {id: a, call: get, with: {url: "http://127.0.0.1:1/"}}
  - {id: b, call: get, with: {url: "http://127.0.0.1:1/"}}
workflows:
  nodes:
    - {id: start, action: a, edges: [{to: check}]}
    - {id: check, action: b, edges: [{to: start, trigger: {condition: "{{b.ok}}"}}, {to: end}]}
`
	branching := `
name: g
actions:
  - {id: a, call: get, with: {url: "http://127.0.0.1:1/"}}
  - {id: b, call: get, with: {url: "http://127.0.0.1:1/"}}
workflows:
  nodes:
    - {id: start, action: a, edges: [{to: two}]}
    - {id: two, action: b, edges: [{to: three, trigger: {condition: "{{b.ok}}"}}, {to: end}]}
    - {id: three, action: a}
`
	for _, c := range []struct {
		src       string
		want, not []string
	}{
		{cyclic, []string{"    r = results()", "    node = \"start\"\n    for _ in range(1000):", "visited 1000 nodes"}, nil},
		{straight, []string{"    r = None", "def flow(user):\n    r = None  # no template reads a result\n    # node start\n    # action a\n    http.get(", "    # node two\n    # action b\n    http.get("},
			[]string{"range(", "results()", `r["a"] =`, "NODES[node]"}},
		{prefixed, []string{"    # node start\n    # action a\n    http.get(", "    node = \"check\"\n    for _ in range(999):\n        node = NODES[node](user, r)"}, nil},
		{branching, []string{"    # node start\n", "    node = \"two\"\n    node = NODES[node](user, r)\n    if node == None:\n        return\n    node = NODES[node](user, r)\n"},
			[]string{"range(", "    # node two\n"}},
	} {
		s, err := scenario.Parse("g.yaml", []byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		code, err := compile.Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(code, w) {
				t.Errorf("compiled program lacks %q:\n%s", w, code)
			}
		}
		for _, n := range c.not {
			if strings.Contains(code, n) {
				t.Errorf("compiled program has %q:\n%s", n, code)
			}
		}
	}
}
