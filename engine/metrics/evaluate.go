package metrics

import (
	"fmt"
	"math"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// Evaluate judges each threshold against what was recorded. res is the
// result the collector built, completed by the runtime (arrivals,
// duration): counts come from it, distributions from the collector.
func (c *Collector) Evaluate(ts []Threshold, res *report.Result) []report.Threshold {
	out := make([]report.Threshold, 0, len(ts))
	for _, t := range ts {
		rt := report.Threshold{Expr: t.Expr, Unit: t.ValueUnit()}
		v, err := c.value(t, res)
		if err != nil {
			rt.Error = err.Error()
		} else {
			rt.Value = math.Round(v*1000) / 1000
			rt.OK = t.Op.Holds(v, t.Limit)
		}
		out = append(out, rt)
	}
	return out
}

// value is the threshold's left-hand side: milliseconds for a latency, a
// fraction for an error rate, calls per second for a rate.
func (c *Collector) value(t Threshold, res *report.Result) (float64, error) {
	c.flush()
	secs := res.DurationMS / 1000
	switch t.Subject {
	case SubjectIterations:
		switch t.Stat {
		case StatFailed:
			return float64(res.Iterations.Failed), nil
		case StatPassed:
			return float64(res.Iterations.Passed), nil
		}
		return float64(res.Iterations.Total), nil
	case SubjectChecks:
		var n int64
		for _, ch := range res.Checks {
			if t.Stat == StatFailed {
				n += ch.Failed
			} else {
				n += ch.Passed
			}
		}
		return float64(n), nil
	case SubjectArrivals:
		a := res.Arrivals
		if a == nil {
			return 0, fmt.Errorf("the run had no arrivals: arrivals.%s is for the open model (load.arrival or --rate)", t.Stat)
		}
		switch t.Stat {
		case StatDropped:
			return float64(a.Dropped), nil
		case StatStarted:
			return float64(a.Started), nil
		}
		return float64(a.Planned), nil
	case SubjectFlow:
		return c.flowValue(t)
	case SubjectHTTP:
		c.globalMu.Lock()
		defer c.globalMu.Unlock()
		return stat(t, c.http, c.httpN, c.httpOK, secs)
	}
	c.mu.RLock()
	a := c.actions[t.Name]
	if whole := c.actions[t.Name+"."+t.Phase]; t.Phase != "" && whole != nil {
		// A call measured under a dotted name of its own (a WebSocket's
		// NAME.connect), not an HTTP call's timing phase.
		a, t.Phase = whole, ""
	}
	c.mu.RUnlock()
	if a == nil {
		return 0, fmt.Errorf("no call named %q was made", t.Name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.Phase != "" {
		d := a.phases[phaseNamed(t.Phase)]
		if d == nil {
			return 0, fmt.Errorf("%q has no %s timings (only successful HTTP calls are timed by phase)", t.Name, t.Phase)
		}
		return stat(t, d, a.count, a.ok, secs)
	}
	return stat(t, a.lat, a.count, a.ok, secs)
}

// stat computes a statistic from a distribution of successful calls and
// the counts of all calls.
func stat(t Threshold, d *dist, count, ok int64, secs float64) (float64, error) {
	switch t.Stat {
	case StatCount:
		return float64(count), nil
	case StatErrorRate:
		if count == 0 {
			return 0, nil
		}
		return float64(count-ok) / float64(count), nil
	case StatRate:
		if secs <= 0 {
			return 0, nil
		}
		return float64(count) / secs, nil
	}
	if d.n == 0 {
		return 0, fmt.Errorf("no successful call to measure a latency of")
	}
	switch t.Stat {
	case StatMean:
		return d.mean(), nil
	case StatMin:
		return ms(d.min), nil
	case StatMax:
		return ms(d.max), nil
	}
	return d.quantile(t.Quantile), nil
}
