package metrics

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestPercentileNames(t *testing.T) {
	for name, want := range map[string]float64{"p50": 50, "p95": 95, "p99": 99, "p999": 99.9, "p9999": 99.99, "p0": 0, "p100": 100} {
		if got, ok := percentile(name); !ok || got != want {
			t.Errorf("percentile(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, bad := range []string{"p", "px", "q50", "p-1", "p101"} {
		if _, ok := percentile(bad); ok {
			t.Errorf("percentile(%q) accepted", bad)
		}
	}
}

func TestThresholds(t *testing.T) {
	c := New(Config{})
	src := netip.MustParseAddr("127.0.0.2")
	// 1..100 ms; the last two failed, so the latencies are of 1..98 ms.
	for i := 1; i <= 100; i++ {
		c.Record(&Sample{Name: "get", Kind: "http", Source: src, Latency: time.Duration(i) * time.Millisecond, OK: i <= 98, ErrKind: map[bool]Kind{true: "", false: KindStatus5xx}[i <= 98], Status: 200})
	}
	c.Iteration("", "")
	c.Iteration("no-edge", "x")
	res := c.Result("t")
	res.DurationMS = 2000
	for expr, want := range map[string]bool{
		"get.p50 < 51ms": true,
		// HDR percentiles are exact to 3 significant figures, and never
		// above the exact maximum.
		"get.p99 <= 98ms":        true,
		"get.p99 < 97ms":         false,
		"get.max == 98":          true,
		"get.min == 1":           true,
		"get.mean == 49.5":       true,
		"get.error_rate < 1%":    false,
		"get.error_rate <= 2%":   true,
		"get.error_rate <= 0.02": true,
		"get.count == 100":       true,
		"get.rate == 50":         true,
		"http.p95 < 1s":          true,
		"http.count == 100":      true,
		"iterations.failed == 0": false,
		"iterations.passed >= 1": true,
		"nothing.p95 < 1ms":      false,
	} {
		th, err := ParseThreshold(expr, nil)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		got := c.Evaluate([]Threshold{th}, res)[0]
		if got.OK != want {
			t.Errorf("%s: ok %v (value %v, error %q), want %v", expr, got.OK, got.Value, got.Error, want)
		}
	}
	th, _ := ParseThreshold("nothing.p95 < 1ms", nil)
	if got := c.Evaluate([]Threshold{th}, res)[0]; got.Error == "" {
		t.Error("a threshold on an unknown call must say why it failed")
	}
	th, _ = ParseThreshold("arrivals.dropped == 0", nil)
	if got := c.Evaluate([]Threshold{th}, res)[0]; got.OK || got.Error == "" {
		t.Errorf("arrivals.dropped in a closed-model run: %+v", got)
	}
}

func TestParseThreshold(t *testing.T) {
	actions := []string{"login", "get-items", "api.v1"}
	for expr, want := range map[string]Threshold{
		"login.p95 < 200ms":          {Subject: SubjectAction, Name: "login", Stat: StatPercentile, Quantile: 95, Op: OpLT, Limit: 200, Unit: UnitDuration},
		"get-items.p999 <= 1.5s":     {Subject: SubjectAction, Name: "get-items", Stat: StatPercentile, Quantile: 99.9, Op: OpLE, Limit: 1500, Unit: UnitDuration},
		"login.error_rate < 1%":      {Subject: SubjectAction, Name: "login", Stat: StatErrorRate, Op: OpLT, Limit: 0.01, Unit: UnitPercent},
		"login.rate >= 10":           {Subject: SubjectAction, Name: "login", Stat: StatRate, Op: OpGE, Limit: 10},
		"login.wait.p95 < 100ms":     {Subject: SubjectAction, Name: "login", Phase: "wait", Stat: StatPercentile, Quantile: 95, Op: OpLT, Limit: 100, Unit: UnitDuration},
		"api.v1.mean != 3":           {Subject: SubjectAction, Name: "api.v1", Stat: StatMean, Op: OpNE, Limit: 3},
		"http.p99 < 1s":              {Subject: SubjectHTTP, Stat: StatPercentile, Quantile: 99, Op: OpLT, Limit: 1000, Unit: UnitDuration},
		"iterations.failed == 0":     {Subject: SubjectIterations, Stat: StatFailed, Op: OpEQ},
		"arrivals.dropped > 0":       {Subject: SubjectArrivals, Stat: StatDropped, Op: OpGT},
		"checks.failed == 0":         {Subject: SubjectChecks, Stat: StatFailed, Op: OpEQ},
		" login.count==3 ":           {Subject: SubjectAction, Name: "login", Stat: StatCount, Op: OpEQ, Limit: 3},
		"get-items.connect.max < 5s": {Subject: SubjectAction, Name: "get-items", Phase: "connect", Stat: StatMax, Op: OpLT, Limit: 5000, Unit: UnitDuration},
	} {
		got, err := ParseThreshold(expr, actions)
		want.Expr = expr
		if err != nil || got != want {
			t.Errorf("ParseThreshold(%q) = %+v, %v\nwant %+v", expr, got, err, want)
		}
	}
	for expr, msg := range map[string]string{
		"login.p95x < 200ms":   `login has no statistic "p95x" (did you mean "p95"?)`,
		"login.latency < 1s":   `login has no statistic "latency"`,
		"logn.p95 < 1s":        `"logn" is not an action (did you mean "login"?)`,
		"login.wait.count < 3": `login.wait has no statistic "count"`,
		"login.dns.p95x < 3ms": `has no statistic "p95x"`,
		"iterations.p95 < 3":   `iterations has no statistic "p95"`,
		"arrivals.lost == 0":   `arrivals has no statistic "lost"`,
		"login.count < 2s":     `login.count is not a latency`,
		"login.p95 < 5%":       `login.p95 is not a rate of errors`,
		"login.p95 < ten":      `"ten" is not a number, a duration (200ms) or a percentage (1%)`,
		"login < 3":            `"login" names no statistic`,
		"login.p95 = 3":        `not of the form METRIC OP VALUE`,
		"login.p95 < NaN":      `"NaN" is not a number`,
		"login.p101 < 3ms":     `no statistic "p101"`,
	} {
		_, err := ParseThreshold(expr, actions)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseThreshold(%q): error %v, want one containing %q", expr, err, msg)
		}
	}
	// With the actions unknown (a .star flow), any name is accepted, and
	// a phase is recognised by its name.
	if got, err := ParseThreshold("whatever.tls.p50 < 1ms", nil); err != nil || got.Name != "whatever" || got.Phase != "tls" {
		t.Errorf("unknown actions: %+v, %v", got, err)
	}
}

func BenchmarkRecord(b *testing.B) {
	c := New(Config{})
	src := netip.MustParseAddr("127.0.0.2")
	s := &Sample{Name: "get", Kind: "http", Source: src, Latency: 1500 * time.Microsecond, OK: true, Status: 200}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Record(s)
		}
	})
}

// A single 300.939 ms call: the histogram alone would say p50 = 301.055
// (the top of the value's bucket) and a mean off the value; every
// statistic must be the value itself.
func TestOneValueIsEveryStatistic(t *testing.T) {
	c := New(Config{})
	c.Record(&Sample{Name: "slow", Kind: "http", Latency: 300939 * time.Microsecond, OK: true, Status: 200})
	l := c.Result("t").Actions["slow"].Latency
	for name, v := range map[string]float64{"min": l.Min, "mean": l.Mean, "p50": l.P50, "p90": l.P90, "p95": l.P95, "p99": l.P99, "p999": l.P999, "max": l.Max} {
		if v != 300.939 {
			t.Errorf("%s = %v, want 300.939", name, v)
		}
	}
}

func TestStatisticsWithinExtremes(t *testing.T) {
	c := New(Config{})
	// Values spread over several HDR buckets, none at a bucket's top.
	for i := 0; i < 1000; i++ {
		c.Record(&Sample{Name: "a", Kind: "http", Latency: time.Duration(10_000_001+i*7_919) * time.Nanosecond, OK: true})
	}
	l := c.Result("t").Actions["a"].Latency
	want := 0.0
	for i := 0; i < 1000; i++ {
		want += float64(10_000_001 + i*7_919)
	}
	want = round3(want / 1000 / 1e6)
	if l.Mean != want {
		t.Errorf("mean %v, want the exact %v", l.Mean, want)
	}
	for name, v := range map[string]float64{"p50": l.P50, "p90": l.P90, "p95": l.P95, "p99": l.P99, "p999": l.P999, "mean": l.Mean} {
		if v < l.Min || v > l.Max {
			t.Errorf("%s = %v outside [%v, %v]", name, v, l.Min, l.Max)
		}
	}
	if l.Min != 10 || l.Max != round3(float64(10_000_001+999*7_919)/1e6) {
		t.Errorf("min %v max %v", l.Min, l.Max)
	}
}

func TestFailedLatencyApart(t *testing.T) {
	c := New(Config{})
	for i := 0; i < 10; i++ {
		c.Record(&Sample{Name: "a", Kind: "http", Latency: 50 * time.Millisecond, OK: true, Status: 200})
		c.Record(&Sample{Name: "a", Kind: "http", Latency: 20 * time.Microsecond, ErrKind: KindFDLimit})
	}
	// Never made, or cut by the end of the run: counted, not timed.
	c.Record(&Sample{Name: "a", Kind: "http", ErrKind: KindNoAddress})
	c.Record(&Sample{Name: "a", Kind: "http", Latency: time.Second, ErrKind: KindCancelled})
	r := c.Result("t")
	a := r.Actions["a"]
	if a.Latency.P50 != 50 || a.Latency.Min != 50 || r.HTTP.P50 != 50 {
		t.Errorf("latency of the successes %+v, http %+v", a.Latency, r.HTTP)
	}
	if a.FailedLatency == nil || a.FailedLatency.Max != 0.02 || a.Count != 22 || a.Failed != 12 {
		t.Errorf("failed latency %+v, count %d, failed %d", a.FailedLatency, a.Count, a.Failed)
	}
}

func TestPhaseTimings(t *testing.T) {
	c := New(Config{})
	s := &Sample{Name: "a", Kind: "http", Latency: 10 * time.Millisecond, OK: true, Timed: true}
	s.Timings[PhaseConnect] = time.Millisecond
	s.Timings[PhaseWait] = 8 * time.Millisecond
	c.Record(s)
	r := c.Result("t")
	if tm := r.Actions["a"].Timings; tm["wait"].P95 != 8 || tm["connect"].Max != 1 || tm["dns"].Max != 0 || len(tm) != int(NumPhases) {
		t.Errorf("timings %+v", tm)
	}
	th, err := ParseThreshold("a.wait.p95 <= 8ms", []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Evaluate([]Threshold{th}, r)[0]; !got.OK || got.Value != 8 {
		t.Errorf("a.wait.p95 <= 8ms: %+v", got)
	}
}

// The last interval of a run is whatever is left of a second: alone, a
// few calls in a few milliseconds would be a rate the run never had.
func TestShortLastIntervalIsNotExtrapolated(t *testing.T) {
	c := New(Config{})
	t0 := c.start
	for i := 0; i < 374; i++ {
		c.Record(&Sample{Name: "a", Kind: "http", Latency: time.Millisecond, OK: true})
	}
	c.Tick(t0.Add(time.Second), false)
	for i := 0; i < 21; i++ {
		c.Record(&Sample{Name: "a", Kind: "http", Latency: time.Millisecond, OK: true})
	}
	last := c.Tick(t0.Add(1025*time.Millisecond), true)
	series := c.Result("t").Series
	if len(series) != 1 || last.Requests != 395 || !reflect.DeepEqual(series[0], last) {
		t.Fatalf("series %+v, last %+v", series, last)
	}
	// The action's own series folds the same way.
	if a := last.Actions["a"]; a.Requests != 395 || a.P50 != 1 {
		t.Errorf("action a's last point %+v, want 395 calls at 1 ms", a)
	}
	if want := 395 / 1.025; math.Abs(last.RPS-want) > 1e-9 {
		t.Errorf("rate %v, want %v over the 1.025 s covered", last.RPS, want)
	}
	// A final interval of its own when long enough.
	c2 := New(Config{})
	c2.Tick(c2.start.Add(time.Second), false)
	c2.Record(&Sample{Name: "a", Kind: "http", Latency: time.Millisecond, OK: true})
	if p := c2.Tick(c2.start.Add(1600*time.Millisecond), true); p.Requests != 1 || math.Abs(p.RPS-1/0.6) > 1e-9 || len(c2.Result("t").Series) != 2 {
		t.Errorf("last point %+v", p)
	}
}

func TestMaxNames(t *testing.T) {
	c := New(Config{MaxNames: 3})
	for i := 0; i < 10; i++ {
		c.Record(&Sample{Name: "GET /users/" + strconv.Itoa(i), Kind: "http", Latency: time.Millisecond, OK: true})
	}
	c.Record(&Sample{Name: "GET /users/1", Kind: "http", Latency: time.Millisecond, OK: true})
	r := c.Result("t")
	if len(r.Actions) != 4 || r.Actions[OtherName].Count != 7 || r.Actions["GET /users/1"].Count != 2 {
		t.Errorf("actions: %d names, other %+v", len(r.Actions), r.Actions[OtherName])
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `from "GET /users/3" on, 7 calls`) || !strings.Contains(r.Warnings[0], "name=") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

// The histograms in the JSON decode to what was recorded, so that results
// can be merged.
func TestHDRInResult(t *testing.T) {
	c := New(Config{})
	for i := 1; i <= 100; i++ {
		c.Record(&Sample{Name: "a", Kind: "http", Latency: time.Duration(i) * time.Millisecond, OK: true, Timed: true})
	}
	c.Record(&Sample{Name: "a", Kind: "http", Latency: time.Millisecond, ErrKind: KindReset})
	c.Tick(c.start.Add(time.Second), false)
	c.Tick(c.start.Add(2*time.Second), false)
	r := c.Result("t")
	decode := func(what, s string) *hdrhistogram.Histogram {
		t.Helper()
		h, err := hdrhistogram.Decode([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return h
	}
	h := decode("actions", r.HDR.Actions["a"])
	if h.TotalCount() != 100 || h.Max() < 99_900 || h.Max() > 100_100 {
		t.Errorf("decoded: %d values, max %d µs", h.TotalCount(), h.Max())
	}
	if f := decode("failed", r.HDR.Failed["a"]); f.TotalCount() != 1 {
		t.Errorf("failed: %d values", f.TotalCount())
	}
	if w := decode("timings", r.HDR.Timings["a"]["wait"]); w.TotalCount() != 100 {
		t.Errorf("wait: %d values", w.TotalCount())
	}
	if len(r.HDR.Seconds) != 2 || decode("second 1", r.HDR.Seconds[0]).TotalCount() != 100 || r.HDR.Seconds[1] != "" {
		t.Errorf("seconds %q", r.HDR.Seconds)
	}
	if decode("http", r.HDR.HTTP).TotalCount() != 100 || r.HDR.Unit != "us" {
		t.Errorf("http / unit %q", r.HDR.Unit)
	}
}

func BenchmarkEncode(b *testing.B) {
	d := newDist()
	for i := 0; i < 10000; i++ {
		d.record(time.Duration(i*997) * time.Microsecond)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = d.encode()
	}
}

// Our encoding decodes, with the library's decoder, to the same counts
// as the histogram encoded, however the values are spread.
func TestEncodingRoundTrip(t *testing.T) {
	for name, values := range map[string][]int64{
		"one":      {300939},
		"extremes": {1, histMax},
		"spread": func() []int64 {
			var v []int64
			for i := int64(1); i < 5_000_000; i = i*3 + 7 {
				v = append(v, i)
			}
			return v
		}(),
		"repeated":  {5, 5, 5, 5, 6, 7, 7, 1_000_000},
		"big count": nil,
	} {
		h := newHistogram()
		for _, v := range values {
			_ = h.RecordValue(v)
		}
		if name == "big count" {
			_ = h.RecordValues(1234, 1<<40)
		}
		got, err := hdrhistogram.Decode([]byte(encodeHistogram(h)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Equals(h) {
			t.Errorf("%s: decoded %d values (max %d), encoded %d (max %d)", name, got.TotalCount(), got.Max(), h.TotalCount(), h.Max())
		}
	}
}

// A thousand names that never fail cost one histogram each, not two.
func BenchmarkManyNames(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := New(Config{})
		for n := 0; n < 1000; n++ {
			c.Record(&Sample{Name: strconv.Itoa(n), Kind: "http", Latency: time.Millisecond, OK: true})
		}
	}
}

// Latencies spread over many buckets, as a real run's are.
func BenchmarkRecordSpread(b *testing.B) {
	c := New(Config{})
	var lat [4096]time.Duration
	x := uint64(88172645463325252)
	for i := range lat {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		lat[i] = time.Duration(x%2_000_000) * time.Microsecond / 4 // 0 to 500 ms
	}
	s := &Sample{Name: "get", Kind: "http", OK: true, Status: 200}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Latency = lat[i%len(lat)]
		c.Record(s)
	}
}

// Calls named by URL with ids in the path, from many users at once: past
// MaxNames (100) the calls have 300 names more, counted under OtherName.
// Run it with -mutexprofile to see what the recorders wait for.
func BenchmarkOverflowNamesParallel(b *testing.B) {
	c := New(Config{MaxNames: 100})
	for n := range 100 {
		c.Record(&Sample{Name: "warm " + strconv.Itoa(n), Kind: "http", OK: true})
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := &Sample{Kind: "http", OK: true, Status: 200, Latency: time.Millisecond}
		for pb.Next() {
			s.Name = "GET /users/" + strconv.FormatInt(next.Add(1)%300, 10)
			c.Record(s)
		}
	})
}

// Names past MaxNames are remembered as OtherName's (up to 4×MaxNames of
// them): their calls are still counted there, and in the warning.
func TestOverflowNamesCached(t *testing.T) {
	c := New(Config{MaxNames: 2})
	for range 3 {
		for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
			c.Record(&Sample{Name: n, Kind: "http", OK: true, Latency: time.Millisecond})
		}
	}
	if n := c.nOverflowed.Load(); n != 8 {
		t.Errorf("%d overflowing names cached, want 8 (4×MaxNames)", n)
	}
	if _, ok := c.overflowed.Load("j"); !ok {
		t.Error("an overflowing name is not cached")
	}
	r := c.Result("x")
	if len(r.Actions) != 3 || r.Actions[OtherName].Count != 24 || r.Actions["a"].Count != 3 {
		t.Errorf("actions %d, other %+v", len(r.Actions), r.Actions[OtherName])
	}
	if w := fmt.Sprint(r.Warnings); !strings.Contains(w, "24 calls") {
		t.Errorf("warnings %s, want 24 calls counted as other", w)
	}
}

// TestRecordZeros: zeros recorded in one go leave a distribution as
// recording each does, whatever came before or after.
func TestRecordZeros(t *testing.T) {
	for _, tc := range [][]time.Duration{
		{0, 0, 0},
		{5 * time.Millisecond, 0, 0, 3 * time.Microsecond},
		{0, 2 * time.Second},
		{7 * time.Microsecond},
	} {
		one, batched := newDist(), newDist()
		zeros := int64(0)
		for _, d := range tc {
			one.record(d)
			if d == 0 {
				zeros++
			} else {
				batched.record(d)
			}
		}
		if zeros > 0 {
			batched.recordZeros(zeros)
		}
		if one.summary() != batched.summary() || one.encode() != batched.encode() || one.n != batched.n || one.sum != batched.sum {
			t.Errorf("%v: one by one %+v %q, zeros together %+v %q", tc, one.summary(), one.encode(), batched.summary(), batched.encode())
		}
	}
}
