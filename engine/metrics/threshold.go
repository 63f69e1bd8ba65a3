package metrics

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine/report"
)

// Thresholds evaluates each threshold (spec §6) against what was
// recorded. Latencies are compared in milliseconds, error rates as
// fractions ("1%" is 0.01).
func (c *Collector) Thresholds(exprs []string) []report.Threshold {
	out := make([]report.Threshold, 0, len(exprs))
	for _, t := range exprs {
		out = append(out, c.threshold(t))
	}
	return out
}

func (c *Collector) threshold(expr string) report.Threshold {
	res := report.Threshold{Expr: expr}
	m := ThresholdPattern.FindStringSubmatch(expr)
	if m == nil {
		res.Error = "not of the form METRIC OP VALUE"
		return res
	}
	metric, op, limitText := m[1], m[2], m[3]
	limit, err := ParseLimit(limitText)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	v, err := c.metric(metric)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Value = math.Round(v*1000) / 1000
	switch op {
	case "<":
		res.OK = v < limit
	case "<=":
		res.OK = v <= limit
	case ">":
		res.OK = v > limit
	case ">=":
		res.OK = v >= limit
	case "==":
		res.OK = v == limit
	case "!=":
		res.OK = v != limit
	}
	return res
}

// metric reads NAME.STAT: iterations.{failed,passed,total},
// checks.{failed,passed}, http.STAT over all HTTP calls, or ACTION.STAT.
func (c *Collector) metric(metric string) (float64, error) {
	dot := strings.LastIndex(metric, ".")
	if dot < 0 {
		return 0, fmt.Errorf("%q names no statistic (write ACTION.p95, http.p99, iterations.failed...)", metric)
	}
	name, stat := metric[:dot], metric[dot+1:]
	switch name {
	case "iterations":
		switch stat {
		case "failed":
			return float64(c.failed.Load()), nil
		case "passed":
			return float64(c.passed.Load()), nil
		case "total":
			return float64(c.iterations.Load()), nil
		}
		return 0, fmt.Errorf("iterations has failed, passed and total, not %q", stat)
	case "checks":
		c.mu.RLock()
		defer c.mu.RUnlock()
		var n int64
		for _, ch := range c.checks {
			if stat == "failed" {
				n += ch.Failed
			} else if stat == "passed" {
				n += ch.Passed
			} else {
				return 0, fmt.Errorf("checks has failed and passed, not %q", stat)
			}
		}
		return float64(n), nil
	case "http":
		var count, ok int64
		c.mu.RLock()
		for _, a := range c.actions {
			a.mu.Lock()
			if a.kind == "http" {
				count += a.count
				ok += a.ok
			}
			a.mu.Unlock()
		}
		c.mu.RUnlock()
		c.globalMu.Lock()
		defer c.globalMu.Unlock()
		return stat2(c.httpHist, count, ok, stat)
	}
	c.mu.RLock()
	a := c.actions[name]
	c.mu.RUnlock()
	if a == nil {
		return 0, fmt.Errorf("no call named %q was made", name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch stat {
	case "min":
		return a.latency().Min, nil
	case "max":
		return a.latency().Max, nil
	}
	return stat2(a.hist, a.count, a.ok, stat)
}

// stat2 computes a statistic from a histogram (microseconds) and counts.
func stat2(h *hdrhistogram.Histogram, count, ok int64, stat string) (float64, error) {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	switch stat {
	case "count":
		return float64(count), nil
	case "error_rate":
		if count == 0 {
			return 0, nil
		}
		return float64(count-ok) / float64(count), nil
	case "mean":
		return h.Mean() / 1000, nil
	case "min":
		return ms(h.Min()), nil
	case "max":
		return ms(h.Max()), nil
	}
	if q, ok := percentile(stat); ok {
		return ms(h.ValueAtQuantile(q)), nil
	}
	return 0, fmt.Errorf("unknown statistic %q (use pNN, mean, min, max, count or error_rate)", stat)
}

// percentile reads "p95" as 95, "p100" as 100, "p999" as 99.9 and
// "p9999" as 99.99.
func percentile(stat string) (float64, bool) {
	digits, ok := strings.CutPrefix(stat, "p")
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return 0, false
	}
	q := float64(n)
	if len(digits) > 2 && strings.HasPrefix(digits, "99") {
		q /= math.Pow(10, float64(len(digits)-2)) // p999 is 99.9, p9999 99.99
	}
	if q > 100 {
		return 0, false
	}
	return q, true
}

// ThresholdPattern is the form of a threshold: METRIC OP VALUE.
var ThresholdPattern = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$`)

// ParseLimit reads a threshold's right-hand side: a number, a duration
// (in milliseconds) or a percentage (as a fraction).
func ParseLimit(s string) (float64, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a percentage", s)
		}
		return f / 100, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number, a duration (200ms) or a percentage (1%%)", s)
	}
	return float64(d) / float64(time.Millisecond), nil
}
