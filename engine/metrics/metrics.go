// Package metrics aggregates what a run's users did: latency
// distributions (HDR histograms at microsecond resolution, with the exact
// extremes and sum beside them) and counters per action, counters per
// source address, iteration outcomes and checks. It owns the Sample the
// built-ins emit, the typed error Kind and the Sink interface, and the
// thresholds (parsed once, evaluated at the end).
//
// A Collector is shared by every user and safe for concurrent use.
// Record takes no lock shared by all users: a sample goes into one of
// several shards (a few per core), and each shard's samples are applied
// to the aggregates in batches, by whichever recorder fills it, and at
// every Tick and before every read of the aggregates.
//
// The package sits below everything that feeds it: it imports neither
// the Starlark built-ins, the scenario model nor go.starlark.net.
package metrics

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// DefaultMaxNames is how many distinct measured names a run keeps before
// counting new ones under OtherName.
const DefaultMaxNames = 1000

// OtherName is the name calls are counted under once MaxNames distinct
// names have been seen.
const OtherName = "(other)"

// Config tunes a Collector.
type Config struct {
	// MaxNames bounds the distinct measured names (0: DefaultMaxNames).
	MaxNames int
}

// Collector aggregates Samples. The zero value is not usable; call New.
type Collector struct {
	start    time.Time
	maxNames int

	mu        sync.RWMutex
	actions   map[string]*action
	sources   map[netip.Addr]*source
	checks    map[string]*report.Check
	failures  map[string]int64
	samples   map[string]string // the first message of each error kind
	overflow  string            // the first name counted under OtherName
	overflows atomic.Int64      // calls counted under OtherName
	// overflowed maps names past maxNames to OtherName's aggregate, so
	// that their calls take no lock (up to 4×maxNames of them, counted in
	// nOverflowed: a run naming every call anew stops caching there).
	overflowed  sync.Map
	nOverflowed atomic.Int64

	// globalMu guards the run-wide distributions: every successful HTTP
	// call, and the calls of the current interval (for the time series).
	globalMu sync.Mutex
	http     *dist
	httpN    int64 // HTTP calls, failed ones included
	httpOK   int64
	interval intervalStats
	previous intervalStats // the interval before, kept to absorb a short last one
	series   []report.Point
	seconds  []string  // each point's histogram, encoded
	lagSecs  []string  // each point's start lags, encoded ("" when none)
	lag      *dist     // every arrival's start lag (open model)
	end      time.Time // the final tick: the end of the run, when it came

	requests, errors atomic.Int64

	// shards hold the samples recorded and not yet applied.
	shards []shard
	// named is a copy of actions for lookups that take no lock; it is
	// replaced, never changed, when a name is added (under mu).
	named atomic.Pointer[map[string]*action]

	iterations, passed, failed atomic.Int64
	spawned, completed         atomic.Int64
	active, peak               atomic.Int64
	startMu                    sync.Mutex
	startFailures              map[string]int64
	flows                      flowSet // a user mix's flows (flows.go)
}

// intervalStats is what happened in one interval of the time series.
type intervalStats struct {
	start            time.Time
	requests, errors int64
	lat              *dist // of the successful calls
	lag              *dist // of the open model's arrivals: actual start - intended start; nil in an action's series
}

type action struct {
	mu        sync.Mutex
	kind      string
	count     int64
	ok        int64
	errors    map[Kind]int64
	status    map[int]int64
	sent, got int64
	lat       *dist            // successful calls
	failedLat *dist            // failed calls that got far enough to be timed
	phases    [NumPhases]*dist // HTTP timing phases of successful calls; nil until timed
	// The action's own time series (the first report.SeriesNames names
	// only; cur is nil for the others): the calls of the current
	// interval, and of the one before, kept to absorb a short last one.
	cur, prev intervalStats
	// seconds holds the histogram of each closed interval, encoded and
	// aligned with the run's series ("" when no call succeeded in it),
	// so that the series of segments can be merged (spec §9).
	seconds []string
}

type source struct {
	requests, errors atomic.Int64
}

// shardBatch is how many samples a shard holds before its recorder
// applies them: the aggregates' locks are taken once per batch, not once
// per call.
const shardBatch = 128

// recorded is a sample and the aggregate of its name, looked up when it
// was recorded: names count in the order calls are made (MaxNames).
type recorded struct {
	a *action
	s Sample
}

// shard is a batch of recorded samples and its lock, padded to keep
// shards on cache lines of their own.
type shard struct {
	mu    sync.Mutex
	buf   []recorded
	spare []recorded // the other buffer: filled and applied in turn
	// applying serializes the application of this shard's batches, so
	// that they are applied in the order they were recorded.
	applying sync.Mutex
	_        [64]byte
}

// numShards is a few shards per core, a power of two.
func numShards() int {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) && n < 256 {
		n *= 2
	}
	return n
}

// New returns an empty collector whose clock starts now.
func New(cfg Config) *Collector {
	now := time.Now()
	if cfg.MaxNames <= 0 {
		cfg.MaxNames = DefaultMaxNames
	}
	return &Collector{
		start:         now,
		maxNames:      cfg.MaxNames,
		actions:       map[string]*action{},
		sources:       map[netip.Addr]*source{},
		checks:        map[string]*report.Check{},
		failures:      map[string]int64{},
		samples:       map[string]string{},
		http:          newDist(),
		lag:           newDist(),
		interval:      intervalStats{start: now, lat: newDist(), lag: newDist()},
		previous:      intervalStats{lat: newDist(), lag: newDist()},
		startFailures: map[string]int64{},
		shards:        make([]shard, numShards()),
	}
}

var _ Sink = (*Collector)(nil)

// Record implements Sink. The sample is copied into a shard chosen at
// random: recorders on different cores rarely meet on one lock, and the
// aggregates' locks are taken once per batch.
func (c *Collector) Record(s *Sample) {
	a := c.action(s.Name, s.Kind)
	sh := &c.shards[rand.Uint32()&uint32(len(c.shards)-1)]
	sh.mu.Lock()
	sh.buf = append(sh.buf, recorded{a, *s})
	full := len(sh.buf) >= shardBatch
	sh.mu.Unlock()
	if full {
		c.applyShard(sh)
	}
}

// flush applies every shard's samples: the aggregates then hold every
// sample recorded before the call.
func (c *Collector) flush() {
	for i := range c.shards {
		c.applyShard(&c.shards[i])
	}
}

// applyShard applies the samples sh holds to the aggregates.
func (c *Collector) applyShard(sh *shard) {
	sh.applying.Lock()
	defer sh.applying.Unlock()
	sh.mu.Lock()
	batch := sh.buf
	sh.buf, sh.spare = sh.spare[:0], nil
	sh.mu.Unlock()
	c.applyBatch(batch)
	clear(batch) // the strings it holds may go
	sh.mu.Lock()
	sh.spare = batch[:0]
	sh.mu.Unlock()
}

// applyBatch adds a batch of samples to the aggregates, taking each
// name's lock once for all its samples and the run-wide one once.
func (c *Collector) applyBatch(batch []recorded) {
	for i := range batch {
		a := batch[i].a
		if a == nil {
			continue // applied with an earlier sample of its name
		}
		var zeros [NumPhases]int64
		a.mu.Lock()
		for j := i; j < len(batch); j++ {
			if batch[j].a == a {
				a.add(&batch[j].s, &zeros)
				batch[j].a = nil
			}
		}
		for p, n := range zeros {
			if n > 0 {
				a.phases[p].recordZeros(n)
			}
		}
		a.mu.Unlock()
	}
	var requests, errors int64
	var src *source
	srcAddr := netip.Addr{}
	c.globalMu.Lock()
	for i := range batch {
		s := &batch[i].s
		if s.Kind == "custom" {
			continue
		}
		requests++
		if !s.OK {
			errors++
		}
		if !s.ErrKind.Measured() {
			continue
		}
		if s.Kind == "http" {
			c.httpN++
			if s.OK {
				c.httpOK++
				c.http.record(s.Latency)
			}
		}
		c.interval.requests++
		if s.OK {
			c.interval.lat.record(s.Latency)
		} else {
			c.interval.errors++
		}
	}
	c.globalMu.Unlock()
	c.requests.Add(requests)
	c.errors.Add(errors)
	// A source's counts are added once for each run of its samples: the
	// samples of a run's users sending from one address (or none) share
	// its counters.
	var srcRequests, srcErrors int64
	flushSource := func() {
		if src != nil {
			src.requests.Add(srcRequests)
			if srcErrors > 0 {
				src.errors.Add(srcErrors)
			}
		}
		srcRequests, srcErrors = 0, 0
	}
	for i := range batch {
		s := &batch[i].s
		if s.Kind != "custom" && s.ErrKind != KindNoAddress {
			if src == nil || s.Source != srcAddr {
				flushSource()
				src, srcAddr = c.source(s.Source), s.Source
			}
			srcRequests++
			if !s.OK {
				srcErrors++
			}
		}
		if !s.OK && s.Err != "" {
			c.sample(s.Name+" "+string(s.ErrKind), s.Err)
		}
	}
	flushSource()
}

// add adds one sample to a's aggregates; a.mu is held. The phases that
// took no time (a reused connection's dns, connect and tls) are counted
// in zeros, for the caller to record once per batch: three of a
// request's ten histogram entries otherwise.
func (a *action) add(s *Sample, zeros *[NumPhases]int64) {
	measured := s.ErrKind.Measured()
	a.count++
	switch {
	case s.OK:
		a.ok++
		a.lat.record(s.Latency)
		if s.Timed {
			for p, d := range s.Timings {
				if a.phases[p] == nil {
					a.phases[p] = newDist()
				}
				if d == 0 {
					zeros[p]++
					continue
				}
				a.phases[p].record(d)
			}
		}
	case measured:
		a.errors[s.ErrKind]++
		a.failedLat.record(s.Latency)
	default:
		a.errors[s.ErrKind]++
	}
	if a.cur.lat != nil && measured {
		a.cur.requests++
		if s.OK {
			a.cur.lat.record(s.Latency)
		} else {
			a.cur.errors++
		}
	}
	if s.Status != 0 {
		a.status[s.Status]++
	}
	a.sent += s.BytesSent
	a.got += s.BytesRecv
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

// action returns the aggregate of name, made on first use. Past maxNames
// distinct names, new ones share OtherName: a scenario that names calls
// by URL, with ids in the paths, must not grow the results without bound.
func (c *Collector) action(name, kind string) *action {
	if m := c.named.Load(); m != nil {
		if a := (*m)[name]; a != nil {
			return a
		}
	}
	if a, ok := c.overflowed.Load(name); ok {
		c.overflows.Add(1)
		return a.(*action)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.actions[name]
	if a != nil {
		return a
	}
	if len(c.actions) >= c.maxNames {
		if c.overflow == "" {
			c.overflow = name
		}
		c.overflows.Add(1)
		newName := name
		defer func() {
			if c.nOverflowed.Load() < 4*int64(c.maxNames) {
				if _, loaded := c.overflowed.LoadOrStore(newName, a); !loaded {
					c.nOverflowed.Add(1)
				}
			}
		}()
		name = OtherName
		if a = c.actions[name]; a != nil {
			return a
		}
	}
	a = &action{kind: kind, errors: map[Kind]int64{}, status: map[int]int64{}, lat: newDist(), failedLat: newDist()}
	if len(c.actions) < report.SeriesNames {
		a.cur.lat, a.prev.lat = newDist(), newDist()
	}
	c.actions[name] = a
	// A new copy for the lookups without a lock: names are added rarely
	// (at most maxNames times), looked up on every call.
	m := make(map[string]*action, len(c.actions))
	for k, v := range c.actions {
		m[k] = v
	}
	c.named.Store(&m)
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

// StartLag records how late an arrival of the open model started: from
// its intended start (when the plan said) to when its user began. The
// latencies already count from the intended start; this says how much
// of them was ntx's own delay.
func (c *Collector) StartLag(d time.Duration) {
	c.globalMu.Lock()
	c.lag.record(d)
	c.interval.lag.record(d)
	c.globalMu.Unlock()
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
	c.flush()
	c.globalMu.Lock()
	end := c.end
	c.globalMu.Unlock()
	if end.IsZero() {
		end = time.Now()
	}
	r := &report.Result{
		Scenario:  name,
		StartedAt: c.start.UTC(),
		// The run's duration ends at the final tick, so that the rate
		// the last progress line shows is the rate of the result.
		DurationMS: float64(end.Sub(c.start).Microseconds()) / 1000,
		Actions:    map[string]*report.Action{},
		SourceIPs:  map[string]*report.SourceIP{},
		Pools:      map[string]*report.Pool{},
		Thresholds: []report.Threshold{},
		Reasons:    []report.Reason{},
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
		r.Actions[name] = a.report()
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
	if c.overflow != "" {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"more than %d distinct names were measured: from %q on, %d calls with new names are counted as %q; "+
				"give such calls a name= that groups them (e.g. name=\"GET /users/{id}\"), or raise --max-names",
			c.maxNames, c.overflow, c.overflows.Load(), OtherName))
	}
	c.mu.RUnlock()
	c.globalMu.Lock()
	if c.http.n > 0 {
		l := c.http.summary()
		r.HTTP = &l
	}
	if c.lag.n > 0 {
		l := c.lag.summary()
		r.StartLag = &l
	}
	r.Series = append([]report.Point(nil), c.series...)
	hdr := &report.HDR{Unit: "us", Actions: map[string]string{}, HTTP: c.http.encode(),
		Seconds: append([]string(nil), c.seconds...)}
	if c.lag.n > 0 {
		hdr.Lag = c.lag.encode()
		hdr.LagSeconds = append([]string(nil), c.lagSecs...)
	}
	points := len(c.series)
	c.globalMu.Unlock()
	c.mu.RLock()
	for name, a := range c.actions {
		a.encode(name, hdr, points)
	}
	c.mu.RUnlock()
	c.flowsResult(r, hdr)
	r.HDR = hdr
	return r
}

// encode adds the action's histograms to hdr; those of its series are
// padded to the run's points.
func (a *action) encode(name string, hdr *report.HDR, points int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seconds) > 0 {
		if hdr.ActionSeconds == nil {
			hdr.ActionSeconds = map[string][]string{}
		}
		secs := make([]string, max(points, len(a.seconds)))
		copy(secs, a.seconds)
		hdr.ActionSeconds[name] = secs[:points]
	}
	if e := a.lat.encode(); e != "" {
		hdr.Actions[name] = e
	}
	if e := a.failedLat.encode(); e != "" {
		if hdr.Failed == nil {
			hdr.Failed = map[string]string{}
		}
		hdr.Failed[name] = e
	}
	for p, d := range a.phases {
		if d == nil {
			continue
		}
		if hdr.Timings == nil {
			hdr.Timings = map[string]map[string]string{}
		}
		if hdr.Timings[name] == nil {
			hdr.Timings[name] = map[string]string{}
		}
		hdr.Timings[name][Phases[p]] = d.encode()
	}
}

// report is the action in the report's terms. The caller holds no lock
// of a.
func (a *action) report() *report.Action {
	a.mu.Lock()
	defer a.mu.Unlock()
	ra := &report.Action{Kind: a.kind, Count: a.count, OK: a.ok, Failed: a.count - a.ok,
		Errors: kindCounts(a.errors), BytesSent: a.sent, BytesReceived: a.got, Latency: a.lat.summary()}
	if a.failedLat.n > 0 {
		l := a.failedLat.summary()
		ra.FailedLatency = &l
	}
	for p, d := range a.phases {
		if d != nil {
			if ra.Timings == nil {
				ra.Timings = map[string]report.Latency{}
			}
			ra.Timings[Phases[p]] = d.summary()
		}
	}
	if len(a.status) > 0 {
		ra.StatusCodes = map[string]int64{}
		for code, n := range a.status {
			ra.StatusCodes[strconv.Itoa(code)] = n
		}
	}
	return ra
}

// Tick closes the current interval of the time series: the calls made
// since the last tick, their rate over the time the interval covered and
// the latency percentiles of the successful ones, and the users active
// now. It is called about once a second, and once more, final, at the
// end, always from one goroutine. A final interval much shorter than a
// second is not a point of its own: a handful of calls over a few
// milliseconds would extrapolate to a rate the run never had, so it is
// folded into the point before, whose rate is then of both intervals'
// calls over both intervals' time.
//
// The closed interval's histograms (the run's, each series action's and
// the start lags) are encoded for the result's "hdr" section outside
// every lock the recorders take: once closed, only the next Tick touches
// them.
func (c *Collector) Tick(now time.Time, final bool) report.Point {
	c.flush()
	c.globalMu.Lock()
	if final {
		c.end = now
	}
	cur := &c.interval
	fold := final && len(c.series) > 0 && now.Sub(cur.start) < 500*time.Millisecond
	idx := len(c.series)
	var p report.Point
	if fold {
		idx--
		c.previous.requests += cur.requests
		c.previous.errors += cur.errors
		c.previous.lat.merge(cur.lat)
		c.previous.lag.merge(cur.lag)
		cur.requests, cur.errors = 0, 0
		cur.lat.reset()
		cur.lag.reset()
		cur.start = now
		p = c.point(&c.previous, now)
	} else {
		p = c.point(cur, now)
		// The closed interval becomes the previous one; the old
		// previous, emptied, is reused for the next.
		c.previous, c.interval = c.interval, c.previous
		c.interval.requests, c.interval.errors = 0, 0
		c.interval.lat.reset()
		c.interval.lag.reset()
		c.interval.start = now
	}
	closed := c.previous
	c.globalMu.Unlock()

	p.Actions = c.actionPoints(now, fold, idx)
	sec, lag := closed.lat.encode(), closed.lag.encodeSecond()

	c.globalMu.Lock()
	defer c.globalMu.Unlock()
	if fold {
		c.series[idx], c.seconds[idx], c.lagSecs[idx] = p, sec, lag
	} else {
		c.series = append(c.series, p)
		c.seconds = append(c.seconds, sec)
		c.lagSecs = append(c.lagSecs, lag)
	}
	return p
}

// actionPoints closes each series action's interval, as Tick does the
// run's: with fold, the current interval is added to the one before and
// that is summarised again. The closed interval's histogram becomes the
// action's idx-th second.
func (c *Collector) actionPoints(now time.Time, fold bool, idx int) map[string]report.ActionPoint {
	type named struct {
		name string
		a    *action
	}
	var tracked []named
	c.mu.RLock()
	for name, a := range c.actions {
		if a.cur.lat != nil { // set once, when the action is made
			tracked = append(tracked, named{name, a})
		}
	}
	c.mu.RUnlock()
	var out map[string]report.ActionPoint
	for _, t := range tracked {
		a := t.a
		a.mu.Lock()
		if a.cur.start.IsZero() {
			a.cur.start = c.start
		}
		iv := &a.cur
		if fold {
			a.prev.requests += a.cur.requests
			a.prev.errors += a.cur.errors
			a.prev.lat.merge(a.cur.lat)
			iv = &a.prev
		}
		if iv.requests > 0 {
			ap := report.ActionPoint{Requests: iv.requests, Errors: iv.errors}
			if iv.lat.n > 0 {
				ap.P50, ap.P95, ap.P99 = round3(iv.lat.quantile(50)), round3(iv.lat.quantile(95)), round3(iv.lat.quantile(99))
			}
			if out == nil {
				out = map[string]report.ActionPoint{}
			}
			out[t.name] = ap
		}
		if !fold {
			a.prev, a.cur = a.cur, a.prev
		}
		a.cur.requests, a.cur.errors = 0, 0
		a.cur.lat.reset()
		a.cur.start = now
		closed := a.prev.lat // recorders write a.cur; only Tick touches a.prev
		a.mu.Unlock()
		if closed.n == 0 && len(a.seconds) <= idx {
			continue // nothing to say; Result pads
		}
		enc := closed.encodeSecond()
		a.mu.Lock()
		for len(a.seconds) <= idx {
			a.seconds = append(a.seconds, "")
		}
		a.seconds[idx] = enc
		a.mu.Unlock()
	}
	return out
}

// point summarises the interval from iv.start to now.
func (c *Collector) point(iv *intervalStats, now time.Time) report.Point {
	p := report.Point{
		T:          now.Sub(c.start).Seconds(),
		Requests:   iv.requests,
		Errors:     iv.errors,
		Active:     c.active.Load(),
		Iterations: c.iterations.Load(),
	}
	if secs := now.Sub(iv.start).Seconds(); secs > 0 {
		p.RPS = float64(iv.requests) / secs
	}
	if iv.lat.n > 0 {
		p.P50, p.P95, p.P99 = round3(iv.lat.quantile(50)), round3(iv.lat.quantile(95)), round3(iv.lat.quantile(99))
	}
	if iv.lag.n > 0 {
		p.Arrivals = iv.lag.n
		p.LagP99, p.LagMax = round3(iv.lag.quantile(99)), round3(ms(iv.lag.max))
	}
	return p
}

// Totals returns the calls and failed calls so far.
func (c *Collector) Totals() (requests, errors int64) {
	c.flush()
	return c.requests.Load(), c.errors.Load()
}

// Rate is the calls per second from the start of the run to now: the
// rate of the whole run, over the time it actually covered. Called with
// the final tick's time, it is the rate of the Result.
func (c *Collector) Rate(now time.Time) float64 {
	c.flush()
	secs := now.Sub(c.start).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(c.requests.Load()) / secs
}

// Iterations is the number of iterations finished so far.
func (c *Collector) Iterations() int64 { return c.iterations.Load() }

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
