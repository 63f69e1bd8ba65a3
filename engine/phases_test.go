package engine_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
)

// TestTimingPhases: every HTTP action is timed in phases against the
// real target. dns is spent only where a name was resolved, tls only
// over https, connect only by a new connection (the kept-alive ones
// after it spend none), HTTP/2 as HTTP/1.1; the phases of a call fit in
// its latency; thresholds on a phase evaluate; the JSON has them.
func TestTimingPhases(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, nil)
	_, hport, _ := net.SplitHostPort(srv.HTTPAddr())
	_, sport, _ := net.SplitHostPort(srv.HTTPSAddr())
	file := writeFile(t, dir, "phases.yaml", `
name: phases
http:
  tls: {ca: certs/ca.pem}
  dns: {servers: ["`+srv.DNSAddr()+`"]}
load:
  ramp_up: {phases: [{spawn_users: 1}]}
  user_lifetime: {mode: loop, iterations: 4}
actions:
  - {id: plain, call: get, with: {url: "http://127.0.0.1:`+hport+`/ip"}}
  - {id: named, call: get, with: {url: "http://api.ntx.test:`+hport+`/ip", keep_alive: false}}
  - {id: secure, call: get, with: {url: "https://127.0.0.1:`+sport+`/ip", version: "1.1"}}
  - {id: h2, call: get, with: {url: "https://127.0.0.1:`+sport+`/ip", version: "2"}}
  - {id: slow, call: post, with: {url: "http://127.0.0.1:`+hport+`/delay/100", body: "x"}}
tasks:
  - {id: start, action: plain, next: [{task: b}]}
  - {id: b, action: named, next: [{task: c}]}
  - {id: c, action: secure, next: [{task: d}]}
  - {id: d, action: h2, next: [{task: e}]}
  - {id: e, action: slow}
thresholds:
  - "slow.wait.p95 > 90ms"
  - "slow.wait.p95 < 50ms"
  - "plain.connect.p50 == 0"
  - "secure.tls.max > 0"
`)
	res := runFile(t, file, nil)
	for _, id := range []string{"plain", "named", "secure", "h2", "slow"} {
		a := res.Actions[id]
		if a == nil || a.OK != 4 {
			t.Fatalf("%s = %+v (errors %v), want 4 ok", id, a, res.Errors)
		}
		if len(a.Timings) != 6 {
			t.Fatalf("%s: timings %v, want the 6 phases", id, a.Timings)
		}
		sum := 0.0
		for _, p := range []string{"dns", "connect", "tls", "send", "wait", "receive"} {
			l := a.Timings[p]
			if l.Min < 0 || l.P50 > l.Max || l.Mean > l.Max {
				t.Errorf("%s %s: %+v", id, p, l)
			}
			sum += l.Mean
		}
		// Each call's phases are parts of its latency.
		if sum > a.Latency.Mean*1.01+0.01 {
			t.Errorf("%s: the phases' means add up to %.3f ms, more than the mean latency %.3f ms", id, sum, a.Latency.Mean)
		}
		if a.Timings["wait"].Max <= 0 || a.Timings["send"].Max <= 0 {
			t.Errorf("%s: send %+v, wait %+v: both take time", id, a.Timings["send"], a.Timings["wait"])
		}
	}
	tm := func(id, phase string) (p50, max float64) {
		l := res.Actions[id].Timings[phase]
		return l.P50, l.Max
	}
	// A name was resolved only for named: no lookup for an address.
	for _, id := range []string{"plain", "secure", "h2", "slow"} {
		if _, m := tm(id, "dns"); m != 0 {
			t.Errorf("%s: dns max %v ms for an IP address, want 0", id, m)
		}
	}
	if _, m := tm("named", "dns"); m <= 0 {
		t.Errorf("named: dns max %v, want > 0: its first connection asked the target's DNS server", m)
	}
	// TLS only over https.
	for _, id := range []string{"plain", "named", "slow"} {
		if _, m := tm(id, "tls"); m != 0 {
			t.Errorf("%s: tls max %v ms over plain http, want 0", id, m)
		}
	}
	for _, id := range []string{"secure", "h2"} {
		if p50, m := tm(id, "tls"); m <= 0 || p50 != 0 {
			t.Errorf("%s: tls p50 %v max %v ms, want one handshake then reuse", id, p50, m)
		}
	}
	// One connection for 4 kept-alive calls: its first connects, the
	// others reuse it; keep_alive: false connects every time.
	for _, id := range []string{"plain", "secure", "h2"} {
		if p50, m := tm(id, "connect"); m <= 0 || p50 != 0 {
			t.Errorf("%s: connect p50 %v max %v ms, want one connect then reuse", id, p50, m)
		}
	}
	// slow goes where plain went: it reuses plain's connection each time.
	if _, m := tm("slow", "connect"); m != 0 {
		t.Errorf("slow: connect max %v ms, want 0: plain's kept-alive connection carried it", m)
	}
	if l := res.Actions["named"].Timings["connect"]; l.Min <= 0 {
		t.Errorf("named (keep_alive: false): connect %+v, want every call to connect", l)
	}
	if l := res.Actions["slow"].Timings["wait"]; l.Min < 90 {
		t.Errorf("slow: wait %+v, want at least the 100 ms the target waited", l)
	}

	want := map[string]bool{"slow.wait.p95 > 90ms": true, "slow.wait.p95 < 50ms": false, "plain.connect.p50 == 0": true, "secure.tls.max > 0": true}
	if len(res.Thresholds) != len(want) {
		t.Fatalf("thresholds %+v", res.Thresholds)
	}
	for _, th := range res.Thresholds {
		if ok, known := want[th.Expr]; !known || th.OK != ok || th.Error != "" {
			t.Errorf("threshold %q: ok %v (%s), want %v", th.Expr, th.OK, th.Error, ok)
		}
	}
	if res.Passed {
		t.Error("the run passed with a failed threshold")
	}

	// The JSON result has each action's phases, and their histograms.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Actions map[string]struct {
			Timings map[string]map[string]float64 `json:"timings_ms"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, stat := range []string{"p50", "p90", "p95", "p99", "mean", "max"} {
		if _, ok := doc.Actions["slow"].Timings["wait"][stat]; !ok {
			t.Errorf("JSON: actions.slow.timings_ms.wait has no %s: %s", stat, b)
		}
	}
	if !strings.Contains(string(b), `"timings"`) {
		t.Errorf("JSON: no per-phase histograms (hdr.timings) to merge a fleet's results with")
	}

	var sum strings.Builder
	res.WriteSummary(&sum)
	if !strings.Contains(sum.String(), "HTTP phases, ms") || !strings.Contains(sum.String(), "receive") {
		t.Errorf("the summary has no timing phases:\n%s", sum.String())
	}
}

// TestPhaseThresholdOnlyForHTTP: a threshold on a timing phase of an
// action that is not HTTP could never be met: an input error at its
// line, before any load is sent.
func TestPhaseThresholdOnlyForHTTP(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "bad.yaml", `name: bad
actions:
  - {id: echo, call: tcp.request, with: {address: "127.0.0.1:1", send: "x\n"}}
tasks: [{id: s, action: echo}]
thresholds:
  - "echo.wait.p95 < 10ms"
`)
	_, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
	if err == nil || !strings.Contains(err.Error(), `bad.yaml:6:5: threshold "echo.wait.p95 < 10ms": echo is a tcp action; only HTTP calls have timing phases`) {
		t.Errorf("got %v", err)
	}
}
