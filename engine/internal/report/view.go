package report

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The bounds that keep a report small whatever the run was: a 10-minute
// run with 20 actions renders to a few hundred KB.
const (
	// MaxTableRows is how many rows a per-address table shows; the
	// rest are counted ("and 1,234 more").
	MaxTableRows = 500
	// chartActions is how many actions (the busiest) get latency charts
	// over time of their own.
	chartActions = 20
	// binsPerDecade is the resolution of the latency distribution's
	// log-scale bins.
	binsPerDecade = 20
)

// num is a number in the view: rounded to what a chart or a table can
// show, and null when there is none (an action without calls that
// second), so that lines have gaps rather than false zeros.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, math.Round(v*1000)/1000, 'f', -1, 64), nil
}

// View is what the report page draws, computed from a Result: the page's
// script renders it, the same way in a saved report and in the live
// dashboard. Its JSON is the page's data, so field names are short.
type View struct {
	Scenario   string  `json:"scenario"`
	Started    string  `json:"started"`
	DurationMS float64 `json:"duration_ms"`
	Passed     bool    `json:"passed"`
	Live       bool    `json:"live,omitempty"`
	// LiveReport is where the live dashboard offers the final report.
	LiveReport  string            `json:"live_report,omitempty"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Incomplete  bool              `json:"incomplete,omitempty"`
	Segment     string            `json:"segment,omitempty"`
	Fleet       *Fleet            `json:"fleet,omitempty"`
	Reasons     []Reason          `json:"reasons"`
	Warnings    []string          `json:"warnings"`
	Users       Users             `json:"users"`
	Iterations  Iterations        `json:"iterations"`
	Arrivals    *Arrivals         `json:"arrivals"`
	HTTP        *Latency          `json:"http"`
	StartLag    *Latency          `json:"start_lag"`
	Thresholds  []thresholdView   `json:"thresholds"`
	Series      seriesView        `json:"series"`
	Actions     []actionView      `json:"actions"`
	Errors      []errorView       `json:"errors"`
	Sources     [][3]any          `json:"sources"` // address, requests, errors; the busiest first
	SourcesMore int               `json:"sources_more"`
	Pools       [][5]any          `json:"pools"` // id, size, peak allocated, waits, exhausted
	Checks      map[string]*Check `json:"checks"`
	Flows       map[string]*Flow  `json:"flows"`
	Failures    map[string]int64  `json:"failures"`
	Phases      []string          `json:"phases"`
}

type seriesView struct {
	T      []num `json:"t"`
	RPS    []num `json:"rps"`
	EPS    []num `json:"eps"`
	Active []num `json:"active"`
	P50    []num `json:"p50"`
	P95    []num `json:"p95"`
	P99    []num `json:"p99"`
	// The open model: arrivals started per second, and how late (ms).
	Arr    []num `json:"arr,omitempty"`
	LagP99 []num `json:"lag_p99,omitempty"`
	LagMax []num `json:"lag_max,omitempty"`
}

type actionView struct {
	Name    string             `json:"name"`
	Kind    string             `json:"kind"`
	Count   int64              `json:"count"`
	OK      int64              `json:"ok"`
	Failed  int64              `json:"failed"`
	Sent    int64              `json:"sent"`
	Recv    int64              `json:"recv"`
	Lat     Latency            `json:"lat"`
	FLat    *Latency           `json:"flat"`
	Errors  map[string]int64   `json:"errors"`
	Status  map[string]int64   `json:"status"`
	Timings map[string]Latency `json:"timings"`
	// Dist is the distribution of successful latencies in log-scale
	// bins: bin i holds values from 10^((K0+i)/binsPerDecade) µs up to
	// the next bin's start.
	Dist *distView `json:"dist"`
	// Over time, aligned with the run's series; nil when the result has
	// no series for the action.
	Over *actionSeries `json:"over"`
}

type distView struct {
	K0     int     `json:"k0"`
	Per    int     `json:"per"`
	Counts []int64 `json:"c"`
}

type actionSeries struct {
	RPS []num `json:"rps"`
	EPS []num `json:"eps"`
	P50 []num `json:"p50"`
	P95 []num `json:"p95"`
	P99 []num `json:"p99"`
}

type errorView struct {
	Action  string `json:"action"`
	Kind    string `json:"kind"`
	Count   int64  `json:"count"`
	Message string `json:"message"`
}

// NewView computes what the report of r shows.
func NewView(r *Result) *View {
	v := &View{Scenario: r.Scenario, Started: r.StartedAt.Format(time.RFC3339), DurationMS: r.DurationMS,
		Passed: r.Passed, Interrupted: r.Interrupted, Incomplete: r.Incomplete, Segment: r.Segment, Fleet: r.Fleet,
		Reasons: r.Reasons, Warnings: r.Warnings, Users: r.Users, Iterations: r.Iterations, Arrivals: r.Arrivals,
		HTTP: r.HTTP, StartLag: r.StartLag, Thresholds: []thresholdView{}, Checks: r.Checks, Flows: r.Flows, Failures: r.Iterations.Failures,
		Phases: []string{"dns", "connect", "tls", "send", "wait", "receive"}}
	if v.Reasons == nil {
		v.Reasons = []Reason{}
	}
	for _, t := range r.Thresholds {
		v.Thresholds = append(v.Thresholds, thresholdView{t, t.shownValue()})
	}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	// Lists are never null in the page's data: the script reads them
	// without checking, so a run without errors must not break it.
	v.Actions, v.Errors = []actionView{}, []errorView{}
	v.series(r)

	names := sortedKeys(r.Actions)
	// The busiest actions first: they are what a reader looks for.
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(r.Actions[b].Count, r.Actions[a].Count) })
	for i, name := range names {
		a := r.Actions[name]
		av := actionView{Name: name, Kind: a.Kind, Count: a.Count, OK: a.OK, Failed: a.Failed, Sent: a.BytesSent,
			Recv: a.BytesReceived, Lat: a.Latency, FLat: a.FailedLatency, Errors: a.Errors, Status: a.StatusCodes, Timings: a.Timings}
		if r.HDR != nil {
			av.Dist = distribution(r.HDR.Actions[name])
		}
		if i < chartActions {
			av.Over = actionOver(r, name)
		}
		v.Actions = append(v.Actions, av)
		for _, kind := range sortedKeys(a.Errors) {
			v.Errors = append(v.Errors, errorView{Action: name, Kind: kind, Count: a.Errors[kind], Message: r.Errors[name+" "+kind]})
		}
	}
	slices.SortStableFunc(v.Errors, func(a, b errorView) int { return cmp.Compare(b.Count, a.Count) })

	addrs := sortedAddrs(r.SourceIPs)
	slices.SortStableFunc(addrs, func(a, b string) int { return cmp.Compare(r.SourceIPs[b].Requests, r.SourceIPs[a].Requests) })
	if len(addrs) > MaxTableRows {
		v.SourcesMore = len(addrs) - MaxTableRows
		addrs = addrs[:MaxTableRows]
	}
	v.Sources = [][3]any{}
	for _, a := range addrs {
		s := r.SourceIPs[a]
		v.Sources = append(v.Sources, [3]any{a, s.Requests, s.Errors})
	}
	v.Pools = [][5]any{}
	for _, id := range sortedKeys(r.Pools) {
		p := r.Pools[id]
		v.Pools = append(v.Pools, [5]any{id, p.Size, p.PeakAllocated, p.Waits, p.Exhausted})
	}
	return v
}

// series is the run's time series as rates: errors per second over the
// time each point covered, as the requests' rate already is.
func (v *View) series(r *Result) {
	s := &v.Series
	prev := 0.0
	for _, p := range r.Series {
		s.T = append(s.T, num(p.T))
		s.RPS = append(s.RPS, num(p.RPS))
		eps, span := 0.0, p.T-prev
		if span > 0 {
			eps = float64(p.Errors) / span
		}
		prev = p.T
		s.EPS = append(s.EPS, num(eps))
		s.Active = append(s.Active, num(p.Active))
		s.P50, s.P95, s.P99 = append(s.P50, gap(p.P50, p.Requests-p.Errors)), append(s.P95, gap(p.P95, p.Requests-p.Errors)), append(s.P99, gap(p.P99, p.Requests-p.Errors))
		if r.StartLag != nil {
			s.Arr = append(s.Arr, num(float64(p.Arrivals)/max(span, 1e-9)))
			s.LagP99, s.LagMax = append(s.LagP99, gap(p.LagP99, p.Arrivals)), append(s.LagMax, gap(p.LagMax, p.Arrivals))
		}
	}
}

// gap is v, or no value when nothing succeeded in the interval.
func gap(v float64, ok int64) num {
	if ok <= 0 {
		return num(math.NaN())
	}
	return num(v)
}

// actionOver is one action's series, aligned with the run's; nil when
// the result has none for it (an older result, or a name beyond
// SeriesNames).
func actionOver(r *Result, name string) *actionSeries {
	var o actionSeries
	found := false
	prev := 0.0
	for _, p := range r.Series {
		ap, ok := p.Actions[name]
		found = found || ok
		span := p.T - prev
		prev = p.T
		rps, eps := 0.0, 0.0
		if span > 0 {
			rps, eps = float64(ap.Requests)/span, float64(ap.Errors)/span
		}
		o.RPS, o.EPS = append(o.RPS, num(rps)), append(o.EPS, num(eps))
		n := ap.Requests - ap.Errors
		o.P50, o.P95, o.P99 = append(o.P50, gap(ap.P50, n)), append(o.P95, gap(ap.P95, n)), append(o.P99, gap(ap.P99, n))
	}
	if !found {
		return nil
	}
	return &o
}

// distribution decodes an action's histogram (HdrHistogram's compressed
// base64 form, microseconds) into log-scale bins; nil when there is none.
func distribution(enc string) *distView {
	if enc == "" {
		return nil
	}
	h, err := hdrhistogram.Decode([]byte(enc))
	if err != nil || h.TotalCount() == 0 {
		return nil
	}
	bins := map[int]int64{}
	lo, hi := math.MaxInt, math.MinInt
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		// A bucket's values are From..To; its middle decides the bin.
		mid := math.Max(float64(b.From+b.To)/2, 1)
		k := int(math.Floor(binsPerDecade * math.Log10(mid)))
		bins[k] += b.Count
		lo, hi = min(lo, k), max(hi, k)
	}
	d := &distView{K0: lo, Per: binsPerDecade, Counts: make([]int64, hi-lo+1)}
	for k, n := range bins {
		d.Counts[k-lo] = n
	}
	return d
}

// JSON is the view as the page's data: safe inside a <script> element,
// since encoding/json escapes <, > and &.
func (v *View) JSON() []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every field is plain data; this cannot happen.
		return []byte(`{"scenario":` + strconv.Quote(strings.ReplaceAll(err.Error(), "<", "")) + `}`)
	}
	return b
}

// thresholdView is a threshold as the page shows it: its value printed
// as the summary prints it (111.9ms, 50%), by the one rule in shownValue.
type thresholdView struct {
	Threshold
	Shown string `json:"shown"`
}
