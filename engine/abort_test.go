package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine"
)

// TestAbortOnFailStopsTheRun: a threshold with abort_on_fail that fails
// stops a 60 s run within seconds, and the run fails saying why.
func TestAbortOnFailStopsTheRun(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "a.yaml", `
name: abort
load:
  arrival: {rate: 50/s, duration: 60s}
actions:
  - {id: miss, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/status/500"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: miss, next: [{task: end}]}
  - {id: end}
thresholds:
  - {expr: "miss.error_rate < 10%", abort_on_fail: true, delay: 1s}
  - "miss.count > 0"
`)
	begin := time.Now()
	res, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
	if err != nil {
		t.Fatal(err)
	}
	// Generous, for a busy machine: the threshold fails at its first
	// judgement, 1-2 s in; the run then gives in-flight calls their grace.
	if d := time.Since(begin); d > 30*time.Second {
		t.Errorf("the run took %s; abort_on_fail should have stopped it in seconds", d)
	}
	if res.Passed || !res.Interrupted || len(res.Reasons) == 0 || !strings.Contains(res.Reasons[0].Message, "abort_on_fail: threshold miss.error_rate < 10% failed") {
		t.Errorf("passed %v, interrupted %v, reasons %+v", res.Passed, res.Interrupted, res.Reasons)
	}
}
