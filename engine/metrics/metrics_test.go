package metrics

import (
	"net/netip"
	"strings"
	"testing"
	"time"
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
