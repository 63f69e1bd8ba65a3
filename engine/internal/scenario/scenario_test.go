package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/pool"
)

const flatSrc = `
name: same
ip_pools:
  - name: p1
    ips: [127.0.0.2, 127.0.0.3]
actions:
  - id: a-get
    call: get
    with: {url: "http://127.0.0.1:1/x"}
tasks:
  - id: start
    action: a-get
    next:
      - {task: end, when: "{{a-get.ok}}"}
      - {task: retry}
  - id: retry
    action: a-get
    next: [end]
`

const workbookSrc = `
name: same
workbook:
  ip_pools:
    - id: p1
      ranges: [127.0.0.2, 127.0.0.3]
actions:
  actions:
    - id: a-get
      call: get
      with: {url: "http://127.0.0.1:1/x"}
workflows:
  nodes:
    - id: start
      action: a-get
      edges:
        - {to: end, trigger: {condition: "{{a-get.ok}}"}}
        - {to: retry}
    - id: retry
      action: a-get
      edges: [{to: end}]
`

// TestDialectsMeetInOneModel parses the same scenario in both dialects.
func TestDialectsMeetInOneModel(t *testing.T) {
	a, err := Parse("flat.yaml", []byte(flatSrc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("workbook.yaml", []byte(workbookSrc))
	if err != nil {
		t.Fatal(err)
	}
	summary := func(s *Scenario) string {
		var parts []string
		for _, p := range s.Pools {
			parts = append(parts, "pool "+p.ID+" "+strings.Join(p.Ranges, ",")+" "+fmt.Sprint(p.Strategy)+" "+fmt.Sprint(len(p.Addrs)))
		}
		for _, ac := range s.Actions {
			parts = append(parts, "action "+ac.ID+" "+ac.Call)
		}
		for _, n := range s.Nodes {
			parts = append(parts, "node "+n.ID+" "+string(n.Type)+" "+n.Action)
			for _, e := range n.Edges {
				cond := ""
				if e.When != nil {
					cond = e.When.Value
				}
				parts = append(parts, "  -> "+e.To+" "+cond)
			}
		}
		return strings.Join(parts, "\n")
	}
	if sa, sb := summary(a), summary(b); sa != sb {
		t.Errorf("the dialects disagree:\nflat:\n%s\nworkbook:\n%s", sa, sb)
	}
	if a.StartNode() != "start" {
		t.Errorf("start node %q", a.StartNode())
	}
}

func TestLoadSection(t *testing.T) {
	s, err := Parse("l.yaml", []byte(`
name: l
ip_pools: [{id: p, ranges: ["127.0.0.0/30"]}]
load:
  ramp_up:
    phases:
      - {at_second: 0.5, spawn_users: 10, spread: 2s, ip_pool_override: p}
  user_lifetime: {mode: loop, iterations: 3, think_time: {min: 100ms, max: 500ms}}
  user_resources:
    ip_binding: {enabled: true, pool_id: p, strategy: per_task, release_on: task_end}
    capacity_management: {wait_on_exhaustion: true, wait_timeout: 30s, fallback_pool: p}
  concurrency: {max_concurrent_users: 600, spawn_rate_limit: 100/s, action_rate_limit: 6000/m}
  duration: 1m
  graceful_stop: 5s
actions: [{id: a, call: sleep, with: {duration: 1ms}}]
tasks: [{id: t, action: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	l := s.Load
	ph := l.Phases[0]
	if ph.At != 500*time.Millisecond || ph.Users != 10 || ph.Spread != 2*time.Second || ph.Pool != "p" {
		t.Errorf("phase = %+v", ph)
	}
	if l.Lifetime.Mode != "loop" || l.Lifetime.Iterations != 3 || l.Lifetime.ThinkMin != 100*time.Millisecond || l.Lifetime.ThinkMax != 500*time.Millisecond {
		t.Errorf("lifetime = %+v", l.Lifetime)
	}
	if b := l.Binding; !b.Enabled || b.PoolID != "p" || b.Strategy != "per_task" || b.ReleaseOn != "task_end" {
		t.Errorf("binding = %+v", b)
	}
	if c := l.Capacity; !c.WaitOnExhaustion || c.WaitTimeout != 30*time.Second || c.FallbackPool != "p" {
		t.Errorf("capacity = %+v", c)
	}
	if c := l.Concurrency; c.MaxUsers != 600 || c.SpawnRate != 100 || c.ActionRate != 100 {
		t.Errorf("concurrency = %+v", c)
	}
	if l.Duration != time.Minute || l.GracefulStop != 5*time.Second {
		t.Errorf("duration %v, graceful stop %v", l.Duration, l.GracefulStop)
	}
}

func TestUnreachableWarning(t *testing.T) {
	s, err := Parse("w.yaml", []byte(`
name: w
actions: [{id: a, call: sleep, with: {duration: 1ms}}]
tasks:
  - {id: start, action: a, next: [end]}
  - {id: orphan, action: a}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || s.Warnings[0].Pos.Line != 6 || !strings.Contains(s.Warnings[0].Msg, `"orphan" is unreachable`) {
		t.Errorf("warnings = %v", s.Warnings)
	}
}

func TestErrorsAreAllReportedInOrder(t *testing.T) {
	_, err := Parse("e.yaml", []byte(`
name: e
ip_pools: [{id: p, ranges: ["10.0.0.0/33"]}]
actions:
  - {id: a, call: gett, with: {url: "http://x"}}
  - {id: b, call: get, with: {url: "{{nope.x}}", tiemout: 1s}}
tasks:
  - {id: start, action: zz, next: [{task: nowhere}]}
`))
	list, ok := err.(ErrorList)
	if !ok {
		t.Fatalf("err = %v (%T), want an ErrorList", err, err)
	}
	want := []string{
		`e.yaml:3:29: ip pool "p": "10.0.0.0/33" is not a valid CIDR`,
		`e.yaml:5:19: unknown call "gett" (did you mean "get"?)`,
		`e.yaml:6:50: unknown key "tiemout" in with of action "b" (did you mean "timeout"?)`,
		`e.yaml:6:39: template names nothing called "nope"`,
		`e.yaml:8:5: node "start" runs action "zz", which is not defined`,
		`e.yaml:8:43: node "start" leads to "nowhere", which is not a node`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if len(list) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(list), len(want), got)
	}
}

// FuzzParse feeds arbitrary bytes to the YAML loader: it may reject them,
// but must never panic, and every error must carry a position.
func FuzzParse(f *testing.F) {
	for _, s := range []string{flatSrc, workbookSrc, "", "tasks: [", "name: x\ntasks: {}", "workflows: {nodes: [{id: a, edges: [{to: b}]}]}"} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("../../../testdata/*/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Parse("fuzz.yaml", src)
		if err == nil {
			return
		}
		list, ok := err.(ErrorList)
		if !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
		for _, e := range list {
			if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 {
				t.Fatalf("error without a position: %v", e)
			}
		}
	})
}

// TestPoolsExpandedOnce checks that checking a scenario leaves each pool's
// addresses expanded in the model, typed, for the run to use as they are.
func TestPoolsExpandedOnce(t *testing.T) {
	s, err := Parse("p.yaml", []byte("ip_pools:\n  - id: p\n    ranges: [127.0.1.0/29]\n    exclude: [127.0.1.3]\n    allocation_strategy: random\nload:\n  user_resources: {ip_binding: {pool_id: p, strategy: shared, release_on: task_end}}\n  user_lifetime: {mode: loop, iterations: 2}\ntasks: [{id: s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Pools[0]
	if got := fmt.Sprint(p.Addrs); got != "[127.0.1.1 127.0.1.2 127.0.1.4 127.0.1.5 127.0.1.6]" {
		t.Errorf("addresses %s", got)
	}
	if p.Strategy != pool.Random {
		t.Errorf("strategy %v, want random", p.Strategy)
	}
	b := s.Load.Binding
	if b.Strategy != Shared || b.ReleaseOn != OnTaskEnd || s.Load.Lifetime.Mode != Loop {
		t.Errorf("binding %+v, lifetime %+v", b, s.Load.Lifetime)
	}
}
