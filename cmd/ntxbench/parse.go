package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// opt is a figure a tool may not report (h2load and Tsung give no
// percentiles): NaN when absent, null in JSON.
type opt float64

var none = opt(math.NaN())

func (o opt) ok() bool { return !math.IsNaN(float64(o)) }

// MarshalJSON writes null for a figure not reported.
func (o opt) MarshalJSON() ([]byte, error) {
	if !o.ok() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(o))
}

// UnmarshalJSON reads null as not reported.
func (o *opt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = none
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*o = opt(f)
	return err
}

// measured is what one run of a tool reports about itself, each figure
// as the tool computes it: requests/s over its own notion of the run's
// length, latency percentiles in milliseconds.
type measured struct {
	RPS      float64 `json:"rps"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P50      opt     `json:"p50_ms"`
	P99      opt     `json:"p99_ms"`
	Mean     opt     `json:"mean_ms"`
}

func newMeasured() measured { return measured{P50: none, P99: none, Mean: none} }

var errNoFigures = errors.New("no figures found in the output")

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f
}

// toMS converts a value with a unit as wrk and vegeta's text print it.
func toMS(v float64, unit string) float64 {
	switch unit {
	case "ns":
		return v / 1e6
	case "us", "µs":
		return v / 1e3
	case "ms", "":
		return v
	case "s":
		return v * 1e3
	case "m":
		return v * 60e3
	}
	return math.NaN()
}

var (
	wrkRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([\d.]+)`)
	wrkTotal    = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSockErrs = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's text report (run with --latency). Read errors
// are not counted as failures: with "Connection: close" wrk counts
// every server close as one.
func parseWrk(out string) (measured, error) {
	m := newMeasured()
	r := wrkRPS.FindStringSubmatch(out)
	if r == nil {
		return m, errNoFigures
	}
	m.RPS = atof(r[1])
	if t := wrkTotal.FindStringSubmatch(out); t != nil {
		m.Requests, _ = strconv.ParseInt(t[1], 10, 64)
	}
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		v := opt(toMS(atof(p[2]), p[3]))
		if p[1] == "50" {
			m.P50 = v
		} else {
			m.P99 = v
		}
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		n, _ := strconv.ParseInt(e[1], 10, 64)
		m.Errors += n
	}
	if e := wrkSockErrs.FindStringSubmatch(out); e != nil {
		for _, i := range []int{1, 3, 4} {
			n, _ := strconv.ParseInt(e[i], 10, 64)
			m.Errors += n
		}
	}
	return m, nil
}

// parseBombardier reads `bombardier -l -p r -o json`: latencies in µs.
func parseBombardier(out string) (measured, error) {
	m := newMeasured()
	var b struct {
		Result struct {
			TimeTaken                              float64 `json:"timeTakenSeconds"`
			Req1xx, Req2xx, Req3xx, Req4xx, Req5xx int64
			Others                                 int64 `json:"others"`
			Latency                                struct {
				Mean        float64            `json:"mean"`
				Percentiles map[string]float64 `json:"percentiles"`
			} `json:"latency"`
		} `json:"result"`
	}
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return m, errNoFigures
	}
	if err := json.Unmarshal([]byte(out[i:]), &b); err != nil {
		return m, fmt.Errorf("bombardier's JSON: %w", err)
	}
	r := b.Result
	ok := r.Req2xx + r.Req3xx
	m.Requests = ok + r.Req1xx + r.Req4xx + r.Req5xx + r.Others
	m.Errors = m.Requests - ok
	if r.TimeTaken <= 0 {
		return m, errNoFigures
	}
	m.RPS = float64(ok) / r.TimeTaken
	if v, found := r.Latency.Percentiles["50"]; found {
		m.P50 = opt(v / 1e3)
	}
	if v, found := r.Latency.Percentiles["99"]; found {
		m.P99 = opt(v / 1e3)
	}
	m.Mean = opt(r.Latency.Mean / 1e3)
	return m, nil
}

var (
	h2Finished = regexp.MustCompile(`finished in [\d.]+\w+, ([\d.]+) req/s`)
	h2Requests = regexp.MustCompile(`requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Status   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
	h2Mean     = regexp.MustCompile(`time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)`)
)

// parseH2load reads h2load's report: no percentiles, only a mean.
func parseH2load(out string) (measured, error) {
	m := newMeasured()
	f := h2Finished.FindStringSubmatch(out)
	r := h2Requests.FindStringSubmatch(out)
	if f == nil || r == nil {
		return m, errNoFigures
	}
	m.RPS = atof(f[1])
	m.Requests, _ = strconv.ParseInt(r[1], 10, 64)
	for _, i := range []int{3, 4, 5} {
		n, _ := strconv.ParseInt(r[i], 10, 64)
		m.Errors += n
	}
	if s := h2Status.FindStringSubmatch(out); s != nil {
		for _, i := range []int{3, 4} {
			n, _ := strconv.ParseInt(s[i], 10, 64)
			m.Errors += n
		}
	}
	if t := h2Mean.FindStringSubmatch(out); t != nil {
		m.Mean = opt(toMS(atof(t[1]), t[2]))
	}
	return m, nil
}

var (
	heyRPS    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	heyPct    = regexp.MustCompile(`(\d+)% in ([\d.]+) secs`)
	heyAvg    = regexp.MustCompile(`Average:\s+([\d.]+) secs`)
	heyStatus = regexp.MustCompile(`\[(\d{3})\]\s+(\d+) responses`)
	heyErrors = regexp.MustCompile(`(?m)^\s+\[(\d+)\]\s+\D`)
)

// parseHey reads hey's text summary.
func parseHey(out string) (measured, error) {
	m := newMeasured()
	r := heyRPS.FindStringSubmatch(out)
	if r == nil {
		return m, errNoFigures
	}
	m.RPS = atof(r[1])
	for _, p := range heyPct.FindAllStringSubmatch(out, -1) {
		switch p[1] {
		case "50":
			m.P50 = opt(atof(p[2]) * 1e3)
		case "99":
			m.P99 = opt(atof(p[2]) * 1e3)
		}
	}
	if a := heyAvg.FindStringSubmatch(out); a != nil {
		m.Mean = opt(atof(a[1]) * 1e3)
	}
	for _, s := range heyStatus.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.ParseInt(s[2], 10, 64)
		m.Requests += n
		if s[1][0] != '2' && s[1][0] != '3' {
			m.Errors += n
		}
	}
	if i := strings.Index(out, "Error distribution:"); i >= 0 {
		for _, e := range heyErrors.FindAllStringSubmatch(out[i:], -1) {
			n, _ := strconv.ParseInt(e[1], 10, 64)
			m.Errors += n
			m.Requests += n
		}
	}
	return m, nil
}

// parseVegeta reads `vegeta report -type=json`: latencies in ns;
// throughput is successful requests per second.
func parseVegeta(out string) (measured, error) {
	m := newMeasured()
	var v struct {
		Latencies struct {
			Mean float64 `json:"mean"`
			P50  float64 `json:"50th"`
			P99  float64 `json:"99th"`
		} `json:"latencies"`
		Requests   int64   `json:"requests"`
		Throughput float64 `json:"throughput"`
		Success    float64 `json:"success"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return m, fmt.Errorf("vegeta's JSON report: %w", err)
	}
	if v.Requests == 0 {
		return m, errNoFigures
	}
	m.RPS, m.Requests = v.Throughput, v.Requests
	m.Errors = v.Requests - int64(math.Round(v.Success*float64(v.Requests)))
	m.P50, m.P99, m.Mean = opt(v.Latencies.P50/1e6), opt(v.Latencies.P99/1e6), opt(v.Latencies.Mean/1e6)
	return m, nil
}

// parseAutocannon reads `autocannon -j`: latencies in ms, the run's
// length in seconds.
func parseAutocannon(out string) (measured, error) {
	m := newMeasured()
	var a struct {
		Duration float64 `json:"duration"`
		Errors   int64   `json:"errors"`
		Timeouts int64   `json:"timeouts"`
		Non2xx   int64   `json:"non2xx"`
		Latency  struct {
			Mean float64 `json:"mean"`
			P50  float64 `json:"p50"`
			P99  float64 `json:"p99"`
		} `json:"latency"`
		Requests struct {
			Total int64 `json:"total"`
		} `json:"requests"`
	}
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return m, errNoFigures
	}
	if err := json.Unmarshal([]byte(out[i:]), &a); err != nil {
		return m, fmt.Errorf("autocannon's JSON: %w", err)
	}
	if a.Duration <= 0 {
		return m, errNoFigures
	}
	m.Requests = a.Requests.Total
	m.Errors = a.Errors + a.Timeouts + a.Non2xx
	m.RPS = float64(m.Requests-a.Non2xx) / a.Duration
	m.P50, m.P99, m.Mean = opt(a.Latency.P50), opt(a.Latency.P99), opt(a.Latency.Mean)
	return m, nil
}

// parseLocust reads the _stats.csv that --csv writes: its Aggregated
// row, latencies in ms (rounded to whole milliseconds by Locust).
func parseLocust(stats string) (measured, error) {
	m := newMeasured()
	rows, err := csv.NewReader(strings.NewReader(stats)).ReadAll()
	if err != nil {
		return m, fmt.Errorf("locust's stats CSV: %w", err)
	}
	if len(rows) < 2 {
		return m, errNoFigures
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"Name", "Request Count", "Failure Count", "Requests/s", "50%", "99%", "Average Response Time"} {
		if _, ok := col[need]; !ok {
			return m, fmt.Errorf("locust's stats CSV has no %q column", need)
		}
	}
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) || r[col["Name"]] != "Aggregated" {
			continue
		}
		m.Requests, _ = strconv.ParseInt(r[col["Request Count"]], 10, 64)
		m.Errors, _ = strconv.ParseInt(r[col["Failure Count"]], 10, 64)
		if m.Requests == 0 {
			return m, errNoFigures
		}
		// Requests/s counts failures too; keep successes, like the others.
		m.RPS = atof(r[col["Requests/s"]]) * float64(m.Requests-m.Errors) / float64(m.Requests)
		m.P50, m.P99 = opt(atof(r[col["50%"]])), opt(atof(r[col["99%"]]))
		m.Mean = opt(atof(r[col["Average Response Time"]]))
		return m, nil
	}
	return m, errNoFigures
}

// parseArtillery reads the report `artillery run --output` writes: the
// rate is responses over the span from the first to the last counter.
func parseArtillery(report string) (measured, error) {
	m := newMeasured()
	var a struct {
		Aggregate struct {
			Counters       map[string]int64 `json:"counters"`
			FirstCounterAt float64          `json:"firstCounterAt"`
			LastCounterAt  float64          `json:"lastCounterAt"`
			Summaries      map[string]struct {
				P50  float64 `json:"p50"`
				P99  float64 `json:"p99"`
				Mean float64 `json:"mean"`
			} `json:"summaries"`
		} `json:"aggregate"`
	}
	if err := json.Unmarshal([]byte(report), &a); err != nil {
		return m, fmt.Errorf("artillery's report: %w", err)
	}
	c := a.Aggregate.Counters
	span := (a.Aggregate.LastCounterAt - a.Aggregate.FirstCounterAt) / 1e3
	if c["http.responses"] == 0 || span <= 0 {
		return m, errNoFigures
	}
	m.Requests = c["http.requests"]
	var ok int64
	for k, n := range c {
		if strings.HasPrefix(k, "http.codes.2") || strings.HasPrefix(k, "http.codes.3") {
			ok += n
		}
	}
	m.Errors = m.Requests - ok
	m.RPS = float64(ok) / span
	if s, found := a.Aggregate.Summaries["http.response_time"]; found {
		m.P50, m.P99, m.Mean = opt(s.P50), opt(s.P99), opt(s.Mean)
	}
	return m, nil
}

// parseTsung reads tsung.log: one block of "stats:" lines per 10 s
// dump, "request COUNT MEAN ..." with this dump's count and mean in ms.
// Tsung reports no percentiles. seconds is the load's duration (Tsung's
// log has no rate).
func parseTsung(log string, seconds float64) (measured, error) {
	m := newMeasured()
	var weighted float64
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] != "stats:" {
			continue
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		switch {
		case f[1] == "request":
			m.Requests += n
			weighted += float64(n) * atof(f[3])
		case len(f[1]) == 3 && f[1][0] >= '4' && f[1][0] <= '5':
			m.Errors += n
		case strings.HasPrefix(f[1], "error_") && f[1] != "error_abort":
			m.Errors += n
		}
	}
	if m.Requests == 0 || seconds <= 0 {
		return m, errNoFigures
	}
	m.RPS = float64(m.Requests-m.Errors) / seconds
	m.Mean = opt(weighted / float64(m.Requests))
	return m, nil
}

var (
	locustAgg = regexp.MustCompile(`(?m)^\s+Aggregated\s+(\d+)\s+(\d+)\([\d.]+%\)\s+\|\s+(\d+)\s+\d+\s+\d+\s+\d+\s+\|\s+([\d.]+)\s`)
	locustPct = regexp.MustCompile(`(?m)^\s+Aggregated((?:\s+(?:\d+|N/A)){12})\s*$`)
)

// parseLocustSummary reads the tables Locust prints when it stops (on
// stderr): the fallback when its stats CSV came out empty, as it does
// now and then when the run ends as the CSV is written.
func parseLocustSummary(out string) (measured, error) {
	m := newMeasured()
	a := locustAgg.FindStringSubmatch(out)
	if a == nil {
		return m, errNoFigures
	}
	m.Requests, _ = strconv.ParseInt(a[1], 10, 64)
	m.Errors, _ = strconv.ParseInt(a[2], 10, 64)
	m.Mean = opt(atof(a[3]))
	if m.Requests == 0 {
		return m, errNoFigures
	}
	m.RPS = atof(a[4]) * float64(m.Requests-m.Errors) / float64(m.Requests)
	if p := locustPct.FindStringSubmatch(out); p != nil {
		f := strings.Fields(p[1]) // 50% 66% 75% 80% 90% 95% 98% 99% 99.9% 99.99% 100% count
		if f[0] != "N/A" {
			m.P50 = opt(atof(f[0]))
		}
		if f[7] != "N/A" {
			m.P99 = opt(atof(f[7]))
		}
	}
	return m, nil
}

var sTime = regexp.MustCompile(`(\d+) connections in ([\d.]+) real seconds`)

// parseSTime reads the reports of any number of `openssl s_time -new`
// processes run side by side for seconds: their connections (each a
// full handshake and one GET) over that time. s_time's own "real
// seconds" are whole seconds, too coarse to divide by.
func parseSTime(out string, seconds float64) (measured, error) {
	m := newMeasured()
	for _, s := range sTime.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.ParseInt(s[1], 10, 64)
		m.Requests += n
	}
	if m.Requests == 0 || seconds <= 0 {
		return m, errNoFigures
	}
	m.RPS = float64(m.Requests) / seconds
	return m, nil
}

// parseNTX reads ntx's --out JSON: requests are the HTTP actions' calls
// that succeeded; p50/p99 are over every HTTP call.
func parseNTX(out string) (measured, error) {
	m := newMeasured()
	var r struct {
		DurationMS float64 `json:"duration_ms"`
		HTTP       *struct {
			Mean float64 `json:"mean"`
			P50  float64 `json:"p50"`
			P99  float64 `json:"p99"`
		} `json:"http"`
		Actions map[string]struct {
			Kind   string `json:"kind"`
			Count  int64  `json:"count"`
			OK     int64  `json:"ok"`
			Failed int64  `json:"failed"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return m, fmt.Errorf("ntx's result: %w", err)
	}
	var ok int64
	for _, a := range r.Actions {
		if a.Kind == "http" {
			m.Requests += a.Count
			m.Errors += a.Failed
			ok += a.OK
		}
	}
	if r.DurationMS <= 0 || m.Requests == 0 {
		return m, errNoFigures
	}
	m.RPS = float64(ok) / (r.DurationMS / 1e3)
	if r.HTTP != nil {
		m.P50, m.P99, m.Mean = opt(r.HTTP.P50), opt(r.HTTP.P99), opt(r.HTTP.Mean)
	}
	return m, nil
}
