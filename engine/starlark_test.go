package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

func TestStarlarkFlowWithLoopsAndLoad(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "lib/paths.star", `
load("../lib/names.star", "asset")   # relative to this file: dir/lib/names.star
def url(base):
    return base + asset
`)
	writeFile(t, dir, "lib/names.star", `asset = "/asset"`)
	file := writeFile(t, dir, "flow.star", `
load("lib/paths.star", "url")
scenario = {
    "name": "loops",
    "ip_pools": [{"id": "p", "ips": ["127.0.8.1", "127.0.8.2"]}],
    "variables": {"base": "http://" + env.NTX_TARGET_HTTP},
    "load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 2}]},
             "user_lifetime": {"mode": "loop", "iterations": 3}},
}

def flow(user):
    n = 0
    while n < user.iteration:
        n += 1
        r = http.post(url(vars.base), body = "u%d i%d n%d" % (user.id, user.iteration, n))
        check(r.ok, "posted")
    if user.iteration == 3 and user.id == 2:
        fail("user 2 gives up on its last iteration", reason = "gave-up")
    user.data["count"] = user.data.get("count", 0) + n
    if user.iteration == 3:
        http.get(vars.base + "/ip", name = "total %d" % user.data["count"])
`)
	res := runFile(t, file, nil)
	// Each user posts 1+2+3 times; user 1 then reports its total of 6.
	if n := count(srv, func(s target.Seen) bool { return s.Method == "POST" }); n != 12 {
		t.Errorf("target saw %d posts, want 12", n)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Body == "u2 i3 n3" && s.Source == "127.0.8.2" }); n != 1 {
		t.Errorf("the last post of user 2 from 127.0.8.2 seen %d times; all: %v", n, seen(srv))
	}
	if res.Actions["total 6"] == nil || res.Actions["POST /asset"].Count != 12 {
		t.Errorf("actions = %v", res.Actions)
	}
	if res.Iterations.Failures["gave-up"] != 1 || res.Iterations.Passed != 5 {
		t.Errorf("iterations = %+v", res.Iterations)
	}
	if c := res.Checks["posted"]; c == nil || c.Passed != 12 {
		t.Errorf("checks = %+v", c)
	}
	// No thresholds, and an iteration failed: the run failed (spec §6.1).
	if res.Passed || len(res.Reasons) != 1 || res.Reasons[0].What != "iterations_failed" || res.Reasons[0].Count != 1 {
		t.Errorf("passed %v, reasons %+v", res.Passed, res.Reasons)
	}
}

func TestStarlarkGuards(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "outside.star", `x = 1`)
	file := writeFile(t, dir, "inner/flow.star", `
def flow(user):
    if user.id == 1:
        while True:
            pass
    if user.id == 2:
        check(False, "always fails")
    if user.id == 3:
        return 1 // 0
    if user.id == 4:
        sleep("1ms")

scenario = {"load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 4}]}}}
`)
	res, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Iterations.Failures["step-limit"] != 1 || res.Iterations.Failures["error"] != 1 || res.Iterations.Passed != 2 {
		t.Errorf("iterations = %+v", res.Iterations)
	}
	if msg := res.Errors["iteration error"]; !strings.Contains(msg, "flow.star:9:18: ") || !strings.Contains(msg, "division by zero") {
		t.Errorf("error message = %q, want the position and the division", msg)
	}
	if res.Passed || res.Checks["always fails"].Failed != 1 {
		t.Errorf("a failed check must fail the run: passed %v, checks %v", res.Passed, res.Checks)
	}

	// load() may not leave the scenario's directory.
	bad := writeFile(t, dir, "inner/escape.star", "load(\"../outside.star\", \"x\")\ndef flow(user):\n    pass\n")
	_, err = engine.Run(context.Background(), bad, nil, engine.Options{})
	if err == nil || !engine.IsInputError(err) || !strings.Contains(err.Error(), "escape.star:1:1") || !strings.Contains(err.Error(), "outside the scenario's directory") {
		t.Errorf("escaping load: %v", err)
	}
}

func TestPoolExhaustedUsersFailToStart(t *testing.T) {
	srv := startTarget(t)
	file := writeFile(t, t.TempDir(), "x.yaml", `
name: exhausted
ip_pools: [{id: two, ips: [127.0.9.1, 127.0.9.2]}]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: 3}]}
actions: [{id: slow, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/delay/300"}}]
tasks: [{id: start, action: slow}]
`)
	res := runFile(t, file, nil)
	if res.Users.FailedToStart != 1 || res.Users.StartFailures["pool-exhausted"] != 1 || res.Users.Spawned != 2 {
		t.Errorf("users = %+v", res.Users)
	}
	if p := res.Pools["two"]; p.Exhausted != 1 || p.PeakAllocated != 2 {
		t.Errorf("pool = %+v", p)
	}
	if got := keys(sources(srv, "http")); got != "127.0.9.1=1 127.0.9.2=1" {
		t.Errorf("sources = %s", got)
	}
}

func TestAddressNotOnHost(t *testing.T) {
	// 192.0.2.0/24 is reserved for documentation: never on a host. Only a
	// bind is attempted; no packet is sent.
	file := writeFile(t, t.TempDir(), "x.yaml", `
name: foreign
ip_pools: [{id: far, ips: [192.0.2.7]}]
actions: [{id: a, call: get, with: {url: "http://127.0.0.1:9/"}}]
tasks: [{id: start, action: a}]
`)
	_, err := engine.Run(context.Background(), file, nil, engine.Options{})
	if !engine.IsStartError(err) || !strings.Contains(err.Error(), "192.0.2.7 is not on this host") ||
		!strings.Contains(err.Error(), "ip addr add 192.0.2.7/32 dev lo") {
		t.Errorf("err = %v", err)
	}
}

func TestRunScenarioStringAPI(t *testing.T) {
	srv := startTarget(t)
	out, err := engine.RunScenario(`
name: strings
actions: [{id: a, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/health"}}]
tasks: [{id: start, action: a}]
`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"scenario": "strings"`) || !strings.Contains(out, `"passed": true`) {
		t.Errorf("result = %s", out)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Path == "/health" }); n != 1 {
		t.Errorf("target saw %d requests", n)
	}
	if _, err := engine.RunScenario("name: [broken"); err == nil || !strings.Contains(err.Error(), "scenario.yaml:1:") {
		t.Errorf("broken input: %v", err)
	}
}

// TestResponseObject checks every field of the HTTP response of spec §7,
// and the form and bind_ip arguments, against what the target saw.
func TestResponseObject(t *testing.T) {
	srv := startTarget(t)
	file := writeFile(t, t.TempDir(), "resp.star", `
# bind_ip must be an address of one of the scenario's pools; users are
# left unbound to check source_ip of an unbound call.
scenario = {"ip_pools": [{"id": "extra", "ips": ["127.0.10.9"]}],
            "load": {"user_resources": {"ip_binding": {"enabled": False}}}}

def flow(user):
    base = "http://" + env.NTX_TARGET_HTTP
    r = http.get(base + "/asset", headers = {"X-Trace": 42}, query = {"a": "1", "b": ["x", "y"]})
    check(r.status_code == 200, "status_code")
    check(r.ok == True, "ok")
    check(r.headers["content-type"] == "application/json", "headers are lower-case")
    check(type(r.body) == "string" and "asset-1" in r.body, "body")
    check(r.json()["items"][1]["name"] == "second", "json()")
    check(type(r.latency_ms) == "float" and r.latency_ms > 0, "latency_ms")
    check(r.source_ip == None, "source_ip of an unbound user")
    check(r.url.startswith(base + "/asset?"), "url")
    f = http.post(base + "/asset", form = {"k": "v w"}, bind_ip = "127.0.10.9", name = "form")
    check(f.body == "k=v+w" and f.headers["content-type"] == "application/x-www-form-urlencoded", "form")
    check(f.source_ip == "127.0.10.9" and f.headers["x-source-ip"] == "127.0.10.9", "bind_ip")
    h = http.request("http://" + env.NTX_TARGET_HTTP + "/health", method = "head")
    check(h.status_code == 200 and h.body == "", "head")
    bad = http.get(base + "/status/418", expect_status = 418)
    check(bad.ok and bad.error == None, "expect_status")
`)
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Failed != 0 {
			t.Errorf("check %q failed", name)
		}
	}
	if len(res.Checks) != 12 {
		t.Errorf("%d checks ran, want 12", len(res.Checks))
	}
	if n := count(srv, func(s target.Seen) bool {
		return s.Query == "a=1&b=x&b=y" && s.Header.Get("X-Trace") == "42"
	}); n != 1 {
		t.Errorf("target saw the query and header %d times; all: %v", n, seen(srv))
	}
	if n := count(srv, func(s target.Seen) bool { return s.Source == "127.0.10.9" && s.Body == "k=v+w" }); n != 1 {
		t.Errorf("target saw the form from bind_ip %d times", n)
	}
	if res.SourceIPs["127.0.10.9"] == nil || res.SourceIPs["unbound"].Requests != 3 {
		t.Errorf("source_ips = %v", res.SourceIPs)
	}
}
