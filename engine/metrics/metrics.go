// Package metrics aggregates what a run's users did: one latency
// histogram (HDR, microsecond resolution) and a set of counters per
// action, counters per source address, iteration outcomes and checks.
//
// A Collector is shared by every user and safe for concurrent use. Each
// action has its own lock, so users of different actions do not contend.
package metrics

import (
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine/report"
)

// Histogram bounds: 1 µs to 1 hour at 3 significant figures.
const (
	histMin  = 1
	histMax  = int64(time.Hour / time.Microsecond)
	histSigs = 3
)

// NewHistogram returns a latency histogram in microseconds.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigs) }

// Collector aggregates Samples. The zero value is not usable; call New.
type Collector struct {
	start time.Time

	mu       sync.RWMutex
	actions  map[string]*action
	sources  map[netip.Addr]*source
	checks   map[string]*report.Check
	failures map[string]int64
	samples  map[string]string // the first message of each error kind

	// globalMu guards the run-wide histograms: every HTTP call, and every
	// call of the current second (for the time series).
	globalMu  sync.Mutex
	httpHist  *hdrhistogram.Histogram
	interval  *hdrhistogram.Histogram
	intervalN int64
	intervalE int64
	lastTick  time.Time
	series    []report.Point

	requests, errors atomic.Int64

	iterations, passed, failed atomic.Int64
	spawned, completed         atomic.Int64
	active, peak               atomic.Int64
	startMu                    sync.Mutex
	startFailures              map[string]int64
}

type action struct {
	mu        sync.Mutex
	kind      string
	count     int64
	ok        int64
	errors    map[Kind]int64
	status    map[int]int64
	sent, got int64
	hist      *hdrhistogram.Histogram
	// The histogram reports min and max at its precision (3 significant
	// figures); the exact extremes are kept beside it.
	minUS, maxUS int64
}

// latency summarises the action's histogram with its exact extremes.
func (a *action) latency() report.Latency {
	l := Summarize(a.hist)
	if a.hist.TotalCount() > 0 {
		l.Min, l.Max = float64(a.minUS)/1000, float64(a.maxUS)/1000
	}
	return l
}

type source struct {
	requests, errors atomic.Int64
}

// New returns an empty collector whose clock starts now.
func New() *Collector {
	now := time.Now()
	return &Collector{
		start:         now,
		lastTick:      now,
		actions:       map[string]*action{},
		sources:       map[netip.Addr]*source{},
		checks:        map[string]*report.Check{},
		failures:      map[string]int64{},
		samples:       map[string]string{},
		httpHist:      NewHistogram(),
		interval:      NewHistogram(),
		startFailures: map[string]int64{},
	}
}

var _ Sink = (*Collector)(nil)

// Record implements Sink.
func (c *Collector) Record(s *Sample) {
	a := c.action(s.Name, s.Kind)
	us := max(s.Latency.Microseconds(), histMin)
	a.mu.Lock()
	a.count++
	if s.OK {
		a.ok++
	} else {
		a.errors[s.ErrKind]++
	}
	if s.Status != 0 {
		a.status[s.Status]++
	}
	a.sent += s.BytesSent
	a.got += s.BytesRecv
	measured := s.ErrKind.Measured()
	if measured {
		v := min(us, histMax)
		_ = a.hist.RecordValue(v)
		if a.hist.TotalCount() == 1 || v < a.minUS {
			a.minUS = v
		}
		a.maxUS = max(a.maxUS, v)
	}
	a.mu.Unlock()
	if s.Kind != "custom" {
		c.requests.Add(1)
		if !s.OK {
			c.errors.Add(1)
		}
		if measured {
			c.globalMu.Lock()
			if s.Kind == "http" {
				_ = c.httpHist.RecordValue(min(us, histMax))
			}
			_ = c.interval.RecordValue(min(us, histMax))
			c.intervalN++
			if !s.OK {
				c.intervalE++
			}
			c.globalMu.Unlock()
		}
	}
	if s.Kind != "custom" && s.ErrKind != KindNoAddress {
		src := c.source(s.Source)
		src.requests.Add(1)
		if !s.OK {
			src.errors.Add(1)
		}
	}
	if !s.OK && s.Err != "" {
		c.sample(s.Name+" "+string(s.ErrKind), s.Err)
	}
}

func (c *Collector) sample(key, msg string) {
	c.mu.RLock()
	_, seen := c.samples[key]
	c.mu.RUnlock()
	if seen {
		return
	}
	c.mu.Lock()
	if _, seen := c.samples[key]; !seen && len(c.samples) < 50 {
		c.samples[key] = msg
	}
	c.mu.Unlock()
}

func (c *Collector) action(name, kind string) *action {
	c.mu.RLock()
	a := c.actions[name]
	c.mu.RUnlock()
	if a != nil {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a = c.actions[name]; a == nil {
		a = &action{kind: kind, errors: map[Kind]int64{}, status: map[int]int64{}, hist: NewHistogram()}
		c.actions[name] = a
	}
	return a
}

// source returns the counters of addr; the zero address stands for
// "unbound" (the kernel chose).
func (c *Collector) source(addr netip.Addr) *source {
	c.mu.RLock()
	s := c.sources[addr]
	c.mu.RUnlock()
	if s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s = c.sources[addr]; s == nil {
		s = &source{}
		c.sources[addr] = s
	}
	return s
}

// Check implements Sink.
func (c *Collector) Check(name string, ok bool) {
	c.mu.Lock()
	ch := c.checks[name]
	if ch == nil {
		ch = &report.Check{}
		c.checks[name] = ch
	}
	if ok {
		ch.Passed++
	} else {
		ch.Failed++
	}
	c.mu.Unlock()
}

// Iteration records the end of one iteration. reason is empty when it
// passed; msg, if any, is kept as the first example of that reason.
func (c *Collector) Iteration(reason, msg string) {
	c.iterations.Add(1)
	if reason == "" {
		c.passed.Add(1)
		return
	}
	c.failed.Add(1)
	c.mu.Lock()
	c.failures[reason]++
	c.mu.Unlock()
	if msg != "" {
		c.sample("iteration "+reason, msg)
	}
}

// UserStarted records a user that started; UserDone must follow.
func (c *Collector) UserStarted() {
	c.spawned.Add(1)
	n := c.active.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// UserDone records a user that finished.
func (c *Collector) UserDone() {
	c.active.Add(-1)
	c.completed.Add(1)
}

// UserFailedToStart records a user that never ran, with the reason.
func (c *Collector) UserFailedToStart(reason, msg string) {
	c.startMu.Lock()
	c.startFailures[reason]++
	c.startMu.Unlock()
	if msg != "" {
		c.sample("start "+reason, msg)
	}
}

// Result builds the report of everything recorded so far.
func (c *Collector) Result(name string) *report.Result {
	r := &report.Result{
		Scenario:   name,
		StartedAt:  c.start.UTC(),
		DurationMS: float64(time.Since(c.start).Microseconds()) / 1000,
		Actions:    map[string]*report.Action{},
		SourceIPs:  map[string]*report.SourceIP{},
		Pools:      map[string]*report.Pool{},
		Thresholds: []report.Threshold{},
	}
	c.startMu.Lock()
	var failedToStart int64
	for _, n := range c.startFailures {
		failedToStart += n
	}
	if len(c.startFailures) > 0 {
		r.Users.StartFailures = copyMap(c.startFailures)
	}
	c.startMu.Unlock()
	r.Users.Spawned = c.spawned.Load()
	r.Users.Completed = c.completed.Load()
	r.Users.FailedToStart = failedToStart
	r.Users.PeakConcurrent = c.peak.Load()
	r.Iterations = report.Iterations{Total: c.iterations.Load(), Passed: c.passed.Load(), Failed: c.failed.Load()}

	c.mu.RLock()
	r.Iterations.Failures = copyMap(c.failures)
	for name, a := range c.actions {
		a.mu.Lock()
		ra := &report.Action{Kind: a.kind, Count: a.count, OK: a.ok, Failed: a.count - a.ok,
			Errors: kindCounts(a.errors), BytesSent: a.sent, BytesReceived: a.got, Latency: a.latency()}
		if len(a.status) > 0 {
			ra.StatusCodes = map[string]int64{}
			for code, n := range a.status {
				ra.StatusCodes[strconv.Itoa(code)] = n
			}
		}
		a.mu.Unlock()
		r.Actions[name] = ra
	}
	for addr, s := range c.sources {
		key := "unbound"
		if addr.IsValid() {
			key = addr.String()
		}
		r.SourceIPs[key] = &report.SourceIP{Requests: s.requests.Load(), Errors: s.errors.Load()}
	}
	if len(c.checks) > 0 {
		r.Checks = map[string]*report.Check{}
		for k, v := range c.checks {
			cp := *v
			r.Checks[k] = &cp
		}
	}
	if len(c.samples) > 0 {
		r.Errors = map[string]string{}
		for k, v := range c.samples {
			r.Errors[k] = v
		}
	}
	c.mu.RUnlock()
	c.globalMu.Lock()
	if c.httpHist.TotalCount() > 0 {
		l := Summarize(c.httpHist)
		r.HTTP = &l
	}
	r.Series = append([]report.Point(nil), c.series...)
	c.globalMu.Unlock()
	return r
}

// Tick closes the current interval of the time series: the calls made
// since the last tick, their rate and latency percentiles, and the users
// active now. It is called about once a second, and once at the end.
func (c *Collector) Tick(now time.Time) report.Point {
	c.globalMu.Lock()
	defer c.globalMu.Unlock()
	secs := now.Sub(c.lastTick).Seconds()
	p := report.Point{
		T:          now.Sub(c.start).Seconds(),
		Requests:   c.intervalN,
		Errors:     c.intervalE,
		Active:     c.active.Load(),
		Iterations: c.iterations.Load(),
	}
	if secs > 0 {
		p.RPS = float64(c.intervalN) / secs
	}
	if c.interval.TotalCount() > 0 {
		l := Summarize(c.interval)
		p.P50, p.P95, p.P99 = l.P50, l.P95, l.P99
	}
	c.interval.Reset()
	c.intervalN, c.intervalE = 0, 0
	c.lastTick = now
	c.series = append(c.series, p)
	return p
}

// Totals returns the calls and failed calls so far.
func (c *Collector) Totals() (requests, errors int64) {
	return c.requests.Load(), c.errors.Load()
}

// Iterations is the number of iterations finished so far.
func (c *Collector) Iterations() int64 { return c.iterations.Load() }

// Summarize reads the percentiles of a histogram in milliseconds.
func Summarize(h *hdrhistogram.Histogram) report.Latency {
	if h.TotalCount() == 0 {
		return report.Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return report.Latency{
		Min: ms(h.Min()), Mean: h.Mean() / 1000, Max: ms(h.Max()),
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P95: ms(h.ValueAtQuantile(95)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)),
	}
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// kindCounts turns counts by error kind into the report's counts by name.
func kindCounts(m map[Kind]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}
