package metrics

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// tenMinutes records a 10-minute open-model run of 20 actions, 100 calls
// a second each with latencies over two orders of magnitude and 1% of
// them failed, and 2,000 arrivals a second, ticking the series every
// second as a run does.
func tenMinutes(seconds, actions, perSecond int) *Collector {
	c := New(Config{})
	rng := rand.New(rand.NewPCG(3, 4))
	for s := 0; s < seconds; s++ {
		for a := 0; a < actions; a++ {
			name := fmt.Sprintf("action-%02d", a)
			for k := 0; k < perSecond; k++ {
				lat := time.Duration(500*math.Exp(rng.NormFloat64()*0.8+float64(a%5))) * time.Microsecond
				ok := rng.IntN(100) != 0
				smp := &Sample{Name: name, Kind: "http", Latency: lat, OK: ok, Status: 200}
				if !ok {
					smp.ErrKind, smp.Status = KindStatus5xx, 503
				}
				c.Record(smp)
			}
		}
		for k := 0; k < actions*perSecond; k++ {
			c.StartLag(time.Duration(rng.ExpFloat64()*200) * time.Microsecond)
		}
		c.Tick(c.start.Add(time.Duration(s+1)*time.Second), s == seconds-1)
	}
	return c
}

// BenchmarkResultSize10Minutes is the size of the JSON result (as --out
// writes it) of a 10-minute run of 20 actions, at 100 and at 1,000 calls
// a second per action.
func BenchmarkResultSize10Minutes(b *testing.B) {
	for _, rate := range []int{100, 1000} {
		b.Run(fmt.Sprintf("%d/s", rate), func(b *testing.B) {
			c := tenMinutes(600, 20, rate)
			var n int
			for i := 0; i < b.N; i++ {
				var buf bytes.Buffer
				if err := c.Result("s").WriteJSON(&buf); err != nil {
					b.Fatal(err)
				}
				n = buf.Len()
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}

// TestMergeSeriesPerAction: the merge of segments' results has each
// action's series and the start lags over time: per point, the calls
// and failures are the sums of the parts', and the percentiles are those
// of the union of the parts' histograms of that second (decoded here
// from each part's JSON); the merged histograms are in the result, so a
// merged result merges again to the same series.
func TestMergeSeriesPerAction(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const seconds = 4
	var parts []*report.Result
	for seg := 0; seg < 2; seg++ {
		c := New(Config{})
		for s := 0; s < seconds; s++ {
			for k := 0; k < 300; k++ {
				name := []string{"get", "post", "late"}[k%3]
				if name == "late" && s < 2 {
					continue // an action that appears mid-run, in one segment's series only at first
				}
				lat := time.Duration(300*math.Exp(rng.NormFloat64()+float64(seg))) * time.Microsecond
				ok := rng.IntN(10) != 0
				smp := &Sample{Name: name, Kind: "http", Latency: lat, OK: ok, Status: 200}
				if !ok {
					smp.ErrKind, smp.Status = KindStatus5xx, 500
				}
				c.Record(smp)
				c.StartLag(time.Duration(rng.ExpFloat64()*float64(time.Millisecond)) * time.Duration(seg+1))
			}
			// The second segment's last interval is short: folded into
			// the point before, as at a run's end.
			end := c.start.Add(time.Duration(s+1) * time.Second)
			if seg == 1 && s == seconds-1 {
				end = c.start.Add(time.Duration(s)*time.Second + 200*time.Millisecond)
			}
			c.Tick(end, s == seconds-1)
		}
		parts = append(parts, roundTrip(t, c.Result("s")))
	}
	if len(parts[0].Series) != seconds || len(parts[1].Series) != seconds-1 {
		t.Fatalf("parts have %d and %d points", len(parts[0].Series), len(parts[1].Series))
	}
	m, err := Merge(parts, nil)
	if err != nil {
		t.Fatal(err)
	}
	m = roundTrip(t, m)
	if len(m.Warnings) != 0 {
		t.Errorf("warnings: %q", m.Warnings)
	}
	if len(m.Series) != seconds || len(m.HDR.LagSeconds) != seconds || len(m.HDR.ActionSeconds) != 3 {
		t.Fatalf("merged: %d points, %d lag histograms, per-action histograms of %d actions", len(m.Series), len(m.HDR.LagSeconds), len(m.HDR.ActionSeconds))
	}
	union := func(encs ...string) *hdrhistogram.Histogram {
		h := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)
		for _, e := range encs {
			if e == "" {
				continue
			}
			d, err := hdrhistogram.Decode([]byte(e))
			if err != nil {
				t.Fatal(err)
			}
			h.Merge(d)
		}
		return h
	}
	q := func(h *hdrhistogram.Histogram, p float64) float64 {
		return round3(float64(h.ValueAtQuantile(p)) / 1000)
	}
	for i, pt := range m.Series {
		for _, name := range []string{"get", "post", "late"} {
			var want report.ActionPoint
			var encs []string
			for _, p := range parts {
				if i < len(p.Series) {
					ap := p.Series[i].Actions[name]
					want.Requests += ap.Requests
					want.Errors += ap.Errors
					encs = append(encs, p.HDR.ActionSeconds[name][i])
				}
			}
			got, ok := pt.Actions[name]
			if want.Requests == 0 {
				if ok {
					t.Errorf("point %d: %s has %+v, the parts had no calls", i, name, got)
				}
				continue
			}
			h := union(encs...)
			if h.TotalCount() != want.Requests-want.Errors {
				t.Fatalf("point %d %s: the parts' histograms hold %d calls, their series %d successful ones", i, name, h.TotalCount(), want.Requests-want.Errors)
			}
			want.P50, want.P95, want.P99 = q(h, 50), q(h, 95), q(h, 99)
			if got != want {
				t.Errorf("point %d %s: merged %+v, want %+v", i, name, got, want)
			}
			if mh := union(m.HDR.ActionSeconds[name][i]); !mh.Equals(h) {
				t.Errorf("point %d %s: the merged histogram is not the union of the parts'", i, name)
			}
		}
		var arrivals int64
		var lagMax float64
		var encs []string
		for _, p := range parts {
			if i < len(p.Series) {
				arrivals += p.Series[i].Arrivals
				lagMax = max(lagMax, p.Series[i].LagMax)
				encs = append(encs, p.HDR.LagSeconds[i])
			}
		}
		h := union(encs...)
		if pt.Arrivals != arrivals || pt.LagMax != lagMax || pt.LagP99 != q(h, 99) || h.TotalCount() != arrivals {
			t.Errorf("point %d: arrivals %d, lag p99 %v, max %v; want %d, %v, %v (%d in the histograms)", i, pt.Arrivals, pt.LagP99, pt.LagMax, arrivals, q(h, 99), lagMax, h.TotalCount())
		}
	}
	// The start lags of the whole run, from the parts' full-precision
	// histograms.
	if h := union(parts[0].HDR.Lag, parts[1].HDR.Lag); m.StartLag == nil || h.TotalCount() != 2*(seconds-2)*300+2*2*200 ||
		m.StartLag.Max != max(parts[0].StartLag.Max, parts[1].StartLag.Max) || math.Abs(m.StartLag.P99-q(h, 99)) > 0.01*q(h, 99) {
		t.Errorf("merged start lag %+v; the parts' %+v and %+v", m.StartLag, parts[0].StartLag, parts[1].StartLag)
	}
	again, err := Merge([]*report.Result{m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again = roundTrip(t, again); !reflect.DeepEqual(again.Series, m.Series) || !reflect.DeepEqual(again.HDR.ActionSeconds, m.HDR.ActionSeconds) {
		t.Error("a merged result merged again has another series")
	}

	// A part of an older ntx, without per-second histograms: its counts
	// are added, no percentile is made up, and a warning says so.
	old := roundTrip(t, parts[1])
	old.HDR.ActionSeconds, old.HDR.LagSeconds = nil, nil
	w, err := Merge([]*report.Result{parts[0], old}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Warnings) != 1 || !strings.Contains(w.Warnings[0], "no per-second histograms") {
		t.Errorf("warnings %q", w.Warnings)
	}
	if ap := w.Series[0].Actions["get"]; ap.Requests != m.Series[0].Actions["get"].Requests || ap.P95 != 0 || w.Series[0].LagP99 != 0 {
		t.Errorf("with an old part: %+v, lag p99 %v", ap, w.Series[0].LagP99)
	}
}
