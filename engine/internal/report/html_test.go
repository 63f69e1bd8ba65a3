package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/metrics"
)

// syntheticRun is a 10-minute run of 20 actions, 3,000 source addresses
// and a pool, recorded by a real Collector with a clock of its own.
func syntheticRun(t testing.TB) *report.Result {
	c := metrics.New(metrics.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	begin := time.Now()
	s := &metrics.Sample{}
	k := 0 // every address is used, round robin
	for sec := 1; sec <= 600; sec++ {
		for a := 0; a < 20; a++ {
			for i := 0; i < 2; i++ {
				*s = metrics.Sample{Name: fmt.Sprintf("action-%02d", a), Kind: "http", OK: true, Status: 200,
					Source:  netip.AddrFrom4([4]byte{10, 0, byte(k / 250 % 12), byte(k % 250)}),
					Latency: time.Duration(float64(time.Millisecond) * (1 + float64(a)) * (0.5 + rng.ExpFloat64())),
					Timed:   true, BytesSent: 120, BytesRecv: 2048}
				s.Timings[metrics.PhaseWait] = s.Latency * 8 / 10
				s.Timings[metrics.PhaseReceive] = s.Latency / 10
				if rng.IntN(100) == 0 {
					s.OK, s.Status, s.ErrKind, s.Err = false, 503, metrics.KindStatus5xx, "503 Service Unavailable from http://target/x"
				}
				c.Record(s)
				k++
			}
		}
		c.Tick(begin.Add(time.Duration(sec)*time.Second), sec == 600)
	}
	r := c.Result("synthetic")
	r.StartedAt, r.DurationMS = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), 600000
	r.Arrivals = &report.Arrivals{Planned: 24000, Started: 23990, Dropped: 10}
	r.Pools["edge"] = &report.Pool{Size: 3000, PeakAllocated: 2999, Waits: 4}
	r.Thresholds = []report.Threshold{{Expr: "action-00.p95 < 200ms", OK: true, Value: 3.1}, {Expr: "http.p99 < 20ms", OK: false, Value: 61.2}}
	r.Passed = false
	r.Reasons = []report.Reason{{What: "threshold", Count: 1, Message: "threshold http.p99 < 20ms failed: 61.2"}}
	return r
}

// TestReportOfALongRun: the report of a 10-minute run with 20 actions
// and 3,000 addresses stays under 1 MB, has a chart over time and a
// distribution for each action, caps the addresses' table with a count
// of the rest, and fetches nothing.
func TestReportOfALongRun(t *testing.T) {
	r := syntheticRun(t)
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	t.Logf("report of a 10-minute run with 20 actions: %d bytes", b.Len())
	if b.Len() >= 1<<20 {
		t.Errorf("report is %d bytes, want under 1 MB", b.Len())
	}
	if dir := os.Getenv("NTX_REPORT_DIR"); dir != "" {
		// make screenshots renders this page.
		if err := os.WriteFile(filepath.Join(dir, "synthetic-report.html"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"<script src", "src=", "href=", "@import", "url(", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("report refers to something outside itself: %q", bad)
		}
	}
	start := strings.Index(page, `<script type="application/json" id="data">`)
	end := strings.Index(page[start:], "</script>")
	if start < 0 || end < 0 {
		t.Fatal("no data in the page")
	}
	var v struct {
		Actions []struct {
			Name string `json:"name"`
			Dist *struct {
				K0 int     `json:"k0"`
				C  []int64 `json:"c"`
			} `json:"dist"`
			Over *struct {
				P95 []*float64 `json:"p95"`
			} `json:"over"`
			Timings map[string]any `json:"timings"`
			Status  map[string]int64
		} `json:"actions"`
		Series struct {
			T []float64 `json:"t"`
		} `json:"series"`
		Sources     [][3]any `json:"sources"`
		SourcesMore int      `json:"sources_more"`
		Thresholds  []any    `json:"thresholds"`
		Arrivals    *report.Arrivals
	}
	data := page[start+len(`<script type="application/json" id="data">`) : start+end]
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Series.T) != 600 || len(v.Actions) != 20 || len(v.Thresholds) != 2 || v.Arrivals == nil {
		t.Fatalf("view: %d points, %d actions, %d thresholds, arrivals %v", len(v.Series.T), len(v.Actions), len(v.Thresholds), v.Arrivals)
	}
	for _, a := range v.Actions {
		var n int64
		if a.Dist != nil {
			for _, c := range a.Dist.C {
				n += c
			}
		}
		if a.Dist == nil || n < 1100 || a.Over == nil || len(a.Over.P95) != 600 || a.Timings["wait"] == nil {
			t.Errorf("%s: distribution of %d calls, series %v, timings %v", a.Name, n, a.Over != nil, a.Timings)
		}
	}
	if len(v.Sources) != report.MaxTableRows || v.SourcesMore != 3000-report.MaxTableRows {
		t.Errorf("addresses: %d shown and %d more, want %d and %d", len(v.Sources), v.SourcesMore, report.MaxTableRows, 3000-report.MaxTableRows)
	}
}

// TestPageShowsThresholdValuesWithUnits: the page prints a threshold's
// value as the summary does (a latency with its unit, an error rate
// written as a percentage as one), not a bare number.
func TestPageShowsThresholdValuesWithUnits(t *testing.T) {
	r := &report.Result{Thresholds: []report.Threshold{
		{Expr: "a.p95 < 200ms", OK: true, Value: 3.1, Unit: report.UnitMS},
		{Expr: "a.error_rate < 1%", Value: 0.5, Unit: report.UnitFraction},
	}}
	v := report.NewView(r)
	var got []string
	for _, th := range v.Thresholds {
		got = append(got, th.Shown)
	}
	if len(got) != 2 || got[0] != "3.1ms" || got[1] != "50%" {
		t.Errorf("the page shows %q, want [3.1ms 50%%]", got)
	}
}
