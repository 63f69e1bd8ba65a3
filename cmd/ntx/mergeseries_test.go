package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine"
)

// TestMergedReportHasSeriesPerAction: two real segments of an open
// model with two actions, run side by side against the built-in target
// and merged by `ntx merge`. The merged result has each action's series
// and the start lags over time: per point, each action's calls and
// failures are the sums of the segments', its p50/p95/p99 those of the
// union of the segments' histograms of that second (decoded here from
// their JSON), and so is the start lags' p99. The merged report draws
// them (each action's chart over time, intended versus actual start),
// and `ntx report` of the merged JSON is the page `ntx merge` wrote.
func TestMergedReportHasSeriesPerAction(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two processes for a few seconds")
	}
	startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	src := `name: series
load:
  arrival: {rate: 60/s, duration: 3s, max_users: 1000}
actions:
  - {id: get, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/asset"}}
  - {id: slow, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/delay/3"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: get, next: [{task: t2}]}
  - {id: t2, action: slow, next: [{task: end}]}
  - {id: end}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ntxBinary(t) // built before the start time is chosen
	at := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	var parts []string
	var procs []*segmentProc
	for i := 0; i < 2; i++ {
		part := filepath.Join(dir, fmt.Sprintf("part%d.json", i))
		parts = append(parts, part)
		procs = append(procs, startSegment(t, i, 2, "-q", "--start-at", at, "--out", part, file))
	}
	for _, p := range procs {
		if code := p.wait(t, 60*time.Second); code != exitPassed {
			t.Fatalf("segment %d: exit %d\n%s%s", p.i, code, p.stdout.String(), p.stderr.String())
		}
	}
	merged, mhtml, again := filepath.Join(dir, "m.json"), filepath.Join(dir, "m.html"), filepath.Join(dir, "again.html")
	if code, stdout, stderr := ntx(t, "merge", "--out", merged, "--report", mhtml, parts[0], parts[1]); code != exitPassed {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := ntx(t, "report", merged, "--html", again); code != exitPassed {
		t.Fatalf("ntx report: exit %d\n%s", code, stderr)
	}
	page, err := os.ReadFile(mhtml)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(again); err != nil || !bytes.Equal(page, b) {
		t.Errorf("ntx report of the merged JSON differs from the page ntx merge wrote (%d and %d bytes, %v)", len(page), len(b), err)
	}

	m, err := readResult(merged)
	if err != nil {
		t.Fatal(err)
	}
	p0, err := readResult(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	p1, err := readResult(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Warnings) > 0 {
		t.Errorf("warnings: %q", m.Warnings)
	}
	n := max(len(p0.Series), len(p1.Series))
	if n < 3 || len(m.Series) != n {
		t.Fatalf("the parts have %d and %d points, the merge %d", len(p0.Series), len(p1.Series), len(m.Series))
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
	ms := func(h *hdrhistogram.Histogram, q float64) float64 {
		return float64(h.ValueAtQuantile(q)) / 1000
	}
	var calls, arrivals int64
	for i, pt := range m.Series {
		for _, name := range []string{"get", "slow"} {
			var req, errs int64
			var encs []string
			for _, p := range []*engine.Result{p0, p1} {
				if i < len(p.Series) {
					req += p.Series[i].Actions[name].Requests
					errs += p.Series[i].Actions[name].Errors
					if p.Series[i].Actions[name].Requests > 0 {
						encs = append(encs, p.HDR.ActionSeconds[name][i])
					}
				}
			}
			got := pt.Actions[name]
			calls += got.Requests
			h := union(encs...)
			if got.Requests != req || got.Errors != errs || h.TotalCount() != req-errs {
				t.Errorf("point %d %s: merged %d calls, %d failed; the segments %d and %d, their histograms %d", i, name, got.Requests, got.Errors, req, errs, h.TotalCount())
			}
			if req > 0 && (got.P50 != ms(h, 50) || got.P95 != ms(h, 95) || got.P99 != ms(h, 99)) {
				t.Errorf("point %d %s: merged p50/p95/p99 %v/%v/%v, the union's %v/%v/%v", i, name, got.P50, got.P95, got.P99, ms(h, 50), ms(h, 95), ms(h, 99))
			}
		}
		var arr int64
		var encs []string
		for _, p := range []*engine.Result{p0, p1} {
			if i < len(p.Series) {
				arr += p.Series[i].Arrivals
				encs = append(encs, p.HDR.LagSeconds[i])
			}
		}
		arrivals += pt.Arrivals
		if h := union(encs...); pt.Arrivals != arr || h.TotalCount() != arr || (arr > 0 && pt.LagP99 != ms(h, 99)) {
			t.Errorf("point %d: %d arrivals, late p99 %v; the segments %d, the union's %v", i, pt.Arrivals, pt.LagP99, arr, ms(h, 99))
		}
	}
	if calls != m.Actions["get"].Count+m.Actions["slow"].Count || arrivals != m.Arrivals.Started || arrivals != 180 {
		t.Errorf("the series count %d calls and %d arrivals; the result %d calls and %+v", calls, arrivals, m.Actions["get"].Count+m.Actions["slow"].Count, m.Arrivals)
	}

	// The page's data: each action has its series over time, and the
	// start lags theirs.
	data := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindSubmatch(page)
	if data == nil {
		t.Fatal("no data in the page")
	}
	var view struct {
		Series struct {
			LagP99 []*float64 `json:"lag_p99"`
		} `json:"series"`
		Actions []struct {
			Name string `json:"name"`
			Over *struct {
				P95 []*float64 `json:"p95"`
			} `json:"over"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(data[1], &view); err != nil {
		t.Fatal(err)
	}
	if len(view.Series.LagP99) != n || view.Series.LagP99[0] == nil {
		t.Errorf("the page's start lags over time: %v", view.Series.LagP99)
	}
	if len(view.Actions) != 2 {
		t.Fatalf("the page has %d actions", len(view.Actions))
	}
	for _, a := range view.Actions {
		if a.Over == nil || len(a.Over.P95) != n || a.Over.P95[0] == nil {
			t.Errorf("the page has no series over time for %s", a.Name)
		}
	}
}
