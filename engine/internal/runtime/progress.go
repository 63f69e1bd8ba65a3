package runtime

import (
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// Progress is a snapshot of a running scenario, for live display.
type Progress struct {
	Elapsed    time.Duration
	Remaining  time.Duration // 0 when the run has no set end
	Active     int64         // users running now
	Iterations int64         // iterations finished
	Requests   int64         // calls made
	Errors     int64         // calls failed
	RPS        float64       // calls per second over the last interval
	Final      bool          // the run is over
}

// progressInterval is how often the time series gets a point.
const progressInterval = time.Second

// startProgress ticks the collector's time series every second and
// reports progress. The returned function stops it and records the last,
// partial interval.
func (r *run) startProgress() (stop func()) {
	start := time.Now()
	stopped := make(chan struct{})
	finished := make(chan struct{})
	report := func(now time.Time, final bool) {
		p := r.col.Tick(now, final)
		if r.opts.Snapshot != nil && !final {
			res := r.col.Result(r.s.Name)
			if !r.opts.Segment.Whole() {
				res.Segment = r.opts.Segment.String()
			}
			if r.arrival != nil {
				// Planned = started + dropped, as in the final result.
				started, dropped := r.liveStarted.Load(), r.liveDropped.Load()
				res.Arrivals = &report.Arrivals{Planned: started + dropped, Started: started, Dropped: dropped}
			}
			r.opts.Snapshot(res)
		}
		if r.opts.Progress == nil {
			return
		}
		req, errs := r.col.Totals()
		pr := Progress{Elapsed: now.Sub(start), Active: r.live.Load(), Iterations: r.col.Iterations(),
			Requests: req, Errors: errs, RPS: p.RPS, Final: final}
		if final {
			// The run's rate, not its last interval's.
			pr.RPS = r.col.Rate(now)
		}
		if !r.deadline.IsZero() && !final {
			pr.Remaining = max(time.Until(r.deadline), 0)
		}
		r.opts.Progress(pr)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				report(now, false)
			case <-stopped:
				report(time.Now(), true)
				return
			}
		}
	}()
	return func() {
		close(stopped)
		<-finished
	}
}
