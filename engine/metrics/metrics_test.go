package metrics

import (
	"net/netip"
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
	c := New()
	src := netip.MustParseAddr("127.0.0.2")
	for i := 1; i <= 100; i++ {
		c.Record(&Sample{Name: "get", Kind: "http", Source: src, Latency: time.Duration(i) * time.Millisecond, OK: i <= 98, ErrKind: map[bool]Kind{true: "", false: KindStatus5xx}[i <= 98], Status: 200})
	}
	c.Iteration("", "")
	c.Iteration("no-edge", "x")
	for expr, want := range map[string]bool{
		"get.p50 < 51ms": true,
		// HDR percentiles are exact to 3 significant figures: 99.007ms here.
		"get.p99 <= 99.1ms":      true,
		"get.p99 < 98ms":         false,
		"get.max == 100":         true,
		"get.mean > 50":          true,
		"get.error_rate < 1%":    false,
		"get.error_rate <= 2%":   true,
		"get.count == 100":       true,
		"http.p95 < 1s":          true,
		"iterations.failed == 0": false,
		"iterations.passed >= 1": true,
		"nothing.p95 < 1ms":      false,
		"get.p95 < ten":          false,
		"get.bogus < 1":          false,
	} {
		got := c.Thresholds([]string{expr})[0]
		if got.OK != want {
			t.Errorf("%s: ok %v (value %v, error %q), want %v", expr, got.OK, got.Value, got.Error, want)
		}
	}
	if th := c.Thresholds([]string{"nothing.p95 < 1ms"})[0]; th.Error == "" {
		t.Error("a threshold on an unknown call must say why it failed")
	}
}

func BenchmarkRecord(b *testing.B) {
	c := New()
	src := netip.MustParseAddr("127.0.0.2")
	s := &Sample{Name: "get", Kind: "http", Source: src, Latency: 1500 * time.Microsecond, OK: true, Status: 200}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Record(s)
		}
	})
}
