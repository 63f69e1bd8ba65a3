package metrics

import (
	"math"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// Histogram bounds: 1 µs to 1 hour at 3 significant figures.
const (
	histMin  = 1
	histMax  = int64(time.Hour / time.Microsecond)
	histSigs = 3
)

// newHistogram returns a latency histogram in microseconds.
func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigs) }

// newPacked returns a latency histogram in microseconds that takes memory
// by the buckets it uses: a few kilobytes for a typical latency
// distribution against the dense form's 190 KB, which matters with a
// thousand names measured.
func newPacked() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(histMin, histMax, histSigs)
}

// dist is a latency distribution: an HDR histogram for the percentiles,
// and beside it the exact count, sum and extremes. A histogram only knows
// values to its precision (3 significant figures), and answers a
// percentile with the top of the value's bucket; alone, it would report a
// p50 above the maximum and a mean below the minimum. The histogram
// is made on the first value: a run may measure a thousand names, most
// of which never fail or are never timed by phase. dist is
// not safe for concurrent use: its owner locks it.
type dist struct {
	h        *hdrhistogram.PackedHistogram
	n        int64
	sum      float64 // nanoseconds
	min, max time.Duration
}

func newDist() *dist { return &dist{} }

// record adds one latency.
func (d *dist) record(l time.Duration) {
	l = max(l, 0)
	if d.h == nil {
		d.h = newPacked()
	}
	// Zero stays zero (not the first microsecond): a phase a reused
	// connection skips must read 0 at every percentile.
	_ = d.h.RecordValue(min(l.Microseconds(), histMax))
	if d.n == 0 || l < d.min {
		d.min = l
	}
	if d.n == 0 || l > d.max {
		d.max = l
	}
	d.n++
	d.sum += float64(l)
}

// recordZeros adds n latencies of 0: what n calls of record(0) do, at
// the cost of one.
func (d *dist) recordZeros(n int64) {
	if d.h == nil {
		d.h = newPacked()
	}
	_ = d.h.RecordValues(0, n)
	if d.n == 0 || d.min > 0 {
		d.min = 0
	}
	if d.n == 0 {
		d.max = 0
	}
	d.n += n
}

// merge adds everything o recorded.
func (d *dist) merge(o *dist) {
	if o.n == 0 {
		return
	}
	if d.h == nil {
		d.h = newPacked()
	}
	d.h.Merge(o.h)
	if d.n == 0 || o.min < d.min {
		d.min = o.min
	}
	if d.n == 0 || o.max > d.max {
		d.max = o.max
	}
	d.n += o.n
	d.sum += o.sum
}

func (d *dist) reset() {
	if d.h != nil {
		d.h.Reset()
	}
	d.n, d.sum, d.min, d.max = 0, 0, 0, 0
}

// quantile is the latency at q percent, in milliseconds, within the
// exact [min, max].
func (d *dist) quantile(q float64) float64 {
	if d.n == 0 {
		return 0
	}
	v := float64(d.h.ValueAtPercentile(q)) / 1000
	return math.Min(math.Max(v, ms(d.min)), ms(d.max))
}

// mean is the exact mean, in milliseconds.
func (d *dist) mean() float64 {
	if d.n == 0 {
		return 0
	}
	return d.sum / float64(d.n) / 1e6
}

// summary is the distribution in the report's terms.
func (d *dist) summary() report.Latency {
	if d.n == 0 {
		return report.Latency{}
	}
	return report.Latency{
		Min: round3(ms(d.min)), Mean: round3(d.mean()), Max: round3(ms(d.max)),
		P50: round3(d.quantile(50)), P90: round3(d.quantile(90)), P95: round3(d.quantile(95)),
		P99: round3(d.quantile(99)), P999: round3(d.quantile(99.9)),
	}
}

// encode is the histogram in HdrHistogram's compressed base64 form
// (V2), values in microseconds, for merging results later; "" when
// empty.
func (d *dist) encode() string {
	if d.n == 0 {
		return ""
	}
	return encodePacked(d.h)
}

// secondSigs is the precision of the histograms kept per action and per
// second (and of the start lags per second) so that the series of
// segments can be merged (spec §9): a point of a chart needs 1%, and at 2
// significant figures a 10-minute run of 20 actions carries a third of
// the bytes it would at 3 (about 0.4 KB against 1 KB a histogram at 1,000
// calls a second).
const secondSigs = 2

// newSecondHistogram returns a histogram of one second's latencies, in
// microseconds, at secondSigs.
func newSecondHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, secondSigs)
}

var secondScratch = sync.Pool{New: func() any { return newSecondHistogram() }}

// encodeSecond is the histogram at secondSigs, encoded as encode does;
// "" when empty. Each bucket of d lies within one bucket of the coarser
// histogram (both have power-of-two bucket widths, aligned), so the
// coarse one is exactly what recording the values there would give.
func (d *dist) encodeSecond() string {
	if d.n == 0 {
		return ""
	}
	h := secondScratch.Get().(*hdrhistogram.Histogram)
	for v, n := range d.h.ForEachBucket {
		_ = h.RecordValues(v, n)
	}
	s := encodeHistogram(h)
	h.Reset()
	secondScratch.Put(h)
	return s
}

// ms is a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// round3 rounds milliseconds to the microsecond, the resolution measured.
// Rounding is monotonic, so rounded percentiles stay within the rounded
// [min, max].
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
