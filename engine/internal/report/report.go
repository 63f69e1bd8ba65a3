// Package report is the result of a run (spec §6) and its two renderings:
// the JSON document written by --out and returned by the Go API, and the
// human summary printed at the end of a run.
package report

import (
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Result is everything a run reports.
type Result struct {
	Scenario   string     `json:"scenario"`
	StartedAt  time.Time  `json:"started_at"`
	DurationMS float64    `json:"duration_ms"`
	Users      Users      `json:"users"`
	Iterations Iterations `json:"iterations"`
	// Flows counts each flow of a user mix (spec §4.3) by its id; nil
	// for a scenario with one flow.
	Flows    map[string]*Flow `json:"flows,omitempty"`
	Arrivals *Arrivals        `json:"arrivals,omitempty"`
	// StartLag is how late the open model's arrivals started, from their
	// intended start to their user's beginning (latencies count from the
	// intended start, so this is the part of them that was ntx's delay).
	StartLag   *Latency             `json:"start_lag_ms,omitempty"`
	Actions    map[string]*Action   `json:"actions"`
	HTTP       *Latency             `json:"http,omitempty"`
	SourceIPs  map[string]*SourceIP `json:"source_ips"`
	Pools      map[string]*Pool     `json:"pools"`
	Checks     map[string]*Check    `json:"checks,omitempty"`
	Thresholds []Threshold          `json:"thresholds"`
	Series     []Point              `json:"series,omitempty"`
	Errors     map[string]string    `json:"error_samples,omitempty"`
	Warnings   []string             `json:"warnings,omitempty"`
	HDR        *HDR                 `json:"hdr,omitempty"`
	// Interrupted is true when a signal or an abort ended the run before
	// its planned end: the numbers cover what completed.
	Interrupted bool `json:"interrupted"`
	// Fleet is set on the merged result of a fleet's segments (spec §9);
	// Incomplete is true when some segment's result is missing from it.
	// Segment is set on the result of one segment of a fleet ("1/4").
	Segment    string `json:"segment,omitempty"`
	Fleet      *Fleet `json:"fleet,omitempty"`
	Incomplete bool   `json:"incomplete,omitempty"`
	// SetupError and TeardownError say why the scenario's setup or
	// teardown failed (spec §4.3); a failed setup means no load was sent.
	SetupError    string `json:"setup_error,omitempty"`
	TeardownError string `json:"teardown_error,omitempty"`
	// Passed is the verdict (spec §6.1); Reasons say why it is false,
	// most important first, and are empty when it is true.
	Passed  bool     `json:"passed"`
	Reasons []Reason `json:"reasons"`
}

// HDR holds the run's latency histograms in HdrHistogram's compressed
// base64 form (V2 encoding, values in microseconds), so that the results
// of several runs or machines can be merged exactly as histograms.
type HDR struct {
	Unit    string                       `json:"unit"`              // "us"
	Actions map[string]string            `json:"actions"`           // successful calls, per action
	Failed  map[string]string            `json:"failed,omitempty"`  // failed calls, per action
	Timings map[string]map[string]string `json:"timings,omitempty"` // per action, per HTTP phase
	HTTP    string                       `json:"http,omitempty"`    // every successful HTTP call
	Flows   map[string]string            `json:"flows,omitempty"`   // passed iterations, per flow of a user mix
	Lag     string                       `json:"lag,omitempty"`     // every arrival's start lag (open model)
	Seconds []string                     `json:"seconds,omitempty"` // one per point of the series ("" when it had no successful call)
	// ActionSeconds is, per action of the series (the first SeriesNames
	// names), one histogram of its successful calls per point of the
	// series; LagSeconds one of the open model's start lags per point.
	// With them a merge computes each point's percentiles exactly.
	ActionSeconds map[string][]string `json:"action_seconds,omitempty"`
	LagSeconds    []string            `json:"lag_seconds,omitempty"`
}

// Users counts the simulated users.
type Users struct {
	Spawned        int64            `json:"spawned"`
	Completed      int64            `json:"completed"`
	FailedToStart  int64            `json:"failed_to_start"`
	StartFailures  map[string]int64 `json:"start_failures,omitempty"`
	PeakConcurrent int64            `json:"peak_concurrent"`
}

// Iterations counts user iterations and why they failed.
type Iterations struct {
	Total    int64            `json:"total"`
	Passed   int64            `json:"passed"`
	Failed   int64            `json:"failed"`
	Failures map[string]int64 `json:"failures"`
}

// Flow is what one flow of a user mix did: the users that drew it (or
// were pinned to it), their iterations, and how long its passed
// iterations took.
type Flow struct {
	Weight     float64  `json:"weight"`
	Users      int64    `json:"users"`
	Iterations int64    `json:"iterations"`
	Passed     int64    `json:"passed"`
	Failed     int64    `json:"failed"`
	Duration   *Latency `json:"iteration_ms,omitempty"`
}

// Point is one interval (about a second) of the run's time series. RPS
// is of the time the interval actually covered; the latencies are of its
// successful calls.
type Point struct {
	T          float64 `json:"t"` // seconds since the start, at the end of the interval
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50_ms"`
	P95        float64 `json:"p95_ms"`
	P99        float64 `json:"p99_ms"`
	Active     int64   `json:"active_users"`
	Iterations int64   `json:"iterations"`
	// Actions is the interval per action, for the actions that made
	// calls in it (the first SeriesNames measured names only, so that a
	// result stays small whatever the scenario names).
	Actions map[string]ActionPoint `json:"actions,omitempty"`
	// The open model's arrivals that started in the interval, and how
	// late: the 99th percentile and the maximum of actual start minus
	// intended start, in milliseconds.
	Arrivals int64   `json:"arrivals,omitempty"`
	LagP99   float64 `json:"start_lag_p99_ms,omitempty"`
	LagMax   float64 `json:"start_lag_max_ms,omitempty"`
}

// SeriesNames is how many measured names get a time series of their own.
const SeriesNames = 50

// ActionPoint is one action's calls in one interval of the series: how
// many, how many failed, and the latency percentiles of the successful
// ones, in milliseconds.
type ActionPoint struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
}

// Arrivals counts the open model's arrivals.
type Arrivals struct {
	Planned int64 `json:"planned"`
	Started int64 `json:"started"`
	Dropped int64 `json:"dropped"`
}

// Action is what one action (or named call) did.
type Action struct {
	Kind          string           `json:"kind"`
	Count         int64            `json:"count"`
	OK            int64            `json:"ok"`
	Failed        int64            `json:"failed"`
	Errors        map[string]int64 `json:"errors"`
	StatusCodes   map[string]int64 `json:"status_codes,omitempty"`
	BytesSent     int64            `json:"bytes_sent"`
	BytesReceived int64            `json:"bytes_received"`
	// Latency is of the successful calls; FailedLatency of the failed
	// ones that got far enough to be timed, so that failures (often
	// instant) cannot pull the percentiles of the successes down.
	Latency       Latency            `json:"latency_ms"`
	FailedLatency *Latency           `json:"failed_latency_ms,omitempty"`
	Timings       map[string]Latency `json:"timings_ms,omitempty"` // HTTP phases: dns, connect, tls, send, wait, receive
}

// Latency summarises a latency distribution, in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// SourceIP counts the calls sent from one source address.
type SourceIP struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
}

// Pool is what one IP pool went through.
type Pool struct {
	Size          int   `json:"size"`
	PeakAllocated int   `json:"peak_allocated"`
	Waits         int64 `json:"waits"`
	Exhausted     int64 `json:"exhausted"`
}

// Check counts a named check's outcomes.
type Check struct {
	Passed int64 `json:"passed"`
	Failed int64 `json:"failed"`
}

// Threshold is one threshold's verdict.
type Threshold struct {
	Expr  string  `json:"expr"`
	OK    bool    `json:"ok"`
	Value float64 `json:"value"`
	// Unit is Value's unit: UnitMS, UnitFraction, UnitPerSecond or
	// UnitCount (whatever the expression's limit was written in).
	Unit  string `json:"unit,omitempty"`
	Error string `json:"error,omitempty"`
}

// The units of a threshold's value.
const (
	UnitMS        = "ms"         // a latency in milliseconds
	UnitFraction  = "fraction"   // a rate of errors: 0.5 is half
	UnitPerSecond = "per_second" // calls per second of the run
	UnitCount     = "count"      // a number of things
)

// shownValue is the threshold's value as the summary prints it, in the
// style of its expression: a latency with its unit (111.9ms, 1.25s), a
// rate of errors as a percentage when the limit is one (50%), a count as
// an integer. A result without units (an older file) prints the number.
func (t Threshold) shownValue() string {
	switch t.Unit {
	case UnitMS:
		return duration(t.Value)
	case UnitFraction:
		if strings.HasSuffix(strings.TrimSpace(t.Expr), "%") {
			return trimFloat(t.Value*100) + "%"
		}
	case UnitPerSecond:
		return trimFloat(t.Value) + "/s"
	case UnitCount:
		return strconv.FormatFloat(math.Round(t.Value), 'f', -1, 64)
	}
	return trimFloat(t.Value)
}

// duration prints milliseconds with a unit and about four significant
// digits: 0.25ms, 111.9ms, 1.25s, 95.3s.
func duration(ms float64) string {
	v, unit := ms, "ms"
	if ms >= 1000 {
		v, unit = ms/1000, "s"
	}
	digits := 3
	switch {
	case v >= 100:
		digits = 1
	case v >= 10:
		digits = 2
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + unit
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// JSON returns r as indented JSON.
func (r *Result) JSON() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}
