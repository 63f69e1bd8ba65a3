package engine_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/internal/runtime"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/target"
)

// mixYAML is a user mix of two workflows, 80:20, each of whose requests
// tells the target its flow and its user; phases are given by the test.
// The calls wait up to 60 s: 1,000 users calling at once through the race
// detector on a busy machine saw calls pass the default 10 s (3 of 1,000
// at load 37), and the split, not the latency, is what is tested.
const mixYAML = `
name: mix-80-20
load:
  ramp_up:
    phases: %s
actions:
  - id: browse
    call: get
    with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset?flow=browse&user={{user.id}}", timeout: 60s}
  - id: buy
    call: get
    with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset?flow=buy&user={{user.id}}", timeout: 60s}
workflows:
  - id: browse
    weight: 80
    nodes: [{id: start, action: browse}]
  - id: buy
    weight: 20
    nodes: [{id: start, action: buy}]
`

// mixStar is the same mix as a .star file: fn by value and by name.
const mixStar = `
scenario = {"load": {"ramp_up": {"phases": %s}}}

def browse(user):
    http.get("http://%%s/asset?flow=browse&user=%%d" %% (env.NTX_TARGET_HTTP, user.id), timeout = "60s")

def buy(user):
    http.get("http://%%s/asset?flow=buy&user=%%d" %% (env.NTX_TARGET_HTTP, user.id), timeout = "60s")

scenario["flows"] = [{"fn": browse, "weight": 80}, {"fn": "buy", "weight": 20}]
`

// flowsSeen returns the flow the target saw each user run, by user id,
// from the requests' queries; a user seen in two flows fails t.
func flowsSeen(t *testing.T, srv *target.Server) map[int]string {
	t.Helper()
	out := map[int]string{}
	for _, s := range srv.Seen() {
		if s.Path != "/asset" {
			continue
		}
		q, err := url.ParseQuery(s.Query)
		if err != nil {
			t.Fatal(err)
		}
		id, err := strconv.Atoi(q.Get("user"))
		if err != nil {
			t.Fatalf("query %q: %v", s.Query, err)
		}
		flow := q.Get("flow")
		if prev, ok := out[id]; ok && prev != flow {
			t.Fatalf("user %d ran both %s and %s", id, prev, flow)
		}
		out[id] = flow
	}
	return out
}

func runMix(t *testing.T, file, src string, opts runtime.Options) *engine.Result {
	t.Helper()
	res, err := engine.Run(context.Background(), file, []byte(src), engine.Options{Options: opts})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if !res.Passed {
		t.Fatalf("%s failed: %+v", file, res.Reasons)
	}
	return res
}

// share is the fraction of users in seen that ran flow.
func share(seen map[int]string, flow string) float64 {
	n := 0
	for _, f := range seen {
		if f == flow {
			n++
		}
	}
	return float64(n) / float64(len(seen))
}

// TestUserMixSplitsAtTheTarget: 1,000 users of an 80:20 mix at a fixed
// seed split within ±4 percentage points, counted at the target; ntx's
// own flow counts agree with it; the same seed draws the same flow for
// every user, another seed draws otherwise; a .star mix with the same
// weights draws as the YAML does (the draw depends on the seed, the
// user's id and the weights alone).
func TestUserMixSplitsAtTheTarget(t *testing.T) {
	srv := startTarget(t)
	src := fmt.Sprintf(mixYAML, "[{spawn_users: 1000}]")
	opts := runtime.Options{Seed: 7}

	res := runMix(t, "mix.yaml", src, opts)
	first := flowsSeen(t, srv)
	if len(first) != 1000 {
		t.Fatalf("the target saw %d users, want 1000", len(first))
	}
	browse := share(first, "browse")
	t.Logf("seed 7: the target saw %.1f%% of 1000 users browse, %.1f%% buy", 100*browse, 100*share(first, "buy"))
	if math.Abs(browse-0.80) > 0.04 {
		t.Errorf("%.1f%% of the users browsed, want 80±4", 100*browse)
	}
	for flow, f := range res.Flows {
		n := int64(math.Round(share(first, flow) * 1000))
		if f.Users != n || f.Iterations != n || f.Passed != n || f.Failed != 0 {
			t.Errorf("flow %s: ntx counted %+v, the target saw %d users", flow, f, n)
		}
	}
	if len(res.Flows) != 2 || res.Flows["browse"].Weight != 80 || res.Flows["buy"].Weight != 20 {
		t.Errorf("flows %+v", res.Flows)
	}

	srv.Reset()
	runMix(t, "mix.yaml", src, opts)
	again := flowsSeen(t, srv)
	for id, f := range first {
		if again[id] != f {
			t.Fatalf("seed 7 again: user %d ran %s, the first time %s", id, again[id], f)
		}
	}

	srv.Reset()
	runMix(t, "mix.yaml", src, runtime.Options{Seed: 8})
	other, differ := flowsSeen(t, srv), 0
	for id, f := range first {
		if other[id] != f {
			differ++
		}
	}
	t.Logf("seed 8: %.1f%% browse; %d of 1000 users drew another flow than with seed 7", 100*share(other, "browse"), differ)
	if differ < 100 || math.Abs(share(other, "browse")-0.80) > 0.04 {
		t.Errorf("seed 8: %d users differ from seed 7, %.1f%% browse", differ, 100*share(other, "browse"))
	}

	srv.Reset()
	star := runMix(t, "mix.star", fmt.Sprintf(mixStar, `[{"spawn_users": 1000}]`), opts)
	fromStar := flowsSeen(t, srv)
	for id, f := range first {
		if fromStar[id] != f {
			t.Fatalf(".star mix: user %d ran %s, the YAML's %s", id, fromStar[id], f)
		}
	}
	if star.Flows["browse"].Users != res.Flows["browse"].Users || star.Flows["buy"].Users != res.Flows["buy"].Users {
		t.Errorf(".star flows %+v, YAML %+v", star.Flows, res.Flows)
	}
}

// TestUserMixFleetSegments: the segments of a fleet draw for their users
// what one machine draws, and merging their results adds up the flows.
func TestUserMixFleetSegments(t *testing.T) {
	srv := startTarget(t)
	src := fmt.Sprintf(mixYAML, "[{spawn_users: 300}]")
	whole := runMix(t, "mix.yaml", src, runtime.Options{Seed: 3})
	want := flowsSeen(t, srv)
	srv.Reset()
	var parts []*engine.Result
	for i := 0; i < 3; i++ {
		parts = append(parts, runMix(t, "mix.yaml", src, runtime.Options{Seed: 3, Segment: schedule.Segment{I: i, N: 3}}))
	}
	got := flowsSeen(t, srv)
	if len(got) != 300 {
		t.Fatalf("the segments' users: %d, want 300", len(got))
	}
	for id, f := range want {
		if got[id] != f {
			t.Fatalf("user %d ran %s in its segment, %s on one machine", id, got[id], f)
		}
	}
	merged, err := metrics.Merge(parts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for flow, w := range whole.Flows {
		m := merged.Flows[flow]
		if m == nil || m.Users != w.Users || m.Iterations != w.Iterations || m.Passed != w.Passed || m.Weight != w.Weight {
			t.Errorf("flow %s: merged %+v, one machine %+v", flow, m, w)
		}
		if w.Passed > 0 && (m.Duration == nil || m.Duration.Max < m.Duration.P50) {
			t.Errorf("flow %s: merged iteration_ms %+v", flow, m.Duration)
		}
	}
}

// TestPhasePinsItsUsers: a phase's workflow: sends its users to that
// flow only, while the other phase's users draw by weight.
func TestPhasePinsItsUsers(t *testing.T) {
	srv := startTarget(t)
	for _, c := range []struct{ file, src string }{
		{"pin.yaml", fmt.Sprintf(mixYAML, "[{spawn_users: 50, workflow: buy}]")},
		{"pin.star", fmt.Sprintf(mixStar, `[{"spawn_users": 50, "workflow": "buy"}]`)},
	} {
		srv.Reset()
		res := runMix(t, c.file, c.src, runtime.Options{Seed: 7})
		seen := flowsSeen(t, srv)
		if len(seen) != 50 || share(seen, "buy") != 1 {
			t.Errorf("%s: the target saw %d users, %.0f%% buy; want 50, all buy", c.file, len(seen), 100*share(seen, "buy"))
		}
		if res.Flows["buy"].Users != 50 || res.Flows["browse"].Users != 0 {
			t.Errorf("%s: flows %+v", c.file, res.Flows)
		}
	}
	// Pinned and drawn users side by side: users 1-100 draw, 101-120
	// are pinned to buy (phases starting together number in phase order).
	srv.Reset()
	runMix(t, "pin.yaml", fmt.Sprintf(mixYAML, "[{spawn_users: 100}, {spawn_users: 20, workflow: buy}]"), runtime.Options{Seed: 7})
	seen := flowsSeen(t, srv)
	drawn := 0
	for id, f := range seen {
		if id > 100 && f != "buy" {
			t.Errorf("pinned user %d ran %s", id, f)
		}
		if id <= 100 && f == "browse" {
			drawn++
		}
	}
	if len(seen) != 120 || drawn < 60 {
		t.Errorf("saw %d users, %d of the first 100 browsed", len(seen), drawn)
	}
}

// TestStarFlowErrors: a .star flows entry whose fn is not a flow function
// is an input error at the entry, before any load.
func TestStarFlowErrors(t *testing.T) {
	srv := startTarget(t)
	for _, c := range []struct{ src, want string }{
		{`def browse(user):
    pass
n = 3
scenario = {"flows": [{"fn": "brwse"}, {"fn": "n"}]}
`, `f.star:4:30: flow "brwse": fn "brwse" names nothing the file defines (did you mean "browse"?)
f.star:4:47: flow "n": fn is an int, not a function (def NAME(user):)`},
		{`def two(user, extra):
    pass
scenario = {"flows": [{"fn": two, "weight": 1}]}
`, `f.star:3:30: flow "two": two takes 2 parameters; a flow takes exactly one, the user`},
		{`scenario = {"flows": [{"fn": lambda user: None}]}
`, `f.star:1:30: flows[0]: a lambda has no name: give the flow an id`},
		{`scenario = {"name": "no flow"}
`, `f.star:1:1: defines no flow(user) function`},
	} {
		_, err := engine.Run(context.Background(), "f.star", []byte(c.src), engine.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
	if n := len(srv.Seen()); n != 0 {
		t.Errorf("the target saw %d requests", n)
	}
	// A flow(user) beside a mix that does not list it is never run: said.
	p, err := engine.Load("f.star", []byte(`def flow(user):
    pass
def browse(user):
    pass
scenario = {"flows": [{"fn": browse}]}
`), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Warnings.Error(); !strings.Contains(w, `f.star:1:1: flow(user) is never run: scenario["flows"] lists the flows users run, and not this one`) {
		t.Errorf("warnings: %q", w)
	}
}

// TestUserMixCountsExhaustedIterations: an iteration that finds the
// pool exhausted counts, failed, in its flow, so the flows' iterations
// sum to the run's. One address, released at each task's end: a user of
// quick iterations gives it back while thinking, a user of a slow one
// arrives and takes it for longer than the quick one may wait.
func TestUserMixCountsExhaustedIterations(t *testing.T) {
	startTarget(t)
	file := writeFile(t, t.TempDir(), "exhausted.yaml", `
name: exhausted
ip_pools: [{id: one, ips: [127.0.12.3]}]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: 1, workflow: quick}, {at_second: 1, spawn_users: 1, workflow: slow}]}
  user_lifetime: {mode: loop, iterations: 0, think_time: 100ms}
  duration: 3s
  graceful_stop: 5s
  user_resources:
    ip_binding: {pool_id: one, release_on: task_end}
    capacity_management: {wait_on_exhaustion: true, wait_timeout: 1s}
actions:
  - {id: quick, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/delay/50"}}
  - {id: slow, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/delay/1600"}}
workflows:
  - {id: quick, weight: 1, nodes: [{id: start, action: quick}]}
  - {id: slow, weight: 1, nodes: [{id: start, action: slow}]}
`)
	res := runFile(t, file, nil)
	if res.Iterations.Failures["pool-exhausted"] == 0 {
		t.Fatalf("iterations %+v: no iteration found the pool exhausted (users %+v, flows %+v)", res.Iterations, res.Users, res.Flows)
	}
	var sum, failed int64
	for _, f := range res.Flows {
		sum += f.Iterations
		failed += f.Failed
	}
	if sum != int64(res.Iterations.Total) || failed != int64(res.Iterations.Failed) {
		t.Errorf("flows %+v sum to %d iterations (%d failed), the run counted %+v", res.Flows, sum, failed, res.Iterations)
	}
}
