package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenInputs are scenarios with one problem each (or a few, to check
// that all are reported), the position the first must be reported at, and
// words its message must contain.
var brokenInputs = []struct {
	name, file, src string
	pos, msg        string
}{
	// YAML syntax
	{"yaml tab indent", "a.yaml", "name: x\ntasks:\n\t- id: a\n", "3:1", "YAML syntax"},
	{"yaml unclosed flow", "a.yaml", "name: x\ntasks: [{id: a}\n", "1:1", "YAML syntax"},
	{"yaml bad mapping", "a.yaml", "name: x\n  tasks: []\n", "2:1", "YAML syntax"},
	{"empty file", "a.yaml", "", "1:1", "empty"},
	{"not a mapping", "a.yaml", "- 1\n- 2\n", "1:1", "must be a mapping"},
	// keys and dialects
	{"unknown top key", "a.yaml", "name: x\ntaks: []\n", "2:1", `unknown key "taks" in the scenario (did you mean "tasks"?)`},
	{"no tasks", "a.yaml", "name: x\n", "1:1", "needs `tasks:`"},
	{"both dialects", "a.yaml", "name: x\ntasks: []\nworkflows: {nodes: []}\n", "3:1", "mixes both dialects"},
	{"unknown action key", "a.yaml", "actions: [{id: a, call: get, whith: {}}]\ntasks: [{id: s, action: a}]\n", "1:30", `did you mean "with"`},
	{"unknown with key", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1', heders: {}}}]\ntasks: [{id: s, action: a}]\n", "1:56", `did you mean "headers"`},
	{"unknown load key", "a.yaml", "load: {duraton: 1s}\nactions: []\ntasks: [{id: s}]\n", "1:8", `did you mean "duration"`},
	{"duplicate key", "a.yaml", "name: x\nname: y\ntasks: [{id: s}]\n", "2:1", `duplicate key "name"`},
	// types
	{"users not a number", "a.yaml", "load: {ramp_up: {phases: [{at_second: 0, spawn_users: many}]}}\ntasks: [{id: s}]\n", "1:55", "spawn_users must be a whole number"},
	{"negative users", "a.yaml", "load: {ramp_up: {phases: [{at_second: 0, spawn_users: -1}]}}\ntasks: [{id: s}]\n", "1:55", "from 0"},
	{"tasks not a list", "a.yaml", "tasks: {id: s}\n", "1:8", "tasks must be a list"},
	{"with not a mapping", "a.yaml", "actions: [{id: a, call: get, with: [1]}]\ntasks: [{id: s, action: a}]\n", "1:36", "with must be a mapping"},
	{"bool expected", "a.yaml", "load: {user_resources: {ip_binding: {enabled: yes please}}}\ntasks: [{id: s}]\n", "1:47", "must be true or false"},
	{"bad mode", "a.yaml", "load: {user_lifetime: {mode: loops}}\ntasks: [{id: s}]\n", "1:30", `did you mean "loop"`},
	// ids and references
	{"dangling action", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1'}}]\ntasks: [{id: s, action: b}]\n", "2:9", `runs action "b", which is not defined`},
	{"dangling node", "a.yaml", "tasks: [{id: s, next: [{task: t2}]}, {id: t}]\n", "1:31", `leads to "t2", which is not a node`},
	{"duplicate action id", "a.yaml", "actions: [{id: a, call: sleep, with: {duration: 1s}}, {id: a, call: sleep, with: {duration: 1s}}]\ntasks: [{id: s, action: a}]\n", "1:60", "duplicate action id"},
	{"bad id chars", "a.yaml", "tasks: [{id: 'has space'}]\n", "1:14", "may hold only"},
	{"unknown call", "a.yaml", "actions: [{id: a, call: http.gett, with: {url: 'http://h:1'}}]\ntasks: [{id: s, action: a}]\n", "1:25", `unknown call "http.gett"`},
	{"module not listed", "a.yaml", "actions: [{id: a, call: auth.login}]\ntasks: [{id: s, action: a}]\n", "1:25", `names module "auth", which is not listed`},
	{"module missing file", "a.yaml", "modules: {auth: nothere.star}\nactions: [{id: a, call: auth.login}]\ntasks: [{id: s, action: a}]\n", "1:17", "cannot read nothere.star"},
	{"missing url", "a.yaml", "actions: [{id: a, call: get, with: {}}]\ntasks: [{id: s, action: a}]\n", "1:25", "needs `url`"},
	{"phase unknown pool", "a.yaml", "load: {ramp_up: {phases: [{at_second: 0, spawn_users: 1, ip_pool_override: nope}]}}\ntasks: [{id: s}]\n", "1:76", `"nope" is not an ip pool`},
	{"phase unknown tenant", "a.yaml", "tenants: [{id: t1}]\nload: {ramp_up: {phases: [{spawn_users: 1, tenant_id: t2}]}}\ntasks: [{id: s}]\n", "2:55", `"t2" is not a tenant (did you mean "t1"?)`},
	// CIDRs and addresses
	{"bad cidr", "a.yaml", "ip_pools: [{id: p, ranges: ['127.0.0.0/40']}]\ntasks: [{id: s}]\n", "1:29", "not a valid CIDR"},
	{"backwards range", "a.yaml", "ip_pools: [{id: p, ranges: ['127.0.0.9-127.0.0.1']}]\ntasks: [{id: s}]\n", "1:29", "ends before it starts"},
	{"bad address", "a.yaml", "ip_pools: [{name: p, ips: [127.0.0.256]}]\ntasks: [{id: s}]\n", "1:28", "not a valid address"},
	{"pool all excluded", "a.yaml", "ip_pools: [{id: p, ips: [127.0.0.5], exclude: ['127.0.0.0/24']}]\ntasks: [{id: s}]\n", "1:12", "no addresses left"},
	{"pool without addresses", "a.yaml", "ip_pools: [{id: p}]\ntasks: [{id: s}]\n", "1:12", "has no addresses"},
	// durations and rates
	{"bad duration", "a.yaml", "load: {duration: 10 minutes}\ntasks: [{id: s}]\n", "1:18", "not a duration"},
	{"negative duration", "a.yaml", "load: {graceful_stop: -5s}\ntasks: [{id: s}]\n", "1:23", "must not be negative"},
	{"bad think range", "a.yaml", "load: {user_lifetime: {think_time: {min: 2s, max: 1s}}}\ntasks: [{id: s}]\n", "1:36", "less than think_time.min"},
	{"bad rate", "a.yaml", "load: {concurrency: {spawn_rate_limit: fast}}\ntasks: [{id: s}]\n", "1:40", "not a rate"},
	{"bad timeout literal", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1', timeout: soon}}]\ntasks: [{id: s, action: a}]\n", "1:65", "not a duration"},
	{"arrival without duration", "a.yaml", "load: {arrival: {rate: 10/s}}\ntasks: [{id: s}]\n", "1:17", "arrival needs a duration"},
	{"loop forever without duration", "a.yaml", "load: {user_lifetime: {mode: loop, iterations: 0}}\ntasks: [{id: s}]\n", "1:8", "load.duration is not set"},
	// templates and expressions
	{"template names nothing", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://{{targt.ip}}/'}}]\ntasks: [{id: s, action: a}]\n", "1:52", `names nothing called "targt"`},
	{"template bad attr", "a.yaml", "actions: [{id: a-b, call: get, with: {url: 'http://h:1/{{a-b.statuscode}}'}}]\ntasks: [{id: s, action: a-b}]\n", "1:62", `did you mean "status_code"`},
	{"template syntax", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1/{{a.ok ==}}'}}]\ntasks: [{id: s, action: a}]\n", "1:56", "invalid expression"},
	{"template unterminated", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1/{{a.ok'}}]\ntasks: [{id: s, action: a}]\n", "1:54", "unterminated {{"},
	{"condition names nothing", "a.yaml", "tasks: [{id: s, next: [{task: end, when: '{{nobody.ok}}'}]}]\n", "1:45", `names nothing called "nobody"`},
	{"self-referencing resource", "a.yaml", "resources: [{id: r, properties: {a: '{{r.a}}'}}]\ntasks: [{id: s}]\n", "1:13", `resource "r" refers to itself`},
	{"resource cycle", "a.yaml", "resources:\n  - {id: r1, properties: {a: '{{r2.b}}'}}\n  - {id: r2, properties: {b: '{{r1.a}}'}}\ntasks: [{id: s}]\n", "2:5", "r1 -> r2 -> r1"},
	{"user in resource", "a.yaml", "resources: [{id: r, properties: {a: '{{user.id}}'}}]\ntasks: [{id: s}]\n", "1:40", "no user exists"},
	{"resource raises at load", "a.yaml", "resources: [{id: r, properties: {a: \"{{ {}['x'] }}\"}}]\ntasks: [{id: s}]\n", "1:38", `key "x" not in dict`},
	{"bad threshold", "a.yaml", "thresholds: ['p95 is small']\ntasks: [{id: s}]\n", "1:14", "not of the form METRIC OP VALUE"},
	{"threshold unknown statistic", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1/'}}]\nthresholds: ['a.p95x < 200ms']\ntasks: [{id: s, action: a}]\n", "2:14", `a has no statistic "p95x" (did you mean "p95"?)`},
	{"threshold no such statistic", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1/'}}]\nthresholds: ['a.latency < 1s']\ntasks: [{id: s, action: a}]\n", "2:14", `a has no statistic "latency"`},
	{"threshold unknown action", "a.yaml", "actions: [{id: login, call: get, with: {url: 'http://h:1/'}}]\nthresholds: ['logn.p95 < 1s']\ntasks: [{id: s, action: login}]\n", "2:14", `"logn" is not an action (did you mean "login"?)`},
	{"threshold unit", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://h:1/'}}]\nthresholds: ['a.count < 2s']\ntasks: [{id: s, action: a}]\n", "2:14", `a.count is not a latency`},
	{"star threshold statistic", "a.star", "scenario = {'thresholds': ['x.p95x < 1s']}\ndef flow(user):\n    pass\n", "1:28", `x has no statistic "p95x"`},
	// static checks: what would fail on every run
	{"url not a string", "a.yaml", "actions: [{id: a, call: get, with: {url: 42}}]\ntasks: [{id: s, action: a}]\n", "1:42", "url must be a URL such as http://host/path, not a number"},
	{"url without scheme", "a.yaml", "actions: [{id: a, call: get, with: {url: 'localhost:28080/health'}}]\ntasks: [{id: s, action: a}]\n", "1:42", `url "localhost:28080/health" has no scheme: write http://localhost:28080/health`},
	{"url ftp", "a.yaml", "actions: [{id: a, call: http.request, with: {url: 'ftp://h/x'}}]\ntasks: [{id: s, action: a}]\n", "1:51", `the scheme must be http or https, not "ftp"`},
	{"url template without scheme", "a.yaml", "actions: [{id: a, call: post, with: {url: '127.0.0.1:{{user.id}}/x'}}]\ntasks: [{id: s, action: a}]\n", "1:43", "has no scheme"},
	{"url port out of range", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://127.0.0.1:70000/'}}]\ntasks: [{id: s, action: a}]\n", "1:42", "port 70000 is out of range"},
	{"url without host", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http:///x'}}]\ntasks: [{id: s, action: a}]\n", "1:42", "has no host"},
	{"tcp address without port", "a.yaml", "actions: [{id: a, call: tcp.request, with: {address: localhost}}]\ntasks: [{id: s, action: a}]\n", "1:54", `address "localhost" must be host:port`},
	{"udp port out of range", "a.yaml", "actions: [{id: a, call: udp.request, with: {address: '127.0.0.1:99999'}}]\ntasks: [{id: s, action: a}]\n", "1:54", "port 99999 is out of range (1 to 65535)"},
	{"dns answers not a count", "a.yaml", "actions: [{id: a, call: dns.query, with: {name: x.test, expect: {answers: 'some'}}}]\ntasks: [{id: s, action: a}]\n", "1:75", `expect.answers "some" is not a count such as 2`},
	{"dns type", "a.yaml", "actions: [{id: a, call: dns.query, with: {name: x.test, type: AAA}}]\ntasks: [{id: s, action: a}]\n", "1:63", `type must be one of A, AAAA`},
	{"ws url http", "a.yaml", "actions: [{id: a, call: ws.request, with: {url: 'http://h:1/ws'}}]\ntasks: [{id: s, action: a}]\n", "1:49", `the scheme must be ws or wss, not "http"`},
	{"dns without name", "a.yaml", "actions: [{id: a, call: dns.query, with: {type: A}}]\ntasks: [{id: s, action: a}]\n", "1:25", "needs `name` under with:"},
	{"tcp template port out of range", "a.yaml", "variables: {h: 127.0.0.1}\nactions: [{id: a, call: tcp.request, with: {address: '{{vars.h}}:70000'}}]\ntasks: [{id: s, action: a}]\n", "2:54", "port 70000 is out of range"},
	{"address not a string", "a.yaml", "actions: [{id: a, call: udp.request, with: {address: 9000}}]\ntasks: [{id: s, action: a}]\n", "1:54", "address must be host:port"},
	{"env unset", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://127.0.0.1:1/{{env.NTX_DECODE_TEST_UNSET}}'}}]\ntasks: [{id: s, action: a}]\n", "1:64", "env.NTX_DECODE_TEST_UNSET is not set: set NTX_DECODE_TEST_UNSET in the environment, or give a default"},
	{"env unset in resource", "a.yaml", "resources: [{id: t, properties: {token: '{{env.NTX_DECODE_TEST_UNSET}}'}}]\ntasks: [{id: s}]\n", "1:44", "env.NTX_DECODE_TEST_UNSET is not set"},
	{"vars unknown", "a.yaml", "variables: {greeting: hi}\nactions: [{id: a, call: get, with: {url: 'http://127.0.0.1:1/{{vars.greting}}'}}]\ntasks: [{id: s, action: a}]\n", "2:69", `vars has no "greting" (did you mean "greeting"?)`},
	{"user unknown", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://127.0.0.1:1/{{user.iteraton}}'}}]\ntasks: [{id: s, action: a}]\n", "1:69", `user has no "iteraton" (did you mean "iteration"?)`},
	{"resource property unknown", "a.yaml", "resources: [{id: target, properties: {port: 80}}]\nactions: [{id: a, call: get, with: {url: 'http://127.0.0.1:{{target.prot}}/'}}]\ntasks: [{id: s, action: a}]\n", "2:69", `resource "target" has no "prot" (did you mean "port"?)`},
	{"second template error reported", "a.yaml", "actions: [{id: a, call: get, with: {url: 'http://127.0.0.1:1/{{user.id}}/{{user.nosuch}}'}}]\ntasks: [{id: s, action: a}]\n", "1:81", `user has no "nosuch"`},
	// Starlark
	{"star syntax", "a.star", "def flow(user)\n    pass\n", "2:1", "got newline, want ':'"},
	{"star undefined name", "a.star", "def flow(user):\n    htp.get('http://h:1/')\n", "2:5", "undefined: htp"},
	{"star runtime error at load", "a.star", "x = {}[1]\ndef flow(user):\n    pass\n", "1:7", "key 1 not in dict"},
	{"star no flow", "a.star", "scenario = {}\n", "1:1", "defines no flow(user)"},
	{"star flow arity", "a.star", "def flow():\n    pass\n", "1:1", "must take exactly one"},
	{"star bad scenario key", "a.star", "scenario = {'lod': {}}\ndef flow(user):\n    pass\n", "1:13", `unknown key "lod" in the scenario dict (did you mean "load"?)`},
	{"star scenario bad value", "a.star", "\nscenario = {'load': {'duration': 'forever'}}\ndef flow(user):\n    pass\n", "2:34", "not a duration"},
	{"star scenario value by name", "a.star", "pools = [{'id': 'p', 'ranges': ['127.0.0.0/40']}]\nscenario = {'ip_pools': pools}\ndef flow(user):\n    pass\n", "1:33", "not a valid CIDR"},
	{"star scenario dict call", "a.star", "scenario = dict(variables = {}, tenants = [dict(idd = 't')])\ndef flow(user):\n    pass\n", "1:44", `unknown key "idd" in a tenant (did you mean "id"?)`},
	{"star scenario workbook key", "a.star", "scenario = {'workbook': {'ip_pool': []}}\ndef flow(user):\n    pass\n", "1:26", `unknown key "ip_pool" in workbook (did you mean "ip_pools"?)`},
	{"star scenario function value", "a.star", "def f():\n    pass\nscenario = {'variables': {'a': f}}\ndef flow(user):\n    pass\n", "3:32", "variables.a: a function cannot be part of the scenario dict"},
	{"star user field unknown", "a.star", "def flow(user):\n    return user.iteraton\n", "2:17", `user.iteraton is not a field of users nor a user-scoped export (did you mean "iteration"?)`},
	{"star vars unknown", "a.star", "scenario = {'variables': {'greeting': 'hi'}}\ndef flow(user):\n    print(vars.greting)\n", "3:16", `vars.greting is not a variable of the scenario nor a workbook-scoped export (did you mean "greeting"?)`},
	{"star load missing", "a.star", "load('nothere.star', 'x')\ndef flow(user):\n    pass\n", "1:1", "nothere.star"},
	{"star network at load time", "a.star", "http.get('http://127.0.0.1:9/')\ndef flow(user):\n    pass\n", "1:9", "only available while a scenario runs"},
}

// writeCase writes a test case's file into a directory of its own under
// dir, named after the case, and returns its path.
func writeCase(t *testing.T, dir, name, file, src string) string {
	t.Helper()
	sub := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, file)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBrokenInputs(t *testing.T) {
	if len(brokenInputs) < 30 {
		t.Fatalf("only %d broken inputs", len(brokenInputs))
	}
	dir := t.TempDir()
	for _, tc := range brokenInputs {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCase(t, dir, tc.name, tc.file, tc.src)
			sub := filepath.Dir(path)
			for _, cmd := range []string{"validate", "exec"} {
				var stdout, stderr bytes.Buffer
				code := run([]string{cmd, path}, &stdout, &stderr)
				out := stderr.String()
				if code != exitInvalid {
					t.Errorf("ntx %s: exit %d, want 2; stderr:\n%s", cmd, code, out)
				}
				if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") || strings.Contains(out, "internal error") {
					t.Fatalf("ntx %s panicked:\n%s", cmd, out)
				}
				first := strings.SplitN(out, "\n", 2)[0]
				if want := path + ":" + tc.pos + ": "; !strings.HasPrefix(first, want) {
					t.Errorf("ntx %s: first line %q, want it to start with %q", cmd, first, strings.TrimPrefix(want, sub+"/"))
				}
				if !strings.Contains(out, tc.msg) {
					t.Errorf("ntx %s: output lacks %q:\n%s", cmd, tc.msg, out)
				}
				if stdout.Len() != 0 {
					t.Errorf("ntx %s printed to stdout: %s", cmd, stdout.String())
				}
			}
		})
	}
}

// TestNoFollowOnLifetimeError: a misspelled key of user_lifetime is the
// one error; the loop it leaves without a count is not another at 1:1.
func TestNoFollowOnLifetimeError(t *testing.T) {
	path := writeCase(t, t.TempDir(), "typo", "a.yaml", "load:\n  user_lifetime: {mode: loop, iteratons: 3}\ntasks: [{id: s}]\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", path}, &stdout, &stderr); code != exitInvalid {
		t.Fatalf("exit %d, want 2\n%s", code, stderr.String())
	}
	out := strings.TrimSpace(stderr.String())
	if !strings.HasPrefix(out, path+":2:") || !strings.Contains(out, "iteratons") || strings.Count(out, "\n") != 0 {
		t.Errorf("want the one error of the misspelled key, got:\n%s", out)
	}
}

// TestAllErrorsTogetherStar checks that the problems of a .star scenario
// dict are reported together, each at its entry.
func TestAllErrorsTogetherStar(t *testing.T) {
	path := filepath.Join(t.TempDir(), "many.star")
	src := "scenario = {\n    'lod': {},\n    'workbook': {'ip_pools': [{'id': 'p', 'ranges': ['bogus']}]},\n    'thresholds': ['p95 is small'],\n}\ndef flow(user):\n    pass\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", path}, &stdout, &stderr); code != exitInvalid {
		t.Fatalf("exit %d", code)
	}
	want := []string{path + ":2:5: unknown key \"lod\"", path + ":3:54: ip pool \"p\"", path + ":4:20: threshold"}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("want %d errors, got:\n%s", len(want), stderr.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d: %q, want it to start with %q", i+1, lines[i], w)
		}
	}
}

// TestAllErrorsTogether checks that problems are not reported one per run.
func TestAllErrorsTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "many.yaml")
	src := "naem: x\nip_pools: [{id: p, ranges: [bogus]}]\nactions: [{id: a, call: nope}]\ntasks: [{id: s, action: b}]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", path}, &stdout, &stderr); code != exitInvalid {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) < 3 {
		t.Errorf("want the unknown key, the bad range and the unknown call together; got:\n%s", stderr.String())
	}
}

// runtimeErrors are scenarios that pass validation but raise an error
// when they run. Each error must be reported at the position in the
// user's own file that caused it (spec §6.1): for YAML, the line and
// column of the YAML, never a line of the program it compiles to.
var runtimeErrors = []struct {
	name, file, src string
	pos, msg        string
}{
	{"yaml url from a variable without scheme", "pos.yaml",
		"workbook: {variables: {host: 'localhost:28080'}}\nactions: [{id: a, call: get, with: {url: '{{vars.host}}/health'}}]\nworkflows: {nodes: [{id: s, action: a}]}\n",
		"2:42", "is not an absolute http(s) URL"},
	{"yaml template raises", "t.yaml",
		"actions:\n  - id: a\n    call: sleep\n    with:\n      duration: \"{{ user.data['nope'] }}\"\ntasks: [{id: s, action: a}]\n",
		"5:18", `key "nope" not in dict`},
	{"yaml header template raises", "h.yaml",
		"actions:\n  - id: a\n    call: get\n    with:\n      url: http://127.0.0.1:9/\n      headers: {X-A: '{{ 1 // 0 }}'}\ntasks: [{id: s, action: a}]\n",
		"6:23", "floored division by zero"},
	{"yaml no edge holds", "e.yaml",
		"actions: [{id: a, call: sleep, with: {duration: 1ms}}]\nworkflows:\n  nodes:\n    - id: start\n      action: a\n      edges: [{to: end, trigger: {condition: '{{ user.id == 99 }}'}}]\n",
		"4:11", `no edge of node "start" holds`},
	{"yaml condition raises", "c.yaml",
		"actions: [{id: a, call: sleep, with: {duration: 1ms}}]\nworkflows:\n  nodes:\n    - id: start\n      action: a\n      edges: [{to: end, trigger: {condition: '{{ user.data[\"x\"] }}'}}]\n",
		"6:47", `key "x" not in dict`},
	{"star runtime error", "s.star",
		"def flow(user):\n    x = {}\n    return x['missing']\n",
		"3:13", `key "missing" not in dict`},
}

func TestRuntimeErrorPositions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range runtimeErrors {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCase(t, dir, tc.name, tc.file, tc.src)
			sub := filepath.Dir(path)
			var stdout, stderr bytes.Buffer
			if code := run([]string{"validate", path}, &stdout, &stderr); code != exitPassed {
				t.Fatalf("ntx validate: exit %d, want 0 (the error shows only when it runs):\n%s", code, stderr.String())
			}
			stdout.Reset()
			stderr.Reset()
			code := run([]string{"exec", path}, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != exitFailed {
				t.Fatalf("ntx exec: exit %d, want 1 (a script error fails the run, spec §6.1); output:\n%s", code, out)
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") || strings.Contains(out, "internal error") {
				t.Fatalf("ntx exec panicked:\n%s", out)
			}
			if want := path + ":" + tc.pos + ": "; !strings.Contains(out, want) || !strings.Contains(out, tc.msg) {
				t.Errorf("ntx exec: output lacks %q with %q:\n%s", strings.TrimPrefix(want, sub+"/"), tc.msg, out)
			}
		})
	}
}

// TestEndlessFlowWarning checks that a graph no path of which reaches the
// end is a warning at its start node: valid, but every iteration would
// run into the step limit.
func TestEndlessFlowWarning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loop.yaml")
	src := "actions: [{id: a, call: sleep, with: {duration: 1ms}}]\ntasks:\n  - {id: start, action: a, next: [again]}\n  - {id: again, next: [start]}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", path}, &stdout, &stderr); code != exitPassed {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	want := path + `:3:10: warning: no path from node "start" reaches the end`
	if !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr %q, want it to start with %q", stderr.String(), want)
	}
}

// TestModuleErrorsAtTheirCause checks where a custom action's module
// problems are reported: a function the module lacks at the action's
// call, a module that raises as it loads at its modules: entry and in the
// module itself.
func TestModuleErrorsAtTheirCause(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("auth.star", "def login(ctx):\n    return {\"ok\": True}\n")
	write("broken.star", "x = {}[\"k\"]\n")
	for _, c := range []struct{ name, src, want string }{
		{"missing.yaml", "modules: {auth: auth.star}\nactions: [{id: a, call: auth.logn}]\ntasks: [{id: s, action: a}]\n", ":2:25: load: name logn not found in module auth.star (did you mean login?)"},
		{"raises.yaml", "modules: {b: broken.star}\nactions: [{id: a, call: b.f}]\ntasks: [{id: s, action: a}]\n", ":1:14: cannot load broken.star: " + filepath.Join(dir, "broken.star") + `:1:7: key "k" not in dict`},
	} {
		path := write(c.name, c.src)
		var stdout, stderr bytes.Buffer
		if code := run([]string{"validate", path}, &stdout, &stderr); code != exitInvalid {
			t.Errorf("%s: exit %d, want 2", c.name, code)
		}
		if got := strings.TrimSpace(stderr.String()); got != path+c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, path+c.want)
		}
	}
}

// TestStarEnvWarning checks that a .star file reading an env variable
// that will not be set, with no default, is warned about at the read,
// while a read the file tests is not.
func TestStarEnvWarning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env.star")
	src := "TOKEN = env.NTX_DECODE_TEST_UNSET\ndef flow(user):\n    if env.NTX_DECODE_TEST_OTHER:\n        print(env.NTX_DECODE_TEST_OTHER)\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", path}, &stdout, &stderr); code != exitPassed {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	want := path + ":1:12: warning: env.NTX_DECODE_TEST_UNSET is not set, and reads as None here: set NTX_DECODE_TEST_UNSET in the environment,"
	if got := strings.TrimSpace(stderr.String()); !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 0 {
		t.Errorf("stderr %q, want one warning starting %q", got, want)
	}

	// A variable scenarios may not see: validate says what exec does,
	// where exec says it, even when the read has a default.
	hidden := filepath.Join(t.TempDir(), "home.star")
	src = "def flow(user):\n    print(env.HOME or \"/\")\n"
	if err := os.WriteFile(hidden, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"validate", hidden}, &stdout, &stderr); code != exitPassed {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	warned := strings.TrimSpace(stderr.String())
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"exec", "-q", hidden}, &stdout, &stderr); code != exitFailed {
		t.Fatalf("exec: exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	failed := hidden + ":2:14: env.HOME: scenarios see only variables named with -e HOME"
	if !strings.HasPrefix(warned, hidden+":2:14: warning: env.HOME: scenarios see only variables named with -e HOME") ||
		!strings.HasSuffix(warned, "exec fails the iteration that reads it") || !strings.Contains(stdout.String(), failed) {
		t.Errorf("validate warned %q; exec printed:\n%s\nwant both at 2:14 saying %q", warned, stdout.String(), failed)
	}
}

// TestStartErrorAtThePool checks that a pool this host cannot send from
// stops the run before it starts (exit 3) with the pool's position.
func TestStartErrorAtThePool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foreign.yaml")
	src := "name: foreign\nip_pools:\n  - {id: p, ips: [192.0.2.9]}\nactions: [{id: a, call: sleep, with: {duration: 1ms}}]\ntasks: [{id: s, action: a}]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"exec", "-q", path}, &stdout, &stderr)
	if want := path + `:3:5: ip pool "p": `; code != exitDied || !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("exit %d, stderr %q; want 3 and a line starting %q", code, stderr.String(), want)
	}
}
