package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine"
)

// execResult runs `ntx exec --out` on a scenario written to dir/name and
// returns the exit code, stdout, stderr and the JSON result.
func execResult(t *testing.T, dir, name, src string, flags ...string) (int, string, string, *engine.Result) {
	t.Helper()
	file := writeFile(t, filepath.Join(dir, name), src)
	out := filepath.Join(dir, strings.TrimSuffix(name, filepath.Ext(name))+".json")
	code, stdout, stderr := ntx(t, append(append([]string{"exec", "--out", out}, flags...), file)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%s: no JSON (%v); exit %d\n%s%s", name, err, code, stdout, stderr)
	}
	var res engine.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return code, stdout, stderr, &res
}

// lastLine is the summary's last line.
func lastLine(stdout string) string {
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

// Runs that plainly failed must say so: on the summary's last line, in
// the JSON and in the exit code (spec §6.1).
func TestPlainlyFailedRunsFail(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name, file, src string
		last            string // the summary's last line
		what            string // the first reason's kind
		count           int64
	}{
		{"every iteration raises", "raises.star",
			"scenario = {'load': {'user_lifetime': {'mode': 'loop', 'iterations': 3}}}\n\ndef flow(user):\n    d = {}\n    return d['missing']\n",
			`FAILED: 3 script errors, first: ` + filepath.Join(dir, "raises.star") + `:5:13: key "missing" not in dict`, "script_error", 3},
		{"a custom action raises", "custom.star",
			"def broken(ctx):\n    return {'n': 1 // 0}\n\ndef flow(user):\n    run_action('b', broken, user)\n",
			`FAILED: 1 script error, first: action "b": ` + filepath.Join(dir, "custom.star") + `:2:20: floored division by zero`, "script_error", 1},
		{"0 of 1 iterations passed", "gives-up.star",
			"def flow(user):\n    fail('the answer was wrong', reason = 'wrong-answer')\n",
			"FAILED: 1 of 1 iterations failed (wrong-answer 1)", "iterations_failed", 1},
		{"users fail to start", "crowded.star",
			"scenario = {\n    'ip_pools': [{'id': 'p', 'ips': ['127.0.9.1-127.0.9.3']}],\n    'load': {'ramp_up': {'phases': [{'at_second': 0, 'spawn_users': 6}]}},\n}\ndef flow(user):\n    sleep(0.5)  # hold the address while the others start\n",
			"FAILED: 3 of 6 users failed to start (pool-exhausted 3)", "users_failed_to_start", 3},
		// The spec's own flat example, against a target that has no /get.
		{"a 404 and no thresholds", "flat.yaml",
			"name: simple-test\nactions:\n  - id: http-get\n    call: http.request\n    with:\n      method: GET\n      url: http://{{env.NTX_TARGET_HTTP}}/get\ntasks:\n  - id: start\n    next: [{task: t1}]\n  - id: t1\n    action: http-get\n    next: [{task: end}]\n  - id: end\n",
			"FAILED: 1 of 1 calls failed (http-get status_4xx 1)", "calls_failed", 1},
	} {
		code, stdout, stderr, res := execResult(t, dir, c.file, c.src, "--quiet")
		if code != exitFailed || lastLine(stdout) != c.last {
			t.Errorf("%s: exit %d, last line %q\nwant exit 1 and %q\n%s%s", c.name, code, lastLine(stdout), c.last, stdout, stderr)
		}
		if res.Passed || len(res.Reasons) == 0 || res.Reasons[0].What != c.what || res.Reasons[0].Count != c.count || res.Interrupted {
			t.Errorf("%s: JSON passed %v, interrupted %v, reasons %+v", c.name, res.Passed, res.Interrupted, res.Reasons)
		}
	}

	// Declared thresholds say what a scenario tolerates: the same 404,
	// within them, passes.
	code, stdout, _, res := execResult(t, dir, "tolerant.yaml",
		"actions: [{id: a, call: get, with: {url: 'http://{{env.NTX_TARGET_HTTP}}/get'}}]\nthresholds: ['a.error_rate <= 100%']\ntasks: [{id: s, action: a}]\n", "--quiet")
	if code != exitPassed || lastLine(stdout) != "passed" || !res.Passed || len(res.Reasons) != 0 {
		t.Errorf("a 404 within the thresholds: exit %d, reasons %+v\n%s", code, res.Reasons, stdout)
	}
}

// Percentiles never above the maximum, the mean never below the minimum:
// one call is every statistic at once.
func TestOneCallIsEveryStatistic(t *testing.T) {
	startTarget(t)
	code, stdout, _, res := execResult(t, t.TempDir(), "one.yaml",
		"actions: [{id: slow, call: get, with: {url: 'http://{{env.NTX_TARGET_HTTP}}/delay/30'}}]\ntasks: [{id: s, action: slow}]\n", "--quiet")
	if code != exitPassed {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	l := res.Actions["slow"].Latency
	if l.Min < 30 {
		t.Fatalf("a 30 ms delay took %v ms", l.Min)
	}
	for name, v := range map[string]float64{"mean": l.Mean, "p50": l.P50, "p90": l.P90, "p95": l.P95, "p99": l.P99, "p999": l.P999, "max": l.Max} {
		if v != l.Min {
			t.Errorf("%s = %v, want %v like min: one call", name, v, l.Min)
		}
	}
	// The summary's p50 and max columns agree too.
	row := regexp.MustCompile(`(?m)^\s*slow\s+1\s+1\s+0\s+\S+\s+(\S+)\s+\S+\s+\S+\s+(\S+)`).FindStringSubmatch(stdout)
	if row == nil || row[1] != row[2] {
		t.Errorf("summary row p50/max: %q\n%s", row, stdout)
	}
}

// Calls that fail at once (here refused, as out of file descriptors would
// be) have their own latencies; the successful calls' percentiles are of
// the successful calls.
func TestInstantFailuresKeptApart(t *testing.T) {
	startTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	flow := fmt.Sprintf(`
def flow(user):
    for i in range(4):
        http.get("http://" + env.NTX_TARGET_HTTP + "/delay/20", name = "x")
        http.get("http://%s/", name = "x")
`, closed)
	code, stdout, _, res := execResult(t, t.TempDir(), "mixed.star", flow, "--quiet")
	x := res.Actions["x"]
	if code != exitFailed || x == nil || x.Count != 8 || x.OK != 4 || x.Errors["refused"] != 4 {
		t.Fatalf("exit %d, action %+v\n%s", code, x, stdout)
	}
	if x.Latency.Min < 20 || x.Latency.P50 < 20 || x.FailedLatency == nil || x.FailedLatency.Max >= x.Latency.Min {
		t.Errorf("latency %+v, failed latency %+v: the refused calls must not pull the percentiles down", x.Latency, x.FailedLatency)
	}
	if !strings.Contains(stdout, "failed calls of x: p50 ") {
		t.Errorf("summary does not show the failed calls' latency apart:\n%s", stdout)
	}
}

// The series and the final rate are of the time actually covered: the
// last, partial second is not extrapolated.
func TestLastSecondNotExtrapolated(t *testing.T) {
	startTarget(t)
	code, stdout, stderr, res := execResult(t, t.TempDir(), "steady.yaml", `
load:
  user_lifetime: {mode: loop, iterations: 0}
  duration: 1100ms
actions: [{id: a, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/delay/5"}}]
tasks: [{id: s, action: a}]
`)
	if code != exitPassed {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	total := res.Actions["a"].Count
	var sum int64
	prev := 0.0
	for i, p := range res.Series {
		sum += p.Requests
		span := p.T - prev
		if want := float64(p.Requests) / span; math.Abs(p.RPS-want) > 1e-6*want+1e-9 {
			t.Errorf("point %d: rate %v, but %d requests over %.3f s is %v", i, p.RPS, p.Requests, span, want)
		}
		if i == len(res.Series)-1 && i > 0 && span < 0.5 {
			t.Errorf("last point covers %.3f s: a partial interval extrapolated", span)
		}
		prev = p.T
	}
	if sum != total || len(res.Series) == 0 {
		t.Errorf("series counts %d requests in %d points, the run made %d", sum, len(res.Series), total)
	}
	// The histograms are in the JSON, for merging: the action's, and one
	// per point of the series.
	if res.HDR == nil {
		t.Fatal("no hdr in the JSON")
	}
	h, err := hdrhistogram.Decode([]byte(res.HDR.Actions["a"]))
	if err != nil {
		t.Fatalf("hdr of a: %v", err)
	}
	if h.TotalCount() != res.Actions["a"].OK || len(res.HDR.Seconds) != len(res.Series) {
		t.Errorf("hdr: %d values for %d successful calls; %d seconds for %d points", h.TotalCount(), res.Actions["a"].OK, len(res.HDR.Seconds), len(res.Series))
	}
	// The final progress line gives the run's rate.
	m := regexp.MustCompile(`done .* (\d+) req/s  requests (\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no final progress line:\n%s", stderr)
	}
	shown, _ := strconv.ParseFloat(m[1], 64)
	if want := float64(total) / (res.DurationMS / 1000); math.Abs(shown-want) > 0.51 {
		t.Errorf("final progress says %v req/s; the run made %d requests in %.3f s (%.1f/s)", shown, total, res.DurationMS/1000, want)
	}
}

// Dropped arrivals are in the summary, the JSON and the verdict, and
// planned = started + dropped. Open-model latencies include queueing, so
// the closed-model note is not printed.
func TestDroppedArrivalsShown(t *testing.T) {
	startTarget(t)
	code, stdout, _, res := execResult(t, t.TempDir(), "open.yaml", `
load:
  arrival: {rate: 100/s, duration: 500ms, max_users: 1}
actions: [{id: a, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/delay/100"}}]
tasks: [{id: s, action: a}]
`, "--quiet")
	a := res.Arrivals
	if a == nil || a.Dropped == 0 || a.Planned != a.Started+a.Dropped {
		t.Fatalf("arrivals %+v", a)
	}
	line := fmt.Sprintf("arrivals   %d planned, %d started, %d dropped", a.Planned, a.Started, a.Dropped)
	last := fmt.Sprintf("FAILED: %d of %d arrivals dropped", a.Dropped, a.Planned)
	if code != exitFailed || !strings.Contains(stdout, line) || !strings.HasPrefix(lastLine(stdout), last) {
		t.Errorf("exit %d; want %q and a last line starting %q:\n%s", code, line, last, stdout)
	}
	if strings.Contains(stdout, "latencies exclude queueing") {
		t.Errorf("an open-model run says its latencies exclude queueing:\n%s", stdout)
	}
	if len(res.Reasons) != 1 || res.Reasons[0].What != "arrivals_dropped" || res.Reasons[0].Count != a.Dropped {
		t.Errorf("reasons %+v", res.Reasons)
	}
}

func TestClosedModelSaysLatenciesExcludeQueueing(t *testing.T) {
	startTarget(t)
	code, stdout, _ := ntx(t, "exec", "--quiet", writeFile(t, filepath.Join(t.TempDir(), "one.yaml"), oneGet))
	if code != exitPassed || !strings.Contains(stdout, "latencies exclude queueing") || !strings.Contains(stdout, "load.arrival") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
}

// Names with ids in them: past --max-names, calls are counted under
// "(other)", with one warning that says which name overflowed and how to
// group them.
func TestMaxNames(t *testing.T) {
	startTarget(t)
	flow := `
def flow(user):
    for i in range(8):
        http.get("http://" + env.NTX_TARGET_HTTP + "/delay/%d" % i)
`
	code, stdout, _, res := execResult(t, t.TempDir(), "ids.star", flow, "--quiet", "--max-names", "3")
	if code != exitPassed || len(res.Actions) != 4 || res.Actions["(other)"] == nil || res.Actions["(other)"].Count != 5 {
		t.Fatalf("exit %d, %d actions\n%s", code, len(res.Actions), stdout)
	}
	warn := `warning: more than 3 distinct names were measured: from "GET /delay/3" on, 5 calls with new names are counted as "(other)"`
	if strings.Count(stdout, "warning: ") != 1 || !strings.Contains(stdout, warn) || !strings.Contains(stdout, "name=") {
		t.Errorf("want one warning %q:\n%s", warn, stdout)
	}
	if len(res.Warnings) != 1 {
		t.Errorf("JSON warnings %q", res.Warnings)
	}
	if code, _, stderr := ntx(t, "exec", "--max-names", "0", "x.yaml"); code != exitInvalid || !strings.Contains(stderr, "--max-names") {
		t.Errorf("--max-names 0: exit %d\n%s", code, stderr)
	}
}
