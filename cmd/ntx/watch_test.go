package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/ntx-dev/ntx/engine/target"
)

// watchedRun starts `ntx exec` in-process with extra flags on a 3-second
// run of GETs to /delay/5, and returns its stderr and a channel that
// yields its exit code.
func watchedRun(t *testing.T, flags ...string) (*lockedBuffer, <-chan int, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "watched.yaml")
	src := `name: watched
load:
  user_lifetime: {mode: loop, iterations: 0}
  duration: 3s
actions:
  - {id: get, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/delay/5"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: get, next: [{task: end}]}
  - {id: end}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	out := filepath.Join(dir, "r.json")
	go func() {
		done <- run(append(append([]string{"exec", "--users", "3", "--out", out}, flags...), file), io.Discard, stderr)
	}()
	return stderr, done, out
}

// waitFor returns the first match of re in stderr, waiting up to 10 s.
func waitFor(t *testing.T, stderr *lockedBuffer, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m
		}
	}
	t.Fatalf("no %q in stderr:\n%s", re, stderr)
	return nil
}

func countSeen(srv *target.Server, path string) int {
	n := 0
	for _, s := range srv.Seen() {
		if s.Proto == "http" && s.Path == path {
			n++
		}
	}
	return n
}

// scrape reads the metrics in Prometheus' protobuf format, which carries
// the native histograms as well as the classic buckets.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	out := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if err != io.EOF {
				t.Fatalf("decoding the scrape: %v", err)
			}
			return out
		}
		out[mf.GetName()] = &mf
	}
}

// value is the counter of family name whose labels include want.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, *dto.Metric) {
	mf := mfs[name]
	if mf == nil {
		return -1, nil
	}
next:
	for _, m := range mf.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), m
		case m.Gauge != nil:
			return m.Gauge.GetValue(), m
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), m
		}
	}
	return -1, nil
}

// TestMetricsDuringRun scrapes --metrics while a run goes on and after
// it ends: the counters never run ahead of what the target received,
// and the final ones equal it; the latency histogram has classic and
// native buckets; no series is labelled by source address or URL.
func TestMetricsDuringRun(t *testing.T) {
	srv := startTarget(t)
	stderr, done, _ := watchedRun(t, "--metrics", "127.0.0.1:0", "--linger", "3s")
	url := waitFor(t, stderr, regexp.MustCompile(`metrics at (http://\S+/metrics)`))[1]

	// During the run: some calls counted, never more than the target saw.
	var during float64
	for deadline := time.Now().Add(10 * time.Second); during <= 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mfs := scrape(t, url)
		during, _ = value(mfs, "ntx_requests_total", map[string]string{"action": "get"})
		if seen := countSeen(srv, "/delay/5"); during > float64(seen) {
			t.Fatalf("ntx_requests_total %v ahead of the %d requests the target received", during, seen)
		}
		if active, _ := value(mfs, "ntx_active_users", nil); during > 0 && active != 3 {
			t.Errorf("ntx_active_users %v during the run, want 3", active)
		}
	}
	if during <= 0 {
		t.Fatal("no request counted during the run")
	}
	if strings.Contains(stderr.String(), "done ") {
		t.Log("the run ended before the scrape saw a count: the during-run check was weak")
	}

	// After the run, while it lingers: the final counts.
	waitFor(t, stderr, regexp.MustCompile(`serving the final state`))
	seen := countSeen(srv, "/delay/5")
	mfs := scrape(t, url)
	total, _ := value(mfs, "ntx_requests_total", map[string]string{"action": "get"})
	ok, _ := value(mfs, "ntx_responses_total", map[string]string{"action": "get", "code": "200"})
	n, h := value(mfs, "ntx_request_duration_seconds", map[string]string{"action": "get"})
	if int(total) != seen || int(ok) != seen || int(n) != seen {
		t.Errorf("final: requests %v, 200s %v, durations %v; the target received %d", total, ok, n, seen)
	}
	if iters, _ := value(mfs, "ntx_iterations_total", map[string]string{"result": "passed"}); int(iters) != seen {
		t.Errorf("ntx_iterations_total{result=passed} %v, want %d", iters, seen)
	}
	if h == nil || len(h.Histogram.Bucket) == 0 || h.Histogram.Schema == nil || len(h.Histogram.PositiveSpan) == 0 {
		t.Fatalf("ntx_request_duration_seconds lacks classic or native buckets: %v", h)
	}
	// 5 ms delays: every call is above 5 ms, so the 5 ms bucket holds none
	// of them and the 1 s bucket holds all.
	for _, b := range h.Histogram.Bucket {
		if b.GetUpperBound() == 0.005 && b.GetCumulativeCount() != 0 || b.GetUpperBound() == 1 && int(b.GetCumulativeCount()) != seen {
			t.Errorf("bucket le=%v holds %d of %d calls", b.GetUpperBound(), b.GetCumulativeCount(), seen)
		}
	}
	var native int64
	var delta int64
	for _, d := range h.Histogram.PositiveDelta {
		delta += d
		native += delta
	}
	if int(native) != seen {
		t.Errorf("native buckets hold %d calls, want %d", native, seen)
	}
	// Labels: action, kind, code, result only; never an address or a URL.
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if !map[string]bool{"action": true, "kind": true, "code": true, "result": true}[l.GetName()] {
					t.Errorf("%s has label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	// The text format, for humans and classic scrapers.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ntx_requests_total{action="get"} ` + strconv.Itoa(seen), `ntx_request_duration_seconds_bucket{action="get",le="0.01"}`, "ntx_dropped_arrivals_total 0", "ntx_bytes_received_total"} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("text exposition lacks %q", want)
		}
	}
	if code := <-done; code != exitPassed {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

// TestDashboardStreams: the live page is served, self-contained; its
// event stream sends the view at least twice during the run, and the
// last event ("end") is the final result's; the final report can be
// downloaded while the dashboard lingers.
func TestDashboardStreams(t *testing.T) {
	srv := startTarget(t)
	stderr, done, out := watchedRun(t, "--dashboard", "127.0.0.1:0", "--linger", "2s")
	base := waitFor(t, stderr, regexp.MustCompile(`dashboard at (http://\S+/)`))[1]

	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte(`data-live="events"`)) || bytes.Contains(page, []byte("src=")) || bytes.Contains(page, []byte("https://")) {
		t.Errorf("live page is not the self-contained report page following its events:\n%.400s", page)
	}

	resp, err = http.Get(base + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("events Content-Type %q", ct)
	}
	type view struct {
		Live    bool `json:"live"`
		Actions []struct {
			Name  string `json:"name"`
			Count int64  `json:"count"`
		} `json:"actions"`
		Series struct {
			T []float64 `json:"t"`
		} `json:"series"`
	}
	var updates []view
	var final *view
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	event := ""
	for sc.Scan() && final == nil {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var v view
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v); err != nil {
				t.Fatalf("event data: %v", err)
			}
			if event == "end" {
				final = &v
			} else {
				updates = append(updates, v)
			}
		}
	}
	if len(updates) < 2 || final == nil {
		t.Fatalf("%d updates and final %v", len(updates), final != nil)
	}
	if !updates[len(updates)-1].Live || final.Live {
		t.Errorf("live flags: last update %v, final %v", updates[len(updates)-1].Live, final.Live)
	}
	if code := <-done; code != exitPassed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Actions map[string]struct{ Count int64 } `json:"actions"`
		Series  []json.RawMessage                `json:"series"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(final.Actions) != 1 || final.Actions[0].Count != res.Actions["get"].Count || len(final.Series.T) != len(res.Series) ||
		int(final.Actions[0].Count) != countSeen(srv, "/delay/5") {
		t.Errorf("final event %+v (%d points), result %+v (%d points), target %d", final.Actions, len(final.Series.T), res.Actions, len(res.Series), countSeen(srv, "/delay/5"))
	}
}

// TestStartLagOfOpenModel: an open-model run says how late its arrivals
// started after their intended start, overall and per point, for every
// arrival that started; and the report charts it.
func TestStartLagOfOpenModel(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "open.yaml")
	src := `name: open
load:
  duration: 2s
actions:
  - {id: get, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/asset"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: get, next: [{task: end}]}
  - {id: end}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	if code, _, stderr := ntx(t, "exec", "-q", "--rate", "50/s", "--out", out, "--report", html, file); code != exitPassed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Arrivals struct{ Started int64 }          `json:"arrivals"`
		StartLag *struct{ Min, P99, Max float64 } `json:"start_lag_ms"`
		Series   []struct {
			Arrivals int64   `json:"arrivals"`
			LagMax   float64 `json:"start_lag_max_ms"`
		} `json:"series"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	var started int64
	for _, p := range res.Series {
		started += p.Arrivals
	}
	if res.StartLag == nil || res.StartLag.Min < 0 || res.StartLag.Max < res.StartLag.P99 || res.Arrivals.Started == 0 || started != res.Arrivals.Started {
		t.Errorf("start lag %+v; %d arrivals started, %d in the series", res.StartLag, res.Arrivals.Started, started)
	}
	page, _ := os.ReadFile(html)
	if !bytes.Contains(page, []byte(`"lag_max":[`)) || !bytes.Contains(page, []byte(`"start_lag":{`)) {
		t.Error("the report lacks the start lag")
	}
}
