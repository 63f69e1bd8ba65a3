package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema()))
	if err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	// Compiling checks the schema against the 2020-12 meta-schema.
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return sch
}

func yamlValue(t *testing.T, name string, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// TestSchemaTakesEveryShippedScenario validates every valid scenario the
// repository ships (testdata/valid and scripts) against `ntx schema`.
func TestSchemaTakesEveryShippedScenario(t *testing.T) {
	sch := compileSchema(t)
	var files []string
	for _, root := range []string{"../../testdata/valid", "../../scripts"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 12 {
		t.Fatalf("found only %d scenarios: %v", len(files), files)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlValue(t, f, src)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestSchemaRefusesBrokenScenarios: mistakes a schema can see are seen.
func TestSchemaRefusesBrokenScenarios(t *testing.T) {
	sch := compileSchema(t)
	for name, src := range map[string]string{
		"unknown top key":        "name: x\ntaks: []\n",
		"no graph":               "name: x\n",
		"both dialects":          "tasks: [{id: s}]\nworkflows: {nodes: [{id: s}]}\n",
		"unknown with key":       "actions: [{id: a, call: get, with: {url: 'http://h:1', heders: {}}}]\ntasks: [{id: s, action: a}]\n",
		"method on get":          "actions: [{id: a, call: get, with: {url: 'http://h:1', method: POST}}]\ntasks: [{id: s, action: a}]\n",
		"tcp key on http":        "actions: [{id: a, call: http.request, with: {url: 'http://h:1', read: line}}]\ntasks: [{id: s, action: a}]\n",
		"missing url":            "actions: [{id: a, call: get, with: {}}]\ntasks: [{id: s, action: a}]\n",
		"pool without addresses": "ip_pools: [{id: p}]\ntasks: [{id: s}]\n",
		"pool without id":        "ip_pools: [{ips: [127.0.0.1]}]\ntasks: [{id: s}]\n",
		"sleep without with":     "actions: [{id: a, call: sleep}]\ntasks: [{id: s, action: a}]\n",
		"unknown call":           "actions: [{id: a, call: http.gett}]\ntasks: [{id: s, action: a}]\n",
		"bad enum":               "load: {user_lifetime: {mode: loops}}\ntasks: [{id: s}]\n",
		"negative users":         "load: {ramp_up: {phases: [{spawn_users: -1}]}}\ntasks: [{id: s}]\n",
		"bad duration":           "load: {duration: 10 minutes}\ntasks: [{id: s}]\n",
		"bad rate":               "load: {concurrency: {spawn_rate_limit: fast}}\ntasks: [{id: s}]\n",
		"bad export type":        "actions: [{id: a, call: get, with: {url: 'http://h:1'}, export: [{name: n, type: body}]}]\ntasks: [{id: s, action: a}]\n",
		"read with two modes":    "actions: [{id: a, call: tcp.request, with: {address: 'h:1', read: {bytes: 1, until: x}}}]\ntasks: [{id: s, action: a}]\n",
		"bool as string":         "load: {user_resources: {ip_binding: {enabled: yes please}}}\ntasks: [{id: s}]\n",
	} {
		if err := sch.Validate(yamlValue(t, name, []byte(src))); err == nil {
			t.Errorf("%s: the schema takes\n%s", name, src)
		}
	}
	// Templates stand in for any typed value under with:.
	ok := "actions: [{id: a, call: get, with: {url: 'http://h:1', timeout: '{{vars.t}}', retries: '{{vars.n}}'}}]\ntasks: [{id: s, action: a}]\n"
	if err := sch.Validate(yamlValue(t, "templates", []byte(ok))); err != nil {
		t.Errorf("templates: %v", err)
	}
}

// TestSchemaPatternsMatchTheParsers: the schema's duration and rate
// patterns take what the parsers take and refuse what they refuse (less
// the range checks), and compile in Go's regexp dialect.
func TestSchemaPatternsMatchTheParsers(t *testing.T) {
	dur, rate := regexp.MustCompile(durationPattern), regexp.MustCompile(ratePattern)
	regexp.MustCompile(CustomCallPattern)
	for _, s := range []string{"300ms", "1.5s", "1m30s", ".5h", "2", "0.25", " 2s ", "10 minutes", "soon", "5 s", "1d"} {
		_, err := ParseDuration(s)
		if got := dur.MatchString(s); got != (err == nil) {
			t.Errorf("duration %q: pattern %v, parser %v", s, got, err)
		}
	}
	for _, s := range []string{"100/s", "6000/m", "1/h", "5/500ms", "7", "2.5/1m30s", "fast", "10/parsec", "/s"} {
		_, err := ParseRate(s)
		if got := rate.MatchString(s); got != (err == nil) {
			t.Errorf("rate %q: pattern %v, parser %v", s, got, err)
		}
	}
}

// TestSchemaFileIsCurrent: docs/ntx.schema.json, the copy editors can
// point at, is what `ntx schema` prints (go generate ./engine/catalog).
func TestSchemaFileIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../../docs/ntx.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, JSONSchema()) {
		t.Errorf("docs/ntx.schema.json is stale: run go generate ./engine/catalog")
	}
}

// TestReferenceIsCurrent: the generated parts of docs/reference.md are
// what the catalog says now (go generate ./engine/catalog), and every
// part the generator knows is in it.
func TestReferenceIsCurrent(t *testing.T) {
	doc, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	updated, err := UpdateReference(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, updated) {
		t.Errorf("docs/reference.md is stale: run go generate ./engine/catalog")
	}
	for name := range referenceParts {
		if !bytes.Contains(doc, []byte(beginMark+name+" -->")) {
			t.Errorf("docs/reference.md has no generated part %s", name)
		}
	}
	// Every key of the language is in it.
	for _, o := range Objects() {
		for _, k := range o.Keys {
			if !bytes.Contains(doc, []byte("`"+k.Name+"`")) {
				t.Errorf("docs/reference.md does not mention %s.%s", o.Name, k.Name)
			}
		}
	}
	for _, c := range Calls {
		if !bytes.Contains(doc, []byte("`"+c.Name+"`")) {
			t.Errorf("docs/reference.md does not mention the call %s", c.Name)
		}
	}
}

func TestUpdateReferenceRefusesBadMarkers(t *testing.T) {
	if _, err := UpdateReference([]byte("a\n<!-- generated: nothing -->\n<!-- end generated -->\n")); err == nil {
		t.Errorf("an unknown part was taken")
	}
	if _, err := UpdateReference([]byte("a\n<!-- generated: calls -->\nb\n")); err == nil {
		t.Errorf("an unclosed part was taken")
	}
}

// TestReferenceListsTargetEndpoints: every path the built-in target
// serves is in the reference's table (read from the target's sources, so
// that a new fault endpoint cannot go undocumented).
func TestReferenceListsTargetEndpoints(t *testing.T) {
	files, err := filepath.Glob("../../engine/target/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	doc, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	paths := regexp.MustCompile(`HandleFunc\("(/[^"]*)"`).FindAllSubmatch(src, -1)
	if len(paths) < 5 {
		t.Fatalf("found %d endpoints in the target's source", len(paths))
	}
	for _, m := range paths {
		if !bytes.Contains(doc, []byte("`"+string(m[1]))) && !bytes.Contains(doc, []byte(string(m[1])+"`")) {
			t.Errorf("docs/reference.md does not list the target's %s", m[1])
		}
	}
}
