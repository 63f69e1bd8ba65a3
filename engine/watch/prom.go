// Package watch shows a run while it goes on (spec §10): Prometheus
// metrics at /metrics (--metrics) and a live dashboard (--dashboard).
//
// Both are fed the run's result so far, once a second (the runtime's
// Snapshot hook): nothing here sits on the users' hot path, and a scrape
// or a page view never takes a lock the users take.
package watch

import (
	"math"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// nativeSchema is the resolution of the native histograms: schema 3
// buckets grow by 2^(1/8), about 9% each, finer than any classic layout.
const nativeSchema = 3

// classicBuckets are the classic histogram's upper bounds, in seconds.
var classicBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Metrics is the Prometheus view of a run. Update gives it the result so
// far; a scrape reads the latest one. Every series is labelled by action
// (a measured name, bounded by --max-names: later names are counted as
// "(other)"), and by segment in a fleet; never by source address or URL.
type Metrics struct {
	latest   atomic.Pointer[report.Result]
	segment  string
	reg      *prometheus.Registry
	requests *prometheus.Desc
	errors   *prometheus.Desc
	codes    *prometheus.Desc
	duration *prometheus.Desc
	sent     *prometheus.Desc
	received *prometheus.Desc
	active   *prometheus.Desc
	iters    *prometheus.Desc
	dropped  *prometheus.Desc
}

// NewMetrics returns the metrics of a run; segment, when not empty,
// labels every series ("1/4").
func NewMetrics(segment string) *Metrics {
	m := &Metrics{segment: segment, reg: prometheus.NewRegistry()}
	var constLabels prometheus.Labels
	if segment != "" {
		constLabels = prometheus.Labels{"segment": segment}
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, constLabels)
	}
	m.requests = d("ntx_requests_total", "Calls made, per action.", "action")
	m.errors = d("ntx_errors_total", "Failed calls, per action and error kind.", "action", "kind")
	m.codes = d("ntx_responses_total", "HTTP responses, per action and status code.", "action", "code")
	m.duration = d("ntx_request_duration_seconds", "Latency of successful calls, per action (from HDR histograms at microsecond resolution).", "action")
	m.sent = d("ntx_bytes_sent_total", "Bytes sent on the socket, per action.", "action")
	m.received = d("ntx_bytes_received_total", "Bytes received on the socket, per action.", "action")
	m.active = d("ntx_active_users", "Users running now.")
	m.iters = d("ntx_iterations_total", "Iterations finished, by result (passed or failed).", "result")
	m.dropped = d("ntx_dropped_arrivals_total", "Arrivals of the open model that were due and not started.")
	m.reg.MustRegister(m)
	return m
}

// Update makes r the result the next scrape reports. It is cheap: the
// work happens at scrape time, once per scrape.
func (m *Metrics) Update(r *report.Result) { m.latest.Store(r) }

// Handler serves the metrics in Prometheus' exposition formats (text,
// and protobuf with the native histograms for a scraper that asks).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.requests, m.errors, m.codes, m.duration, m.sent, m.received, m.active, m.iters, m.dropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the latest result as metrics.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	r := m.latest.Load()
	if r == nil {
		r = &report.Result{}
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for name, a := range r.Actions {
		counter(m.requests, float64(a.Count), name)
		counter(m.sent, float64(a.BytesSent), name)
		counter(m.received, float64(a.BytesReceived), name)
		for kind, n := range a.Errors {
			counter(m.errors, float64(n), name, kind)
		}
		for code, n := range a.StatusCodes {
			counter(m.codes, float64(n), name, code)
		}
		var enc string
		if r.HDR != nil {
			enc = r.HDR.Actions[name]
		}
		if h := histogram(m.duration, enc, a, name); h != nil {
			ch <- h
		}
	}
	var active int64
	if n := len(r.Series); n > 0 {
		active = r.Series[n-1].Active
	}
	ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, float64(active))
	counter(m.iters, float64(r.Iterations.Passed), "passed")
	counter(m.iters, float64(r.Iterations.Failed), "failed")
	var dropped int64
	if r.Arrivals != nil {
		dropped = r.Arrivals.Dropped
	}
	counter(m.dropped, float64(dropped))
}

// histogram is an action's latency as a Prometheus histogram with both
// classic buckets and native (sparse, exponential) ones, computed from
// its HDR histogram; nil when it has none.
func histogram(desc *prometheus.Desc, enc string, a *report.Action, name string) prometheus.Metric {
	if enc == "" {
		return nil
	}
	h, err := hdrhistogram.Decode([]byte(enc))
	if err != nil {
		return nil
	}
	classic := make(map[float64]uint64, len(classicBuckets))
	native := map[int]int64{}
	var count uint64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		// A bucket's values are From..To microseconds; its top decides
		// where it counts, as an HDR percentile does.
		secs := float64(b.To) / 1e6
		count += uint64(b.Count)
		for _, le := range classicBuckets {
			if secs <= le {
				classic[le] += uint64(b.Count)
			}
		}
		native[nativeIndex(secs)] += b.Count
	}
	// The exact sum, from the exact mean.
	sum := a.Latency.Mean / 1000 * float64(count)
	base, err := prometheus.NewConstHistogram(desc, count, sum, classic, name)
	if err != nil {
		return nil
	}
	return &dualHistogram{Metric: base, native: native}
}

// nativeIndex is the native histogram bucket of v > 0: bucket i holds
// (2^((i-1)/2^schema), 2^(i/2^schema)].
func nativeIndex(v float64) int {
	return int(math.Ceil(math.Log2(v) * (1 << nativeSchema)))
}

// dualHistogram is a classic histogram with its native buckets added, so
// that one series carries both (a scraper takes what it supports).
type dualHistogram struct {
	prometheus.Metric
	native map[int]int64
}

func (d *dualHistogram) Write(out *dto.Metric) error {
	if err := d.Metric.Write(out); err != nil {
		return err
	}
	h := out.Histogram
	schema, zero := int32(nativeSchema), 0.0
	h.Schema, h.ZeroThreshold = &schema, &zero
	var zeroCount uint64
	h.ZeroCount = &zeroCount
	idx := make([]int, 0, len(d.native))
	for i := range d.native {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	// Spans of consecutive buckets; deltas from one bucket's count to
	// the next, as the format wants.
	var prev int64
	for k, i := range idx {
		if k == 0 || i != idx[k-1]+1 {
			offset := int32(i)
			if k > 0 {
				offset = int32(i - idx[k-1] - 1)
			}
			h.PositiveSpan = append(h.PositiveSpan, &dto.BucketSpan{Offset: &offset, Length: new(uint32)})
		}
		*h.PositiveSpan[len(h.PositiveSpan)-1].Length++
		h.PositiveDelta = append(h.PositiveDelta, d.native[i]-prev)
		prev = d.native[i]
	}
	return nil
}
