package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
	"github.com/ntx-dev/ntx/engine/metrics"
)

// partResult is what a segment that made calls calls of "get" reports.
func partResult(seg schedule.Segment, calls int) *report.Result {
	c := metrics.New(metrics.Config{})
	for i := 0; i < calls; i++ {
		c.Record(&metrics.Sample{Name: "get", Kind: "http", Latency: time.Duration(i+1) * time.Millisecond, OK: true, Status: 200})
	}
	r := c.Result("s")
	r.Segment = seg.String()
	r.Judge()
	return r
}

// TestCoordinatorSurvivesAStalledSegment: one segment of three joins and
// then hangs (it never reads its stream nor sends a word). The other two
// start, finish and get the verdict: the stalled one is named lost, the
// result is incomplete (3). Segments that do not belong are refused.
func TestCoordinatorSurvivesAStalledSegment(t *testing.T) {
	c, err := Listen("127.0.0.1:0", Config{Segments: 3, Digest: "d", Lead: 50 * time.Millisecond, LostAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	base := "http://" + c.Addr()
	ctx := context.Background()

	// Refusals: another scenario, another fleet size.
	for _, req := range []joinRequest{{Segment: "1/3", Digest: "other"}, {Segment: "1/4", Digest: "d"}} {
		b, _ := json.Marshal(req)
		resp, err := http.Post(base+"/v1/join", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict {
			t.Errorf("join %+v: status %d, want 409", req, resp.StatusCode)
		}
	}

	// The stalled segment: joins, opens its stream, then nothing.
	b, _ := json.Marshal(joinRequest{Segment: "2/3", Digest: "d"})
	resp, err := http.Post(base+"/v1/join", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var jr joinResponse
	_ = json.NewDecoder(resp.Body).Decode(&jr)
	resp.Body.Close()
	stalled, err := http.Get(base + "/v1/control?" + url.Values{"segment": {"2/3"}, "token": {jr.Token}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Body.Close()

	type outcome struct {
		code int
		msg  string
		err  error
	}
	results := make(chan outcome, 2)
	for i := 0; i < 2; i++ {
		seg := schedule.Segment{I: i, N: 3}
		m := NewMember(MemberConfig{Coordinator: c.Addr(), Segment: seg, Digest: "d", JoinTimeout: 5 * time.Second})
		go func() {
			if _, err := m.Start(ctx); err != nil {
				results <- outcome{err: err}
				return
			}
			m.Snapshot(partResult(seg, 10))
			code, msg, err := m.Finish(ctx, partResult(seg, 100))
			results <- outcome{code, msg, err}
		}()
	}
	for i := 0; i < 2; i++ {
		select {
		case o := <-results:
			if o.err != nil || o.code != 3 {
				t.Errorf("a live segment: verdict %d %q, error %v; want 3", o.code, o.msg, o.err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the live segments got no verdict: the stalled one stalls the fleet")
		}
	}
	res, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Incomplete || len(res.Fleet.Lost) != 1 || res.Fleet.Lost[0].Segment != "2/3" || res.Actions["get"].Count != 200 {
		t.Errorf("fleet %+v, incomplete %v, get %+v", res.Fleet, res.Incomplete, res.Actions["get"])
	}
	// After the start, a (re-created) segment is told the run is under way.
	m := NewMember(MemberConfig{Coordinator: c.Addr(), Segment: schedule.Segment{I: 1, N: 3}, Digest: "d", JoinTimeout: time.Second})
	if _, err := m.Start(ctx); err == nil || !strings.Contains(err.Error(), "under way") {
		t.Errorf("a late join: %v", err)
	}
}

// TestMemberGivesUpAfterJoinTimeout: no coordinator answers; the segment
// says so after --join-timeout.
func TestMemberGivesUpAfterJoinTimeout(t *testing.T) {
	m := NewMember(MemberConfig{Coordinator: "127.0.0.1:1", Segment: schedule.Segment{I: 1, N: 2}, JoinTimeout: 700 * time.Millisecond})
	_, err := m.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not answer within 700ms (--join-timeout)") {
		t.Errorf("got %v", err)
	}
}

// TestCoordinatorJoinTimeout: a segment that never joins fails the
// fleet before the start, naming it, and the joined segments are told.
func TestCoordinatorJoinTimeout(t *testing.T) {
	c, err := Listen("127.0.0.1:0", Config{Segments: 2, JoinTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := NewMember(MemberConfig{Coordinator: c.Addr(), Segment: schedule.Segment{I: 0, N: 2}, JoinTimeout: 5 * time.Second})
	_, err = m.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "segments 1/2 did not join within 1s") {
		t.Errorf("the joined segment: %v", err)
	}
	if _, err := c.Wait(context.Background()); err == nil {
		t.Error("the coordinator's Wait: no error")
	}
}

// BenchmarkSnapshotSize measures what a segment sends the coordinator
// each second, for docs/fleet.md (reported as bytes/snapshot): per
// action of HTTP calls with latencies spread over four orders of
// magnitude (so the histograms are full), with its six timing phases.
func BenchmarkSnapshotSize(b *testing.B) {
	for _, names := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("%d-names", names), func(b *testing.B) {
			c := metrics.New(metrics.Config{})
			for i := 0; i < 200_000; i++ {
				s := &metrics.Sample{Name: "get", Kind: "http", OK: i%50 != 0, Status: 200, Timed: true,
					Latency: time.Duration(100+(i*7919)%5_000_000) * time.Microsecond / 10}
				if names > 1 {
					s.Name = "action-" + strings.Repeat("x", i%names)
				}
				if !s.OK {
					s.ErrKind = metrics.KindTimeout
				}
				for p := range s.Timings {
					s.Timings[p] = s.Latency / time.Duration(p+2)
				}
				c.Record(s)
			}
			n := 0
			for i := 0; i < b.N; i++ {
				n = SnapshotBytes(c.Result("s"))
			}
			b.ReportMetric(float64(n), "bytes/snapshot")
			b.ReportMetric(float64(n)/float64(names), "bytes/name")
		})
	}
}

// BenchmarkFleetSecond is the coordinator's work for one second of a
// fleet of 100 segments of one full action each: decoding their
// snapshots and merging them into the fleet's numbers.
func BenchmarkFleetSecond(b *testing.B) {
	c := metrics.New(metrics.Config{})
	for i := 0; i < 200_000; i++ {
		s := &metrics.Sample{Name: "get", Kind: "http", OK: true, Status: 200, Timed: true,
			Latency: time.Duration(100+(i*7919)%5_000_000) * time.Microsecond / 10}
		for p := range s.Timings {
			s.Timings[p] = s.Latency / time.Duration(p+2)
		}
		c.Record(s)
	}
	body, _ := json.Marshal(snapshot{Segment: "0/100", Result: c.Result("s")})
	b.SetBytes(int64(len(body)) * 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		parts := make([]*report.Result, 100)
		for k := range parts {
			var s snapshot
			if err := json.Unmarshal(body, &s); err != nil {
				b.Fatal(err)
			}
			parts[k] = s.Result
		}
		if _, err := metrics.Merge(parts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSegmentThatCannotStartFailsTheFleet: a segment that fails before
// joining says so, and the others hear it at once, not at the join
// timeout.
func TestSegmentThatCannotStartFailsTheFleet(t *testing.T) {
	c, err := Listen("127.0.0.1:0", Config{Segments: 2, JoinTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs := make(chan error, 1)
	go func() {
		m := NewMember(MemberConfig{Coordinator: c.Addr(), Segment: schedule.Segment{I: 0, N: 2}})
		_, err := m.Start(context.Background())
		errs <- err
	}()
	NewMember(MemberConfig{Coordinator: c.Addr(), Segment: schedule.Segment{I: 1, N: 2}}).Fail("ip pool \"p\" has no address here")
	select {
	case err := <-errs:
		if err == nil || !strings.Contains(err.Error(), `segment 1/2 could not start: ip pool "p" has no address here`) {
			t.Errorf("segment 0: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("segment 0 did not hear that segment 1 failed")
	}
	if _, err := c.Wait(context.Background()); err == nil {
		t.Error("the coordinator's Wait: no error")
	}
}
