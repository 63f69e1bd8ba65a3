package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// Merge combines the results of the segments of one run (spec §9) into
// the result of the whole: counters are added, latency distributions are
// merged as histograms (from each part's "hdr" section) and every
// percentile is computed from the merged histogram, never averaged.
// Minimum and maximum are the extremes of the parts', the mean comes
// from the parts' means weighted by their counts. Thresholds are judged
// on the merged numbers, and the verdict (spec §6.1) is set.
//
// The parts' time series are added point by point: segments that start
// together (a fleet's coordinator gives one start time) have their
// seconds aligned.
func Merge(parts []*report.Result, ts []Threshold) (*report.Result, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no results to merge")
	}
	c := New(Config{MaxNames: math.MaxInt})
	for i, p := range parts {
		if p == nil {
			return nil, fmt.Errorf("result %d is empty", i+1)
		}
		if err := c.absorb(p); err != nil {
			return nil, fmt.Errorf("result %d (%s): %w", i+1, p.Scenario, err)
		}
	}
	res := c.Result(parts[0].Scenario)
	start, end := parts[0].StartedAt, time.Time{}
	var warnings []string
	for _, p := range parts {
		if p.StartedAt.Before(start) {
			start = p.StartedAt
		}
		if e := p.StartedAt.Add(time.Duration(p.DurationMS * float64(time.Millisecond))); e.After(end) {
			end = e
		}
		res.Interrupted = res.Interrupted || p.Interrupted
		for _, w := range p.Warnings {
			if !slices.Contains(warnings, w) {
				warnings = append(warnings, w)
			}
		}
		if p.Arrivals != nil {
			if res.Arrivals == nil {
				res.Arrivals = &report.Arrivals{}
			}
			res.Arrivals.Planned += p.Arrivals.Planned
			res.Arrivals.Started += p.Arrivals.Started
			res.Arrivals.Dropped += p.Arrivals.Dropped
		}
		for id, pl := range p.Pools {
			m := res.Pools[id]
			if m == nil {
				m = &report.Pool{}
				res.Pools[id] = m
			}
			// Segments hold disjoint slices of a pool: sizes add up, and
			// the sum of their peaks bounds the fleet's peak from above.
			m.Size += pl.Size
			m.PeakAllocated += pl.PeakAllocated
			m.Waits += pl.Waits
			m.Exhausted += pl.Exhausted
		}
	}
	res.StartedAt = start.UTC()
	res.DurationMS = math.Round(float64(end.Sub(start).Microseconds())) / 1000
	res.Warnings = warnings
	series, seconds, err := mergeSeries(parts, res.HDR)
	if errors.Is(err, errNoSecondHistograms) {
		warnings = append(warnings, err.Error())
		res.Warnings = warnings
	} else if err != nil {
		return nil, err
	}
	res.Series, res.HDR.Seconds = series, seconds
	res.Thresholds = c.Evaluate(ts, res)
	res.Judge()
	return res, nil
}

// absorb adds one part's counters and histograms to c.
func (c *Collector) absorb(r *report.Result) error {
	hdr := r.HDR
	if hdr == nil {
		hdr = &report.HDR{}
	}
	if len(r.Actions) > 0 && r.HDR == nil {
		return fmt.Errorf(`it has no "hdr" section, so its latencies cannot be merged (results of ntx before histograms were written cannot be merged)`)
	}
	if hdr.Unit != "" && hdr.Unit != "us" {
		return fmt.Errorf("its histograms are in %q, not microseconds", hdr.Unit)
	}
	var httpN, httpOK int64
	for name, ra := range r.Actions {
		a := c.action(name, ra.Kind)
		a.count += ra.Count
		a.ok += ra.OK
		for k, n := range ra.Errors {
			a.errors[Kind(k)] += n
		}
		for code, n := range ra.StatusCodes {
			var sc int
			if _, err := fmt.Sscan(code, &sc); err != nil {
				return fmt.Errorf("action %q: status code %q", name, code)
			}
			a.status[sc] += n
		}
		a.sent += ra.BytesSent
		a.got += ra.BytesReceived
		if err := a.lat.absorb(hdr.Actions[name], ra.Latency); err != nil {
			return fmt.Errorf("action %q: %w", name, err)
		}
		if ra.FailedLatency != nil {
			if err := a.failedLat.absorb(hdr.Failed[name], *ra.FailedLatency); err != nil {
				return fmt.Errorf("action %q, failed calls: %w", name, err)
			}
		}
		for phase, l := range ra.Timings {
			p := phaseNamed(phase)
			if p < 0 {
				return fmt.Errorf("action %q: unknown timing phase %q", name, phase)
			}
			if a.phases[p] == nil {
				a.phases[p] = newDist()
			}
			if err := a.phases[p].absorb(hdr.Timings[name][phase], l); err != nil {
				return fmt.Errorf("action %q, %s: %w", name, phase, err)
			}
		}
		if ra.Kind == "custom" {
			continue
		}
		// As Record counts them: calls never made or cut off have no
		// latency and are not HTTP calls of the distribution.
		unmeasured := ra.Errors[string(KindNoAddress)] + ra.Errors[string(KindCancelled)]
		c.requests.Add(ra.Count)
		c.errors.Add(ra.Count - ra.OK)
		if ra.Kind == "http" {
			httpN += ra.Count - unmeasured
			httpOK += ra.OK
		}
	}
	c.httpN += httpN
	c.httpOK += httpOK
	if r.HTTP != nil {
		if err := c.http.absorb(hdr.HTTP, *r.HTTP); err != nil {
			return fmt.Errorf("http: %w", err)
		}
	}
	if r.StartLag != nil {
		if err := c.lag.absorb(hdr.Lag, *r.StartLag); err != nil {
			return fmt.Errorf("start lag: %w", err)
		}
	}
	for key, s := range r.SourceIPs {
		var addr netip.Addr
		if key != "unbound" {
			a, err := netip.ParseAddr(key)
			if err != nil {
				return fmt.Errorf("source address %q: %v", key, err)
			}
			addr = a
		}
		src := c.source(addr)
		src.requests.Add(s.Requests)
		src.errors.Add(s.Errors)
	}
	for name, ch := range r.Checks {
		m := c.checks[name]
		if m == nil {
			m = &report.Check{}
			c.checks[name] = m
		}
		m.Passed += ch.Passed
		m.Failed += ch.Failed
	}
	for reason, n := range r.Iterations.Failures {
		c.failures[reason] += n
	}
	for k, msg := range r.Errors {
		if _, ok := c.samples[k]; !ok {
			c.samples[k] = msg
		}
	}
	c.iterations.Add(r.Iterations.Total)
	c.passed.Add(r.Iterations.Passed)
	c.failed.Add(r.Iterations.Failed)
	c.spawned.Add(r.Users.Spawned)
	c.completed.Add(r.Users.Completed)
	// Segments run side by side: the sum of their peaks is the fleet's
	// peak when they peak together, and bounds it from above otherwise.
	c.peak.Add(r.Users.PeakConcurrent)
	for reason, n := range r.Users.StartFailures {
		c.startFailures[reason] += n
	}
	return c.absorbFlows(r, hdr)
}

// absorb adds a part's distribution: its histogram (encoded) for the
// percentiles, and its summary for the exact count's extremes and mean.
func (d *dist) absorb(enc string, l report.Latency) error {
	if enc == "" {
		return nil // no value recorded
	}
	h, err := decodeHistogram(enc)
	if err != nil {
		return err
	}
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	p := newPacked()
	p.MergeFrom(h)
	o := &dist{h: p, n: n,
		min: fromMS(l.Min), max: fromMS(l.Max),
		sum: l.Mean * 1e6 * float64(n)}
	d.merge(o)
	return nil
}

// decodeHistogram reads a histogram in HdrHistogram's compressed base64
// form.
func decodeHistogram(enc string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(enc))
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	return h, nil
}

// fromMS is milliseconds as a duration, to the nanosecond.
func fromMS(v float64) time.Duration { return time.Duration(math.Round(v * 1e6)) }

// mergeSeries adds the parts' time series point by point, with each
// point's percentiles from the merged histograms of that second: the
// run's, each action's (the first SeriesNames names, the busiest of the
// parts') and the start lags'. The merged histograms go into hdr, so
// that a merged result merges again.
func mergeSeries(parts []*report.Result, hdr *report.HDR) ([]report.Point, []string, error) {
	n := 0
	for _, p := range parts {
		n = max(n, len(p.Series))
	}
	if n == 0 {
		return nil, nil, nil
	}
	names := seriesNames(parts)
	series := make([]report.Point, n)
	seconds := make([]string, n)
	var lagSecs []string
	actSecs := map[string][]string{}
	h := newHistogram()
	sh := newSecondHistogram()
	// merge adds the part's encoded histogram of the second to into; it
	// says false when the part has calls in that second but no histogram
	// of them (a result of an older ntx).
	merge := func(into *hdrhistogram.Histogram, encs []string, i int, what string) (bool, error) {
		if i >= len(encs) {
			return false, nil
		}
		if encs[i] == "" {
			return true, nil
		}
		s, err := decodeHistogram(encs[i])
		if err != nil {
			return false, fmt.Errorf("second %d, %s: %w", i+1, what, err)
		}
		into.Merge(s)
		return true, nil
	}
	var missing []string
	for i := range series {
		pt := &series[i]
		h.Reset()
		sh.Reset()
		lagExact := true
		for _, p := range parts {
			if i >= len(p.Series) {
				continue
			}
			q := p.Series[i]
			pt.T = max(pt.T, q.T)
			pt.Requests += q.Requests
			pt.Errors += q.Errors
			pt.RPS += q.RPS
			pt.Active += q.Active
			pt.Arrivals += q.Arrivals
			pt.LagMax = max(pt.LagMax, q.LagMax)
			hdr := p.HDR
			if hdr == nil {
				hdr = &report.HDR{}
			}
			if _, err := merge(h, hdr.Seconds, i, "all calls"); err != nil {
				return nil, nil, err
			}
			if q.Arrivals > 0 {
				ok, err := merge(sh, hdr.LagSeconds, i, "start lags")
				if err != nil {
					return nil, nil, err
				}
				lagExact = lagExact && ok
			}
		}
		// Iterations are cumulative: a part that ended earlier still
		// counts what it finished.
		for _, p := range parts {
			if len(p.Series) > 0 {
				pt.Iterations += p.Series[min(i, len(p.Series)-1)].Iterations
			}
		}
		pt.RPS = round3(pt.RPS)
		if h.TotalCount() > 0 {
			pt.P50 = round3(float64(h.ValueAtQuantile(50)) / 1000)
			pt.P95 = round3(float64(h.ValueAtQuantile(95)) / 1000)
			pt.P99 = round3(float64(h.ValueAtQuantile(99)) / 1000)
			seconds[i] = encodeHistogram(h)
		}
		if !lagExact {
			missing = append(missing, "start lags")
		} else if sh.TotalCount() > 0 {
			pt.LagP99 = round3(float64(sh.ValueAtQuantile(99)) / 1000)
			if lagSecs == nil {
				lagSecs = make([]string, n)
			}
			lagSecs[i] = encodeHistogram(sh)
		}
		for _, name := range names {
			var ap report.ActionPoint
			sh.Reset()
			exact := true
			for _, p := range parts {
				if i >= len(p.Series) {
					continue
				}
				q, ok := p.Series[i].Actions[name]
				if !ok {
					continue
				}
				ap.Requests += q.Requests
				ap.Errors += q.Errors
				if q.Requests == q.Errors {
					continue
				}
				var encs []string
				if p.HDR != nil {
					encs = p.HDR.ActionSeconds[name]
				}
				ok, err := merge(sh, encs, i, "action "+strconv.Quote(name))
				if err != nil {
					return nil, nil, err
				}
				exact = exact && ok
			}
			if ap.Requests == 0 {
				continue
			}
			if !exact {
				// Percentiles cannot be added: without every part's
				// histogram the point has its counts alone.
				missing = append(missing, "action "+strconv.Quote(name))
			} else if sh.TotalCount() > 0 {
				ap.P50 = round3(float64(sh.ValueAtQuantile(50)) / 1000)
				ap.P95 = round3(float64(sh.ValueAtQuantile(95)) / 1000)
				ap.P99 = round3(float64(sh.ValueAtQuantile(99)) / 1000)
				if actSecs[name] == nil {
					actSecs[name] = make([]string, n)
				}
				actSecs[name][i] = encodeHistogram(sh)
			}
			if pt.Actions == nil {
				pt.Actions = map[string]report.ActionPoint{}
			}
			pt.Actions[name] = ap
		}
	}
	if len(actSecs) > 0 {
		hdr.ActionSeconds = actSecs
	}
	hdr.LagSeconds = lagSecs
	if len(missing) > 0 {
		slices.Sort(missing)
		missing = slices.Compact(missing)
		return series, seconds, fmt.Errorf("%w: %s", errNoSecondHistograms, strings.Join(missing, ", "))
	}
	return series, seconds, nil
}

// errNoSecondHistograms says that some part's series has no per-second
// histograms (it was written by an ntx without them): the merge's series
// then has the counts of those points but not their percentiles.
var errNoSecondHistograms = errors.New("some parts have no per-second histograms, so these series have counts but no percentiles")

// seriesNames are the action names whose series a merge carries: those
// in the parts' series, the busiest first, at most SeriesNames of them
// (each part has at most that many, but not necessarily the same ones).
func seriesNames(parts []*report.Result) []string {
	calls := map[string]int64{}
	for _, p := range parts {
		for _, q := range p.Series {
			for name, ap := range q.Actions {
				calls[name] += ap.Requests
			}
		}
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(calls[b], calls[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return names[:min(len(names), report.SeriesNames)]
}
