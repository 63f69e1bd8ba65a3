package runtime

import (
	"errors"
	"testing"

	"github.com/ntx-dev/ntx/engine/internal/scenario"
)

// FuzzStarScenario loads .star scenarios whose `scenario = ...` is
// fuzzed: the text after `scenario = ` may be any expression, or several
// statements that build the dict (a dict that contains itself, lists
// shared many times over). Loading either succeeds or returns input
// errors, each at a position in the file; it never panics.
func FuzzStarScenario(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"name": "x", "ip_pools": [{"id": "p", "ips": ["127.0.0.2", "127.0.1.0/30"]}]}`,
		`{"ip_pools": [{"id": "p", "ranges": ["127.0.0.1-127.0.0.9"], "exclude": ["127.0.0.5"], "allocation_strategy": "random"}],
 "load": {"user_resources": {"ip_binding": {"pool_id": "p", "strategy": "per_task", "release_on": "task_end"},
                             "capacity_management": {"wait_on_exhaustion": True, "wait_timeout": "1s"}}}}`,
		`{"load": {"ramp_up": {"phases": [{"at_second": 0.5, "spawn_users": 3, "spread": "1s"}]},
 "user_lifetime": {"mode": "loop", "iterations": 2, "think_time": {"min": "1ms", "max": "2ms"}},
 "duration": "1s", "graceful_stop": "1s", "concurrency": {"max_concurrent_users": 2, "spawn_rate_limit": "5/s"}}}`,
		`{"load": {"arrival": {"rate": "10/s", "duration": "1s", "max_users": 5}}}`,
		`{"thresholds": ["http.p95 < 200ms", "iterations.failed == 0", "checks.passed > 1%"]}`,
		`{"variables": {"a": 1, "b": [1, 2.5, None, True], "c": {"d": "e"}}, "tenants": [{"id": "t", "properties": {"k": "v"}}]}`,
		`{"workbook": {"ip_pools": [{"id": "p", "ips": "::1"}], "variables": {"x": 1}}}`,
		`{"ip_pools": [{"id": "p", "ips": ["0.0.0.0", "224.0.0.1", "::"]}]}`,
		`{"load": {"ramp_up": {"phases": [{"spawn_users": -1, "at_second": "x"}]}}}`,
		"{}\nv = {}\nv[\"self\"] = v\nscenario[\"variables\"] = v",
		"{}\na = [\"lol\"] * 9\nb = [a] * 9\nc = [b] * 9\nd = [c] * 9\ne = [d] * 9\nf = [e] * 9\nscenario[\"variables\"] = {\"f\": f}",
		`{1: 2}`,
		`[1, 2]`,
		`{"ip_pools": {"id": "p"}}`,
		`{"name": struct(a = 1)}`,
		`None`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dict string) {
		src := "scenario = " + dict + "\n\ndef flow(user):\n    pass\n"
		_, err := Load("fuzz.star", []byte(src), LoadOptions{})
		if err == nil {
			return
		}
		var list scenario.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("not an input error: %v", err)
		}
		for _, e := range list {
			if e.Pos.File == "" || e.Msg == "" {
				t.Fatalf("an error without a file or a message: %#v", e)
			}
		}
	})
}
