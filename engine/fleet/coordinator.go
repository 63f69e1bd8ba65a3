package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
	"github.com/ntx-dev/ntx/engine/metrics"
)

// Defaults of a Config.
const (
	DefaultJoinTimeout = 2 * time.Minute
	DefaultLostAfter   = 30 * time.Second
	// DefaultLead is how long after the last segment joins the fleet
	// starts: time for the start time to reach every segment.
	DefaultLead = time.Second
)

// maxBody bounds what a segment may send in one call: a result with
// --max-names names and their histograms stays far below it.
const maxBody = 256 << 20

// AbortRule is an abort_on_fail threshold: judged every second on the
// fleet's numbers once Delay has passed since the start; when it fails,
// every segment is told to stop.
type AbortRule struct {
	Threshold metrics.Threshold
	Delay     time.Duration
}

// Config sets up a coordinator.
type Config struct {
	// Segments is N, the number of segments of the fleet.
	Segments int
	// Digest identifies the scenario; segments that join with another
	// are refused. Empty accepts any.
	Digest string
	// StartAt, if set, is the earliest start (--start-at).
	StartAt time.Time
	// Lead is the time from the ready barrier to the start (0: DefaultLead).
	Lead time.Duration
	// JoinTimeout bounds the wait for every segment to join (0:
	// DefaultJoinTimeout); past it the fleet fails to start.
	JoinTimeout time.Duration
	// LostAfter is how long a running segment may say nothing before it
	// is taken as lost (0: DefaultLostAfter).
	LostAfter time.Duration
	// Abort lists the abort_on_fail thresholds.
	Abort []AbortRule
	// Progress, if set, receives a line about the fleet every second.
	Progress io.Writer
}

// Coordinator is the server segment 0 runs: it lines the segments up,
// watches them, judges the fleet and merges the results.
type Coordinator struct {
	cfg  Config
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when every segment has finished or is lost

	mu         sync.Mutex
	segs       []*member
	startAt    time.Time // zero until the ready barrier
	stopReason string    // set once the fleet is told to stop
	failed     string    // the fleet could not start
	final      *report.Result
	finalErr   error
	verdict    int
	closed     bool
	lastReport time.Time
	lastCalls  int64
}

// member is the coordinator's view of one segment.
type member struct {
	seg      schedule.Segment
	token    string
	stream   chan Command // the open control stream's queue, nil when none
	lastSeen time.Time
	snap     *report.Result
	result   *report.Result
	lost     string
}

// Listen starts a coordinator on addr (host:port; an empty host, or a
// name rather than an address, listens on every interface).
func Listen(addr string, cfg Config) (*Coordinator, error) {
	if cfg.Segments < 1 {
		return nil, fmt.Errorf("a fleet needs at least one segment")
	}
	if cfg.Lead <= 0 {
		cfg.Lead = DefaultLead
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = DefaultLostAfter
	}
	ln, err := net.Listen("tcp", listenAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("coordinator: %w", err)
	}
	c := &Coordinator{cfg: cfg, ln: ln, done: make(chan struct{})}
	for i := 0; i < cfg.Segments; i++ {
		c.segs = append(c.segs, &member{seg: schedule.Segment{I: i, N: cfg.Segments}})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/join", c.join)
	mux.HandleFunc("GET /v1/control", c.control)
	mux.HandleFunc("POST /v1/snapshot", c.snapshot)
	mux.HandleFunc("POST /v1/result", c.result)
	mux.HandleFunc("POST /v1/fail", c.fail)
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	go c.watch()
	return c, nil
}

// listenAddr is where to listen for addr: its port on every interface,
// unless its host is an IP address.
func listenAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if net.ParseIP(host) != nil {
		return addr
	}
	return net.JoinHostPort("", port)
}

// Addr is the address the coordinator listens on.
func (c *Coordinator) Addr() string { return c.ln.Addr().String() }

// Close stops serving.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
	_ = c.srv.Close()
}

// Fail ends the fleet before or during its run (segment 0 could not
// start): every segment is told, and Wait returns err.
func (c *Coordinator) Fail(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed != "" || c.final != nil {
		return
	}
	c.failed = reason
	for _, m := range c.segs {
		m.send(Command{Error: reason})
	}
	c.finish()
}

// Wait returns the fleet's merged result once every segment has
// finished or is lost, or an error if the fleet never started.
func (c *Coordinator) Wait(ctx context.Context) (*report.Result, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed != "" {
		return nil, errors.New(c.failed)
	}
	return c.final, c.finalErr
}

// send queues a command on the segment's control stream, if open. A
// stream that cannot keep up (it never should: a few commands a run)
// loses the command rather than stall the coordinator.
func (m *member) send(cmd Command) {
	if m.stream == nil {
		return
	}
	select {
	case m.stream <- cmd:
	default:
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// join admits a segment before the start; after it, refuses.
func (c *Coordinator) join(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, joinResponse{Error: "bad join: " + err.Error()})
		return
	}
	seg, err := schedule.ParseSegment(req.Segment)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, joinResponse{Error: err.Error()})
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case seg.N != c.cfg.Segments:
		writeJSON(w, http.StatusConflict, joinResponse{Error: fmt.Sprintf("segment %s is not of this fleet of %d segments", seg, c.cfg.Segments)})
		return
	case c.cfg.Digest != "" && req.Digest != c.cfg.Digest:
		writeJSON(w, http.StatusConflict, joinResponse{Error: fmt.Sprintf("segment %s runs another scenario than the coordinator (a different file or version)", seg)})
		return
	case c.failed != "":
		writeJSON(w, http.StatusConflict, joinResponse{Error: "the fleet has failed: " + c.failed})
		return
	case !c.startAt.IsZero():
		writeJSON(w, http.StatusConflict, joinResponse{UnderWay: true, Error: fmt.Sprintf("the run is under way (it started at %s): segment %s does not send its load twice",
			c.startAt.UTC().Format(time.RFC3339), seg)})
		return
	}
	m := c.segs[seg.I]
	if m.stream != nil {
		writeJSON(w, http.StatusConflict, joinResponse{Error: fmt.Sprintf("segment %s has already joined (two pods with one index?)", seg)})
		return
	}
	// Before the start, a segment may join again (a pod re-created
	// before the run began): the new one replaces the old.
	m.token = newToken()
	m.lastSeen = time.Now()
	writeJSON(w, http.StatusOK, joinResponse{Token: m.token})
}

// auth finds the member a call is from; it answers the call itself and
// returns nil when the call is refused.
func (c *Coordinator) auth(w http.ResponseWriter, segment, token string) *member {
	seg, err := schedule.ParseSegment(segment)
	if err != nil || seg.N != c.cfg.Segments {
		writeJSON(w, http.StatusBadRequest, Command{Error: "not a segment of this fleet: " + segment})
		return nil
	}
	m := c.segs[seg.I]
	if m.token == "" || token != m.token {
		writeJSON(w, http.StatusConflict, Command{Error: fmt.Sprintf("segment %s has not joined, or another process joined as it", seg)})
		return nil
	}
	if m.lost != "" {
		writeJSON(w, http.StatusGone, Command{Error: fmt.Sprintf("segment %s was taken as lost (%s)", seg, m.lost)})
		return nil
	}
	m.lastSeen = time.Now()
	return m
}

// control holds a segment's command stream open for the run.
func (c *Coordinator) control(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	m := c.auth(w, r.URL.Query().Get("segment"), r.URL.Query().Get("token"))
	if m == nil {
		c.mu.Unlock()
		return
	}
	if m.stream != nil {
		c.mu.Unlock()
		writeJSON(w, http.StatusConflict, Command{Error: "segment " + m.seg.String() + " already has a control stream"})
		return
	}
	if c.failed != "" {
		// Failed between this segment's join and its stream.
		c.mu.Unlock()
		writeJSON(w, http.StatusConflict, Command{Error: "the fleet has failed: " + c.failed})
		return
	}
	stream := make(chan Command, 16)
	m.stream = stream
	c.barrier()
	c.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	flush()
	keepalive := time.NewTicker(5 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case cmd := <-stream:
			if enc.Encode(cmd) != nil {
				c.disconnected(m, stream)
				return
			}
			flush()
			if cmd.Verdict != nil || cmd.Error != "" {
				return
			}
		case <-keepalive.C:
			// An empty command: lets both ends notice a dead peer.
			if enc.Encode(Command{}) != nil {
				c.disconnected(m, stream)
				return
			}
			flush()
		case <-r.Context().Done():
			c.disconnected(m, stream)
			return
		}
	}
}

// disconnected handles a control stream that closed: before the start
// the segment may join again; after it, a segment whose result has not
// arrived is lost.
func (c *Coordinator) disconnected(m *member, stream chan Command) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.stream != stream {
		return
	}
	m.stream = nil
	if c.startAt.IsZero() {
		m.token = ""
		return
	}
	if m.result == nil && m.lost == "" {
		m.lost = fmt.Sprintf("disconnected %s after the start", time.Since(c.startAt).Round(time.Second))
		c.maybeFinish()
	}
}

// barrier gives the start time once every segment has its control
// stream open: the ready barrier. The caller holds c.mu.
func (c *Coordinator) barrier() {
	if !c.startAt.IsZero() {
		return
	}
	for _, m := range c.segs {
		if m.stream == nil {
			return
		}
	}
	at := time.Now().Add(c.cfg.Lead)
	if c.cfg.StartAt.After(at) {
		at = c.cfg.StartAt
	}
	c.startAt = at
	for _, m := range c.segs {
		m.lastSeen = time.Now()
		m.send(Command{StartAt: &at})
	}
}

// receive decodes a segment's snapshot or final result (what names it in
// the error) before taking c.mu, so that a slow sender never holds up
// the others, then takes c.mu and authenticates the sender. The caller
// unlocks c.mu; a nil member means the answer has been written already.
func (c *Coordinator) receive(w http.ResponseWriter, r *http.Request, what string) (snapshot, *member) {
	var s snapshot
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&s)
	c.mu.Lock()
	if err != nil || s.Result == nil {
		writeJSON(w, http.StatusBadRequest, Command{Error: fmt.Sprintf("bad %s: %v", what, err)})
		return s, nil
	}
	return s, c.auth(w, s.Segment, s.Token)
}

// snapshot takes a segment's result so far; the answer says whether to
// stop.
func (c *Coordinator) snapshot(w http.ResponseWriter, r *http.Request) {
	s, m := c.receive(w, r, "snapshot")
	defer c.mu.Unlock()
	if m == nil {
		return
	}
	m.snap = s.Result
	writeJSON(w, http.StatusOK, Command{Stop: c.stopReason})
}

// result takes a segment's final result.
func (c *Coordinator) result(w http.ResponseWriter, r *http.Request) {
	s, m := c.receive(w, r, "result")
	defer c.mu.Unlock()
	if m == nil {
		return
	}
	if s.Result.Segment != m.seg.String() {
		writeJSON(w, http.StatusBadRequest, Command{Error: fmt.Sprintf("the result of segment %q sent as segment %s", s.Result.Segment, m.seg)})
		return
	}
	m.result = s.Result
	writeJSON(w, http.StatusOK, Command{})
	c.maybeFinish()
}

// fail takes word from a segment that could not start (its scenario or
// its addresses failed it before it could join): the fleet cannot run
// whole, so every segment is told at once rather than after the join
// timeout. After the start it is refused: a running fleet loses a
// segment by its silence.
func (c *Coordinator) fail(w http.ResponseWriter, r *http.Request) {
	var req failRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, Command{Error: "bad failure report: " + err.Error()})
		return
	}
	seg, err := schedule.ParseSegment(req.Segment)
	if err != nil || seg.N != c.cfg.Segments {
		writeJSON(w, http.StatusBadRequest, Command{Error: "not a segment of this fleet: " + req.Segment})
		return
	}
	c.mu.Lock()
	started := !c.startAt.IsZero()
	c.mu.Unlock()
	if started {
		writeJSON(w, http.StatusConflict, Command{Error: "the run is under way"})
		return
	}
	writeJSON(w, http.StatusOK, Command{})
	c.Fail(fmt.Sprintf("segment %s could not start: %s", seg, req.Reason))
}

// watch runs the coordinator's clock: the join timeout, lost segments,
// progress and abort_on_fail, once a second.
func (c *Coordinator) watch() {
	begin := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			c.tick(now, begin)
		}
	}
}

func (c *Coordinator) tick(now, begin time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil || c.failed != "" || c.closed {
		return
	}
	if c.startAt.IsZero() {
		if now.Sub(begin) > c.cfg.JoinTimeout {
			var missing []string
			for _, m := range c.segs {
				if m.stream == nil {
					missing = append(missing, m.seg.String())
				}
			}
			c.failed = fmt.Sprintf("segments %s did not join within %s", strings.Join(missing, ", "), c.cfg.JoinTimeout)
			for _, m := range c.segs {
				m.send(Command{Error: c.failed})
			}
			c.finish()
		}
		return
	}
	if now.Before(c.startAt) {
		return
	}
	for _, m := range c.segs {
		if m.result == nil && m.lost == "" && now.Sub(m.lastSeen) > c.cfg.LostAfter {
			m.lost = fmt.Sprintf("no word for %s", c.cfg.LostAfter)
			if m.stream != nil {
				m.send(Command{Stop: "this segment was taken as lost"})
			}
		}
	}
	if c.maybeFinish() {
		return
	}
	c.judge(now)
}

// live is the fleet's numbers so far: the merge of each segment's
// latest snapshot (or result). The caller holds c.mu.
func (c *Coordinator) live(ts []metrics.Threshold) (*report.Result, int) {
	var parts []*report.Result
	for _, m := range c.segs {
		if r := m.result; r != nil {
			parts = append(parts, r)
		} else if m.snap != nil {
			parts = append(parts, m.snap)
		}
	}
	if len(parts) == 0 {
		return nil, 0
	}
	res, err := metrics.Merge(parts, ts)
	if err != nil {
		return nil, 0
	}
	return res, len(parts)
}

// judge prints the fleet's progress and applies abort_on_fail. Progress
// needs the counters and one histogram of each segment; the whole merge
// is made only when an abort_on_fail threshold is due. The caller holds
// c.mu.
func (c *Coordinator) judge(now time.Time) {
	elapsed := now.Sub(c.startAt)
	if c.cfg.Progress != nil {
		c.progress(now, elapsed)
	}
	if c.stopReason != "" {
		return
	}
	var ts []metrics.Threshold
	for _, a := range c.cfg.Abort {
		if elapsed >= a.Delay {
			ts = append(ts, a.Threshold)
		}
	}
	if len(ts) == 0 {
		return
	}
	res, _ := c.live(ts)
	if res == nil {
		return
	}
	for _, t := range res.Thresholds {
		if !t.OK && t.Error == "" {
			c.stopReason = fmt.Sprintf("abort_on_fail: threshold %s failed on the fleet (value %v) %s after the start", t.Expr, t.Value, elapsed.Round(time.Second))
			if c.cfg.Progress != nil {
				fmt.Fprintf(c.cfg.Progress, "fleet: stopping every segment: %s\n", c.stopReason)
			}
			for _, m := range c.segs {
				m.send(Command{Stop: c.stopReason})
			}
			return
		}
	}
}

// progress prints a line about the fleet: the segments' latest counters
// added, and the p95 of their HTTP histograms merged. The caller holds
// c.mu.
func (c *Coordinator) progress(now time.Time, elapsed time.Duration) {
	var calls, errs, active int64
	n := 0
	h := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
	for _, m := range c.segs {
		r := m.result
		if r == nil {
			r = m.snap
		}
		if r == nil {
			continue
		}
		n++
		for _, a := range r.Actions {
			if a.Kind != "custom" {
				calls += a.Count
				errs += a.Failed
			}
		}
		if m.result == nil {
			active += r.Users.Spawned - r.Users.Completed
		}
		if r.HDR != nil && r.HDR.HTTP != "" {
			if sh, err := hdrhistogram.Decode([]byte(r.HDR.HTTP)); err == nil {
				h.Merge(sh)
			}
		}
	}
	if n == 0 {
		return
	}
	rate := 0.0
	if !c.lastReport.IsZero() {
		rate = float64(calls-c.lastCalls) / now.Sub(c.lastReport).Seconds()
	}
	c.lastReport, c.lastCalls = now, calls
	p95 := ""
	if h.TotalCount() > 0 {
		p95 = fmt.Sprintf(", http p95 %.1f ms", float64(h.ValueAtQuantile(95))/1000)
	}
	fmt.Fprintf(c.cfg.Progress, "fleet %s: %d/%d segments reporting, %d users active, %d calls (%.0f/s), %d failed%s\n",
		elapsed.Round(time.Second), n, c.cfg.Segments, active, calls, rate, errs, p95)
}

// maybeFinish merges the results once every segment has finished or is
// lost. The caller holds c.mu.
func (c *Coordinator) maybeFinish() bool {
	if c.final != nil || c.failed != "" {
		return true
	}
	var parts []*report.Result
	fl := &report.Fleet{Segments: c.cfg.Segments}
	for _, m := range c.segs {
		switch {
		case m.result != nil:
			parts = append(parts, m.result)
			fl.Merged = append(fl.Merged, m.seg.String())
		case m.lost != "":
			fl.Lost = append(fl.Lost, report.LostSegment{Segment: m.seg.String(), Reason: m.lost})
		default:
			return false
		}
	}
	if len(parts) == 0 {
		c.finalErr = fmt.Errorf("every segment was lost")
		c.final = &report.Result{Fleet: fl, Incomplete: true}
		c.verdict = 3
	} else {
		res, err := Merge(parts)
		if err != nil {
			c.finalErr = err
			res = &report.Result{}
		}
		res.Fleet = fl
		res.Incomplete = len(fl.Lost) > 0
		if c.stopReason != "" {
			res.Interrupted = true
			res.Reasons = append([]report.Reason{{What: report.ReasonThreshold, Count: 1, Message: c.stopReason}}, res.Reasons...)
			res.Passed = false
		}
		sort.SliceStable(fl.Lost, func(i, j int) bool { return fl.Lost[i].Segment < fl.Lost[j].Segment })
		c.final = res
		c.verdict = verdictCode(res)
	}
	v := c.verdict
	msg := c.final.VerdictLine()
	for _, m := range c.segs {
		m.send(Command{Verdict: &v, Message: msg})
	}
	c.finish()
	return true
}

// verdictCode is the exit code of a fleet's result: 3 when incomplete,
// else 1 when it failed, else 0.
func verdictCode(r *report.Result) int {
	switch {
	case r.Incomplete:
		return 3
	case !r.Passed:
		return 1
	}
	return 0
}

// finish marks the fleet done. The caller holds c.mu.
func (c *Coordinator) finish() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}
