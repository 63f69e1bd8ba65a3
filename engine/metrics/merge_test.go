package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// feed records the same random work into whole and, sample by sample,
// into one of parts: what one process and a fleet of len(parts)
// segments would have recorded.
func feed(whole *Collector, parts []*Collector, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []Kind{KindTimeout, KindStatus5xx, KindCancelled, KindNoAddress, KindRefused}
	for i := 0; i < n; i++ {
		part := parts[i%len(parts)]
		// Latencies over four orders of magnitude, as a real run has.
		lat := time.Duration(math.Exp(rng.Float64()*10)) * time.Microsecond
		s := &Sample{Name: []string{"get", "post", "sock"}[i%3], Kind: "http", Latency: lat, OK: rng.IntN(20) != 0,
			Source: netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%7)}), BytesSent: int64(rng.IntN(500)), BytesRecv: int64(rng.IntN(5000))}
		if s.Name == "sock" {
			s.Kind = "tcp"
		}
		if s.Kind == "http" {
			s.Status = 200
			s.Timed = s.OK
			for p := range s.Timings {
				s.Timings[p] = lat / time.Duration(p+2)
			}
		}
		if !s.OK {
			s.ErrKind = kinds[rng.IntN(len(kinds))]
			s.Err = string(s.ErrKind) + " happened"
			if s.ErrKind == KindStatus5xx {
				s.Status = 503
			}
		}
		for _, c := range []*Collector{whole, part} {
			c.Record(s)
			if i%10 == 0 {
				c.Record(&Sample{Name: "custom", Kind: "custom", Latency: lat, OK: i%20 == 0, ErrKind: map[bool]Kind{true: "", false: KindError}[i%20 == 0]})
				c.Check("status is 200", s.Status == 200)
				c.UserStarted()
				c.Iteration(map[bool]string{true: "", false: "status"}[s.OK], "")
				c.UserDone()
			}
			if i%97 == 0 {
				c.UserFailedToStart("pool-exhausted", "no address")
			}
		}
	}
}

// meanTolerance: each part's mean is rounded to the microsecond (±0.5
// µs), and so is the merged one.
const meanTolerance = 0.001 + 1e-9

func roundTrip(t *testing.T, r *report.Result) *report.Result {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out report.Result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// TestMergeEqualsOneProcess: the merge of N segments' JSON results
// equals the result of the same samples recorded in one process, in
// every counter exactly; percentiles, minimum and maximum too (the
// merged histograms are the one process's histograms), and the mean to
// the microsecond the parts round it to.
func TestMergeEqualsOneProcess(t *testing.T) {
	specs := []string{"get.p95 < 5ms", "get.error_rate < 5%", "sock.count > 100", "http.p99 < 20ms", "post.wait.p90 < 1ms", "iterations.failed < 10", "checks.failed < 1"}
	var ts []Threshold
	for _, s := range specs {
		th, err := ParseThreshold(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, th)
	}
	for _, n := range []int{1, 2, 3, 4} {
		whole := New(Config{})
		parts := make([]*Collector, n)
		for i := range parts {
			parts[i] = New(Config{})
		}
		feed(whole, parts, 30_000)
		want := whole.Result("s")
		want.Thresholds = whole.Evaluate(ts, want)
		want.Judge()
		in := make([]*report.Result, n)
		for i, p := range parts {
			in[i] = roundTrip(t, p.Result("s"))
		}
		got, err := Merge(in, ts)
		if err != nil {
			t.Fatal(err)
		}
		got = roundTrip(t, got)
		for name, wa := range want.Actions {
			ga := got.Actions[name]
			if ga == nil {
				t.Fatalf("N=%d: action %q missing from the merge", n, name)
			}
			wl, gl := wa.Latency, ga.Latency
			if math.Abs(wl.Mean-gl.Mean) > meanTolerance {
				t.Errorf("N=%d %s: mean %v, one process %v", n, name, gl.Mean, wl.Mean)
			}
			gl.Mean, wl.Mean = 0, 0
			ga.Latency, wa.Latency = gl, wl
			if ga.FailedLatency != nil && wa.FailedLatency != nil {
				if math.Abs(wa.FailedLatency.Mean-ga.FailedLatency.Mean) > meanTolerance {
					t.Errorf("N=%d %s: failed mean %v, one process %v", n, name, ga.FailedLatency.Mean, wa.FailedLatency.Mean)
				}
				ga.FailedLatency.Mean, wa.FailedLatency.Mean = 0, 0
			}
			for p, l := range wa.Timings {
				g := ga.Timings[p]
				if math.Abs(l.Mean-g.Mean) > meanTolerance {
					t.Errorf("N=%d %s %s: mean %v, one process %v", n, name, p, g.Mean, l.Mean)
				}
				l.Mean, g.Mean = 0, 0
				wa.Timings[p], ga.Timings[p] = l, g
			}
			if !reflect.DeepEqual(wa, ga) {
				t.Errorf("N=%d: action %q\nmerged  %+v\none process %+v", n, name, *ga, *wa)
			}
		}
		if len(got.Actions) != len(want.Actions) {
			t.Errorf("N=%d: %d actions merged, %d in one process", n, len(got.Actions), len(want.Actions))
		}
		// Segments run side by side: the merge's peak is the sum of the
		// parts' peaks, at least the one process's.
		if got.Users.PeakConcurrent < want.Users.PeakConcurrent {
			t.Errorf("N=%d: merged peak %d below one process's %d", n, got.Users.PeakConcurrent, want.Users.PeakConcurrent)
		}
		got.Users.PeakConcurrent = want.Users.PeakConcurrent
		// Every counter, exactly.
		for what, pair := range map[string][2]any{
			"users":      {got.Users, want.Users},
			"iterations": {got.Iterations, want.Iterations},
			"source_ips": {got.SourceIPs, want.SourceIPs},
			"checks":     {got.Checks, want.Checks},
			"errors":     {len(got.Errors), len(want.Errors)},
			"hdr http":   {got.HDR.HTTP, want.HDR.HTTP},
			"hdr get":    {got.HDR.Actions["get"], want.HDR.Actions["get"]},
		} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("N=%d: %s merged %+v, one process %+v", n, what, pair[0], pair[1])
			}
		}
		gh, wh := *got.HTTP, *want.HTTP
		if math.Abs(gh.Mean-wh.Mean) > meanTolerance {
			t.Errorf("N=%d: http mean %v, one process %v", n, gh.Mean, wh.Mean)
		}
		gh.Mean, wh.Mean = 0, 0
		if gh != wh {
			t.Errorf("N=%d: http merged %+v, one process %+v", n, gh, wh)
		}
		for i := range want.Thresholds {
			if got.Thresholds[i] != want.Thresholds[i] {
				t.Errorf("N=%d: threshold merged %+v, one process %+v", n, got.Thresholds[i], want.Thresholds[i])
			}
		}
		if got.Passed != want.Passed || len(got.Reasons) != len(want.Reasons) {
			t.Errorf("N=%d: verdict merged %v %v, one process %v %v", n, got.Passed, got.Reasons, want.Passed, want.Reasons)
		}
	}
}

// TestMergeJudgesTheFleet: thresholds that each part passes alone fail
// on the merge (a total count, failed iterations across the parts).
func TestMergeJudgesTheFleet(t *testing.T) {
	var ts []Threshold
	for _, s := range []string{"get.count < 150", "iterations.failed < 3"} {
		th, err := ParseThreshold(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, th)
	}
	var parts []*report.Result
	for i := 0; i < 2; i++ {
		c := New(Config{})
		for k := 0; k < 100; k++ {
			c.Record(&Sample{Name: "get", Kind: "http", Latency: time.Millisecond, OK: true, Status: 200})
		}
		c.Iteration("status", "")
		c.Iteration("status", "")
		r := c.Result("s")
		r.Thresholds = c.Evaluate(ts, r)
		r.Judge()
		if !r.Passed {
			t.Fatalf("part %d fails alone: %v", i, r.Reasons)
		}
		parts = append(parts, roundTrip(t, r))
	}
	m, err := Merge(parts, ts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Passed || len(m.Reasons) != 2 || m.Thresholds[0].Value != 200 || m.Thresholds[1].Value != 4 {
		t.Errorf("the merge: passed %v, thresholds %+v", m.Passed, m.Thresholds)
	}
}

// TestMergeRefusesBrokenHistograms: a part whose histogram does not
// decode is an error, not a silently wrong percentile.
func TestMergeRefusesBrokenHistograms(t *testing.T) {
	c := New(Config{})
	c.Record(&Sample{Name: "get", Kind: "http", Latency: time.Millisecond, OK: true})
	r := roundTrip(t, c.Result("s"))
	r.HDR.Actions["get"] = "bm90IGEgaGlzdG9ncmFt"
	if _, err := Merge([]*report.Result{r}, nil); err == nil {
		t.Error("a broken histogram was merged")
	}
	r.HDR = nil
	if _, err := Merge([]*report.Result{r}, nil); err == nil {
		t.Error("a result without hdr was merged")
	}
}
