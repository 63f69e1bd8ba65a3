package scenario

import (
	"strings"
	"testing"
)

const mixActions = `
actions:
  - {id: a, call: sleep, with: {duration: 1ms}}
`

// TestWorkflowList decodes the list form of workflows: ids, weights
// (default 1, fractions allowed), each workflow's own graph, and a phase
// pinned to one.
func TestWorkflowList(t *testing.T) {
	s, err := Parse("m.yaml", []byte(mixActions+`
load:
  ramp_up:
    phases: [{spawn_users: 5}, {spawn_users: 1, workflow: buy}]
workflows:
  - id: browse
    weight: 2.5
    nodes: [{id: start, action: a, edges: [{to: end}]}, {id: end, type: end}]
  - id: buy
    nodes: [{id: start, action: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Workflows) != 2 || len(s.Nodes) != 0 {
		t.Fatalf("workflows %d, nodes %d", len(s.Workflows), len(s.Nodes))
	}
	b, y := s.Workflows[0], s.Workflows[1]
	if b.ID != "browse" || b.Weight != 2.5 || len(b.Nodes) != 2 || b.StartNode() != "start" {
		t.Errorf("browse: %+v", b)
	}
	if y.ID != "buy" || y.Weight != 1 || len(y.Nodes) != 1 {
		t.Errorf("buy: %+v", y)
	}
	if s.Load.Phases[1].Workflow != "buy" || s.Load.Phases[0].Workflow != "" {
		t.Errorf("phases: %+v", s.Load.Phases)
	}
}

// wantErrors checks that err holds each of want, in full.
func wantErrors(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

// TestWorkflowListErrors: each mistake of a user mix is reported at its
// line and column, all of them at once.
func TestWorkflowListErrors(t *testing.T) {
	_, err := Parse("m.yaml", []byte(mixActions+`
load:
  ramp_up:
    phases: [{spawn_users: 5, workflow: biy}, {spawn_users: 1, workflow: nothing-like-it}]
workflows:
  - id: browse
    weight: 0
    nodes: [{id: start, action: a}]
  - id: buy
    weight: "lots"
    nodes: [{id: start, action: a}, {id: start, action: a}]
  - id: browse
    weight: -3
    nodes: [{id: start, action: b}]
thresholds:
  - "flows.bye.failed == 0"
  - "flows.buy.p95 < 1s"
`))
	wantErrors(t, err,
		`m.yaml:7:41: workflow "biy" is not a workflow of the scenario (did you mean "buy"?)`,
		`m.yaml:7:74: workflow "nothing-like-it" is not a workflow of the scenario`,
		`m.yaml:10:13: workflow weight must be a number above 0, not 0`,
		`m.yaml:13:13: workflow weight must be a number above 0, not the string "lots"`,
		`m.yaml:14:42: duplicate node id "start" (first defined at line 14)`,
		`m.yaml:15:9: duplicate workflow id "browse" (first defined at line 9)`,
		`m.yaml:16:13: workflow weight must be a number above 0, not -3`,
		`m.yaml:17:13: node "start" runs action "b", which is not defined (did you mean "a"?)`,
		`m.yaml:19:5: threshold "flows.bye.failed == 0": "bye" is not a workflow of the scenario (did you mean "buy"?)`,
	)
	if strings.Contains(err.Error(), "flows.buy.p95") {
		t.Errorf("a threshold on a flow that exists was refused:\n%v", err)
	}

	_, err = Parse("m.yaml", []byte(mixActions+`
workflows:
  - {id: a, weight: 1e308, nodes: [{id: start, action: a}]}
  - {id: b, weight: 1.5e308, nodes: [{id: start, action: a}]}
`))
	wantErrors(t, err, `m.yaml:6:5: the workflows' weights add up to more than a number can hold`)

	_, err = Parse("m.yaml", []byte(mixActions+"workflows: []\n"))
	wantErrors(t, err, `m.yaml:4:12: workflows is an empty list`)

	_, err = Parse("m.yaml", []byte(mixActions+`
load: {ramp_up: {phases: [{spawn_users: 1, workflow: buy}]}}
thresholds: ["flows.buy.failed == 0"]
tasks: [{id: start, action: a}]
`))
	wantErrors(t, err,
		`m.yaml:5:54: workflow "buy": the scenario has no named workflows`,
		`m.yaml:6:14: threshold "flows.buy.failed == 0": the scenario has no user mix`)
}

// TestStarlarkFlows decodes scenario["flows"]: fn as a function or a
// name, the id from the function's name or given, weights.
func TestStarlarkFlows(t *testing.T) {
	s, err := fromStar(t, `
def browse(user):
    pass
scenario = {"load": {"ramp_up": {"phases": [{"spawn_users": 1, "workflow": "pay"}]}}}
scenario["flows"] = [{"fn": browse, "weight": 80}, {"fn": "buy", "weight": 20.5, "id": "pay"}]
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Workflows) != 2 {
		t.Fatalf("%d flows", len(s.Workflows))
	}
	if w := s.Workflows[0]; w.ID != "browse" || w.Weight != 80 {
		t.Errorf("flow 0: %+v", w)
	}
	if w := s.Workflows[1]; w.ID != "pay" || w.Weight != 20.5 || w.Fn.String() != `"buy"` {
		t.Errorf("flow 1: %+v", w)
	}
}

func TestStarlarkFlowsErrors(t *testing.T) {
	_, err := fromStar(t, `
def browse(user):
    pass
scenario = {"load": {"ramp_up": {"phases": [{"spawn_users": 1, "workflow": "brwse"}]}}}
scenario["flows"] = [
    {"fn": browse, "weight": 0},
    {"fn": 3},
    {"fn": browse, "wieght": 2},
    "buy",
    {"weight": "x"},
]
`)
	wantErrors(t, err,
		`s.star:4:76: workflow "brwse" is not a workflow of the scenario (did you mean "browse"?)`,
		`s.star:6:30: flows[0]: weight must be a number above 0, not 0`,
		`s.star:7:12: flows[1]: fn must be a function (def NAME(user):) or the name of one, not an int`,
		`s.star:8:20: unknown key "wieght" in flows[2] (did you mean "weight"?)`,
		`s.star:8:5: duplicate workflow id "browse" (first defined at line 6)`,
		`s.star:9:5: flows[3] must be a dict such as {"fn": browse, "weight": 80}, not a string`,
		`s.star:10:5: flows[4] needs fn`,
		`s.star:10:16: flows[4]: weight must be a number above 0, not a string`,
	)
	_, err = fromStar(t, `scenario = {"flows": []}`)
	wantErrors(t, err, `s.star:1:22: flows is an empty list`)
	_, err = fromStar(t, `scenario = {"flows": {"fn": "x"}}`)
	wantErrors(t, err, `s.star:1:22: flows must be a list`)
}
