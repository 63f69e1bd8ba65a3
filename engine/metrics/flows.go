package metrics

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// A user mix (spec §4.3) counts each flow's users and iterations, and the
// duration of its passed iterations, under the flow's id. A run with one
// flow has none of it.

// Flow is what one flow of a user mix did. Its counters are the flow's
// own, so users of different flows do not contend, and the users of one
// flow share its lock once per iteration only.
type Flow struct {
	weight                     float64
	users                      atomic.Int64
	iterations, passed, failed atomic.Int64
	mu                         sync.Mutex
	dur                        *dist // passed iterations, from the flow's call to its return
}

// flowSet holds a collector's flows, by id.
type flowSet struct {
	mu    sync.Mutex
	byID  map[string]*Flow
	order []string
}

// Flow returns the flow with the given id, registering it with its
// weight on first use. The runtime registers every flow before users
// start, so that a flow no user drew is reported with zero users.
func (c *Collector) Flow(id string, weight float64) *Flow {
	fs := &c.flows
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.byID[id]; f != nil {
		return f
	}
	if fs.byID == nil {
		fs.byID = map[string]*Flow{}
	}
	f := &Flow{weight: weight, dur: newDist()}
	fs.byID[id] = f
	fs.order = append(fs.order, id)
	return f
}

// UserStarted counts a user that runs the flow.
func (f *Flow) UserStarted() { f.users.Add(1) }

// Iteration counts one iteration of the flow, and the duration of a
// passed one.
func (f *Flow) Iteration(d time.Duration, passed bool) {
	f.iterations.Add(1)
	if !passed {
		f.failed.Add(1)
		return
	}
	f.passed.Add(1)
	f.mu.Lock()
	f.dur.record(d)
	f.mu.Unlock()
}

// flowsResult adds the flows to r and their histograms to hdr.
func (c *Collector) flowsResult(r *report.Result, hdr *report.HDR) {
	fs := &c.flows
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.byID) == 0 {
		return
	}
	r.Flows = map[string]*report.Flow{}
	hdr.Flows = map[string]string{}
	for id, f := range fs.byID {
		rf := &report.Flow{Weight: f.weight, Users: f.users.Load(), Iterations: f.iterations.Load(),
			Passed: f.passed.Load(), Failed: f.failed.Load()}
		f.mu.Lock()
		if f.dur.n > 0 {
			l := f.dur.summary()
			rf.Duration = &l
			hdr.Flows[id] = f.dur.encode()
		}
		f.mu.Unlock()
		r.Flows[id] = rf
	}
}

// absorbFlows adds a part's flows (a fleet segment's) to c.
func (c *Collector) absorbFlows(r *report.Result, hdr *report.HDR) error {
	for id, rf := range r.Flows {
		f := c.Flow(id, rf.Weight)
		f.users.Add(rf.Users)
		f.iterations.Add(rf.Iterations)
		f.passed.Add(rf.Passed)
		f.failed.Add(rf.Failed)
		if rf.Duration != nil {
			if err := f.dur.absorb(hdr.Flows[id], *rf.Duration); err != nil {
				return fmt.Errorf("flow %q: %w", id, err)
			}
		}
	}
	return nil
}

// flowValue is a flow threshold's left-hand side: a count, or a
// statistic of the duration of its passed iterations in milliseconds.
func (c *Collector) flowValue(t Threshold) (float64, error) {
	fs := &c.flows
	fs.mu.Lock()
	f := fs.byID[t.Name]
	var ids []string
	if f == nil {
		ids = append(ids, fs.order...)
	}
	fs.mu.Unlock()
	if f == nil {
		if len(ids) == 0 {
			return 0, fmt.Errorf("the run has no user mix: flows.%s.%s is for a scenario with named workflows", t.Name, t.Stat)
		}
		return 0, fmt.Errorf("no flow is called %q (the flows are %v)", t.Name, ids)
	}
	switch t.Stat {
	case StatFailed:
		return float64(f.failed.Load()), nil
	case StatPassed:
		return float64(f.passed.Load()), nil
	case StatIterations:
		return float64(f.iterations.Load()), nil
	case StatUsers:
		return float64(f.users.Load()), nil
	case StatErrorRate:
		n := f.iterations.Load()
		if n == 0 {
			return 0, nil
		}
		return float64(f.failed.Load()) / float64(n), nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dur.n == 0 {
		return 0, fmt.Errorf("flow %q had no passed iteration to measure a duration of", t.Name)
	}
	switch t.Stat {
	case StatMean:
		return f.dur.mean(), nil
	case StatMin:
		return ms(f.dur.min), nil
	case StatMax:
		return ms(f.dur.max), nil
	}
	return f.dur.quantile(t.Quantile), nil
}
