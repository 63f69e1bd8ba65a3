package scenario

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/data"
)

// where places a mapping holding KEY inside a scenario, for each mapping
// of the catalog.
var where = map[*catalog.Obj]string{
	catalog.Scenario:       "{KEY: null, tasks: [{id: s}]}",
	catalog.Workbook:       "{workbook: {KEY: null}, workflows: {nodes: [{id: s}]}}",
	catalog.Pool:           "{ip_pools: [{id: p, ips: [127.0.0.1], KEY: null}], tasks: [{id: s}]}",
	catalog.Resource:       "{resources: [{id: r, KEY: null}], tasks: [{id: s}]}",
	catalog.Tenant:         "{tenants: [{id: t, KEY: null}], tasks: [{id: s}]}",
	catalog.Dataset:        "{data: [{id: d, file: d.csv, KEY: null}], tasks: [{id: s}]}",
	catalog.HTTPSection:    "{http: {KEY: null}, tasks: [{id: s}]}",
	catalog.TLS:            "{http: {tls: {KEY: null}}, tasks: [{id: s}]}",
	catalog.DNS:            "{http: {dns: {KEY: null}}, tasks: [{id: s}]}",
	catalog.Load:           "{load: {KEY: null}, tasks: [{id: s}]}",
	catalog.RampUp:         "{load: {ramp_up: {KEY: null}}, tasks: [{id: s}]}",
	catalog.Phase:          "{load: {ramp_up: {phases: [{spawn_users: 1, KEY: null}]}}, tasks: [{id: s}]}",
	catalog.Lifetime:       "{load: {user_lifetime: {KEY: null}}, tasks: [{id: s}]}",
	catalog.ThinkTime:      "{load: {user_lifetime: {think_time: {KEY: null}}}, tasks: [{id: s}]}",
	catalog.UserResources:  "{load: {user_resources: {KEY: null}}, tasks: [{id: s}]}",
	catalog.Binding:        "{load: {user_resources: {ip_binding: {KEY: null}}}, tasks: [{id: s}]}",
	catalog.Capacity:       "{load: {user_resources: {capacity_management: {KEY: null}}}, tasks: [{id: s}]}",
	catalog.Concurrency:    "{load: {concurrency: {KEY: null}}, tasks: [{id: s}]}",
	catalog.Arrival:        "{load: {arrival: {KEY: null}}, tasks: [{id: s}]}",
	catalog.ActionsSection: "{actions: {KEY: []}, tasks: [{id: s}]}",
	catalog.Action:         "{actions: [{id: a, call: sleep, KEY: null}], tasks: [{id: s}]}",
	catalog.Export:         "{actions: [{id: a, call: get, with: {url: 'http://h:1'}, export: [{name: n, KEY: null}]}], tasks: [{id: s}]}",
	catalog.ReadMode:       "{actions: [{id: a, call: tcp.request, with: {address: 'h:1', read: {KEY: 1}}}], tasks: [{id: s}]}",
	catalog.Task:           "{tasks: [{id: s, KEY: null}]}",
	catalog.Next:           "{tasks: [{id: s, next: [{task: end, KEY: null}]}]}",
	catalog.Workflows:      "{workflows: {nodes: [{id: s}], KEY: null}}",
	catalog.Workflow:       "{workflows: [{id: w, nodes: [{id: s}], KEY: null}]}",
	catalog.Node:           "{workflows: {nodes: [{id: s, KEY: null}]}}",
	catalog.Edge:           "{workflows: {nodes: [{id: s, edges: [{to: end, KEY: null}]}]}}",
	catalog.Trigger:        "{workflows: {nodes: [{id: s, edges: [{to: end, trigger: {KEY: null}}]}]}}",
	catalog.Threshold:      "{thresholds: [{expr: 'iterations.failed < 1', KEY: null}], tasks: [{id: s}]}",
	catalog.DNSExpect:      "{actions: [{id: a, call: dns.query, with: {name: x.test, expect: {KEY: 1}}}], tasks: [{id: s}]}",
	catalog.Auth:           "{actions: [{id: a, call: get, with: {url: 'http://h:1', auth: {KEY: null}}}], tasks: [{id: s}]}",
	catalog.MultipartFile:  "{actions: [{id: a, call: post, with: {url: 'http://h:1', multipart: {f: {KEY: null}}}}], tasks: [{id: s}]}",
}

// unknownKey returns the "unknown key" error Parse gives for src, or "".
func unknownKey(src, key string) string {
	_, err := Parse("c.yaml", []byte(src))
	if err == nil {
		return ""
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, fmt.Sprintf("unknown key %q", key)) {
			return line
		}
	}
	return ""
}

// TestDecoderTakesExactlyTheCatalogKeys puts every key of every mapping
// the catalog describes where it belongs, and a key it lacks: the first
// must be taken, the second refused.
func TestDecoderTakesExactlyTheCatalogKeys(t *testing.T) {
	for _, o := range catalog.Objects() {
		tmpl, ok := where[o]
		if !ok {
			t.Errorf("no test places %s", o.Name)
			continue
		}
		for _, k := range o.Keys {
			if msg := unknownKey(strings.Replace(tmpl, "KEY", k.Name, 1), k.Name); msg != "" {
				t.Errorf("%s: the catalog lists %s, the decoder refuses it: %s", o.Name, k.Name, msg)
			}
		}
		if unknownKey(strings.Replace(tmpl, "KEY", "no_such_key", 1), "no_such_key") == "" {
			t.Errorf("%s: the decoder takes no_such_key, which the catalog lacks", o.Name)
		}
	}
}

// TestWithTakesExactlyTheCatalogKeys does the same for each call's with:.
func TestWithTakesExactlyTheCatalogKeys(t *testing.T) {
	for _, c := range catalog.Calls {
		tmpl := fmt.Sprintf("{actions: [{id: a, call: %s, with: {KEY: null}}], tasks: [{id: s, action: a}]}", c.Name)
		for _, k := range c.WithKeys() {
			if msg := unknownKey(strings.Replace(tmpl, "KEY", k.Name, 1), k.Name); msg != "" {
				t.Errorf("%s: the catalog lists %s, the validator refuses it: %s", c.Name, k.Name, msg)
			}
		}
		if unknownKey(strings.Replace(tmpl, "KEY", "no_such_key", 1), "no_such_key") == "" {
			t.Errorf("%s: with: takes no_such_key, which the catalog lacks", c.Name)
		}
	}
	// A shorthand has its method fixed: with.method is refused, before
	// the run rather than by the call, saying how to choose a method.
	_, err := Parse("c.yaml", []byte("{actions: [{id: a, call: get, with: {url: 'http://h:1', method: POST}}], tasks: [{id: s, action: a}]}"))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:1:57: get always sends GET: to choose the method, use call: http.request with method:, or call: post") ||
		strings.Contains(err.Error(), "unknown key") {
		t.Errorf("get with method: got %v", err)
	}
}

// TestHugeDurationRefused: 1e12 seconds overflows a time.Duration; YAML
// refuses it as .star calls do (stdlib's test), with the same parser.
func TestHugeDurationRefused(t *testing.T) {
	for _, src := range []string{
		"{actions: [{id: a, call: get, with: {url: 'http://h:1', timeout: '1e12'}}], tasks: [{id: s, action: a}]}",
		"{actions: [{id: a, call: get, with: {url: 'http://h:1', timeout: 1e12}}], tasks: [{id: s, action: a}]}",
		"{load: {duration: 1e12}, tasks: [{id: s}]}",
	} {
		if _, err := Parse("c.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%s: got %v, want out of range", src, err)
		}
	}
}

// TestTypedEnumsAreTheCatalogs: the model's typed constants name values
// the catalog lists (the decoder takes the catalog's list), and every
// value listed has a constant, but start, which reads as pass.
func TestTypedEnumsAreTheCatalogs(t *testing.T) {
	check := func(what string, consts []string, o *catalog.Obj, key string, aliases ...string) {
		t.Helper()
		want := slices.Clone(o.Values(key))
		got := append(slices.Clone(consts), aliases...)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: constants %v, catalog %v", what, got, want)
		}
	}
	check("LifetimeMode", []string{string(Once), string(Loop)}, catalog.Lifetime, "mode")
	check("BindStrategy", []string{string(PerUser), string(Shared), string(PerTask)}, catalog.Binding, "strategy")
	check("ReleaseOn", []string{string(OnUserExit), string(OnTaskEnd)}, catalog.Binding, "release_on")
	check("ExportType", []string{string(ExportContent), string(ExportHeader), string(ExportStatus), string(ExportAssert), string(ExportVariable)}, catalog.Export, "type")
	check("ExportScope", []string{string(ScopeAction), string(ScopeUser), string(ScopeWorkbook)}, catalog.Export, "scope")
	check("data.Order", []string{string(data.PerUser), string(data.Sequential), string(data.Random), string(data.Unique)}, catalog.Dataset, "order")
	check("data.OnExhausted", []string{string(data.StopUser), string(data.FailIteration), string(data.Recycle)}, catalog.Dataset, "on_exhausted")
	check("NodeType", []string{string(NodeAction), string(NodeEnd), string(NodePass)}, catalog.Node, "type", "start")
}
