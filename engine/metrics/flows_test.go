package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// TestFlowsMergeAsOneRun: the flows of a user mix recorded by three
// segments and merged (through their JSON, as a fleet's coordinator gets
// them) count what one process counts, with the same iteration
// percentiles, and flows.ID thresholds read them.
func TestFlowsMergeAsOneRun(t *testing.T) {
	whole := New(Config{})
	parts := []*Collector{New(Config{}), New(Config{}), New(Config{})}
	ids, weights := []string{"browse", "buy"}, []float64{80, 20}
	flows := func(c *Collector) []*Flow {
		return []*Flow{c.Flow(ids[0], weights[0]), c.Flow(ids[1], weights[1])}
	}
	wf := flows(whole)
	pf := [][]*Flow{flows(parts[0]), flows(parts[1]), flows(parts[2])}
	rng := rand.New(rand.NewPCG(3, 4))
	for u := 0; u < 300; u++ {
		f := rng.IntN(2)
		wf[f].UserStarted()
		pf[u%3][f].UserStarted()
		for it := 0; it < 4; it++ {
			d := time.Duration(math.Exp(rng.Float64()*8)) * time.Microsecond * time.Duration(1+f)
			ok := rng.IntN(10) != 0
			wf[f].Iteration(d, ok)
			pf[u%3][f].Iteration(d, ok)
		}
	}
	var results []*report.Result
	for _, p := range parts {
		b, err := json.Marshal(p.Result("mix"))
		if err != nil {
			t.Fatal(err)
		}
		var r report.Result
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		results = append(results, &r)
	}
	var ts []Threshold
	for _, e := range []string{"flows.buy.failed > 0", "flows.browse.users < 1000", "flows.buy.p95 < 1h", "flows.buy.error_rate < 50%", "flows.browse.iterations > 0"} {
		th, err := ParseThreshold(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, th)
	}
	merged, err := Merge(results, ts)
	if err != nil {
		t.Fatal(err)
	}
	one := whole.Result("mix")
	for _, id := range ids {
		m, w := merged.Flows[id], one.Flows[id]
		if m == nil || m.Users != w.Users || m.Iterations != w.Iterations || m.Passed != w.Passed || m.Failed != w.Failed || m.Weight != w.Weight {
			t.Fatalf("flow %s: merged %+v, one process %+v", id, m, w)
		}
		if *m.Duration != *w.Duration {
			t.Errorf("flow %s: merged iteration_ms %+v, one process %+v", id, *m.Duration, *w.Duration)
		}
	}
	for _, th := range merged.Thresholds {
		if !th.OK || th.Error != "" {
			t.Errorf("threshold %s: %+v", th.Expr, th)
		}
	}
	if got := whole.Evaluate(ts[:1], one)[0].Value; got != float64(one.Flows["buy"].Failed) {
		t.Errorf("flows.buy.failed = %v, want %d", got, one.Flows["buy"].Failed)
	}
	// Unknown flows and a run without a mix are said so.
	th, _ := ParseThreshold("flows.sell.failed == 0", nil)
	if r := whole.Evaluate([]Threshold{th}, one)[0]; r.Error == "" || r.OK {
		t.Errorf("flows.sell on a mix of browse and buy: %+v", r)
	}
	if r := New(Config{}).Evaluate([]Threshold{th}, one)[0]; r.Error == "" {
		t.Errorf("flows.sell without a mix: %+v", r)
	}
	if _, err := ParseThreshold("flows.buy.p95 < 1%", nil); err == nil {
		t.Error("a flow's duration compared with a percentage was taken")
	}
	if _, err := ParseThreshold("flows.buy.rate > 1", nil); err == nil {
		t.Error("flows.buy.rate was taken")
	}
}
