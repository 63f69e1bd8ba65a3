package runtime

import (
	"fmt"
	"sync"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/metrics"
)

// abortWatch judges the scenario's abort_on_fail thresholds every second
// (each once its delay has passed) and stops the run when one fails: no
// new iterations, graceful_stop for those in flight (spec §6). A fleet's
// segment leaves this to its coordinator, which judges the fleet's
// numbers (Options.Snapshot is set then).
type abortWatch struct {
	mu     sync.Mutex
	reason string
	done   chan struct{}
	ended  chan struct{}
}

// watchAbort starts the watch; stop is called when a threshold fails.
func (r *run) watchAbort(stop func()) *abortWatch {
	w := &abortWatch{done: make(chan struct{}), ended: make(chan struct{})}
	type rule struct {
		t     metrics.Threshold
		delay time.Duration
	}
	var rules []rule
	for _, t := range r.s.Thresholds {
		if t.AbortOnFail {
			rules = append(rules, rule{t.Parsed, t.Delay})
		}
	}
	if len(rules) == 0 || r.opts.Snapshot != nil {
		close(w.ended)
		return w
	}
	go func() {
		defer close(w.ended)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case now := <-tick.C:
				elapsed := now.Sub(r.origin)
				var ts []metrics.Threshold
				for _, ru := range rules {
					if elapsed >= ru.delay {
						ts = append(ts, ru.t)
					}
				}
				if len(ts) == 0 {
					continue
				}
				res := r.col.Result(r.s.Name)
				for _, t := range r.col.Evaluate(ts, res) {
					if !t.OK && t.Error == "" {
						w.mu.Lock()
						w.reason = fmt.Sprintf("abort_on_fail: threshold %s failed (value %v) %s after the start", t.Expr, t.Value, elapsed.Round(time.Second))
						w.mu.Unlock()
						r.logLine("ntx: stopping: " + w.reason)
						stop()
						return
					}
				}
			}
		}
	}()
	return w
}

// end stops the watch and adds its reason, if it stopped the run, to res.
func (w *abortWatch) end(res *report.Result) {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	<-w.ended
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reason == "" {
		return
	}
	res.Interrupted = true
	res.Passed = false
	res.Reasons = append([]report.Reason{{What: report.ReasonThreshold, Count: 1, Message: w.reason}}, res.Reasons...)
}
