package fleet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
)

// ErrUnderWay is the refusal of a segment that joins after the start.
var ErrUnderWay = errors.New("the run is under way")

// MemberConfig sets up one segment's side of the protocol.
type MemberConfig struct {
	// Coordinator is the coordinator's host:port.
	Coordinator string
	Segment     schedule.Segment
	Digest      string
	// JoinTimeout bounds the retries of the first contact (0:
	// DefaultJoinTimeout): pods start in any order, so the coordinator
	// may not listen yet.
	JoinTimeout time.Duration
}

// Member is a segment of a fleet, in touch with its coordinator.
type Member struct {
	cfg    MemberConfig
	base   string
	client *http.Client // calls with a body: bounded
	stream *http.Client // the control stream: held for the run
	token  string

	cmds    chan Command  // from the control stream
	stop    chan struct{} // closed when the coordinator says stop
	stopMsg atomic.Value  // string
	once    sync.Once
	lost    chan struct{} // closed when the control stream ends without a verdict
	lostErr atomic.Value  // error

	sending atomic.Bool // a snapshot is on its way
}

// NewMember prepares a segment's side; Start joins.
func NewMember(cfg MemberConfig) *Member {
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	return &Member{
		cfg:    cfg,
		base:   "http://" + cfg.Coordinator,
		client: &http.Client{Timeout: 30 * time.Second},
		stream: &http.Client{},
		cmds:   make(chan Command, 16),
		stop:   make(chan struct{}),
		lost:   make(chan struct{}),
	}
}

// Stop is closed when the coordinator tells the fleet to stop; StopReason
// says why.
func (m *Member) Stop() <-chan struct{} { return m.stop }

// StopReason is the coordinator's reason to stop, once Stop is closed.
func (m *Member) StopReason() string { s, _ := m.stopMsg.Load().(string); return s }

// Lost is closed when the coordinator is gone before the verdict.
func (m *Member) Lost() <-chan struct{} { return m.lost }

func (m *Member) stopWith(reason string) {
	m.once.Do(func() {
		m.stopMsg.Store(reason)
		close(m.stop)
	})
}

// Start joins the fleet, retrying until the coordinator answers or the
// join timeout passes, then waits at the ready barrier for the start
// time, which it returns. It is runtime.Options.Start for a segment.
func (m *Member) Start(ctx context.Context) (time.Time, error) {
	deadline := time.Now().Add(m.cfg.JoinTimeout)
	var last error
	for {
		err := m.join(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, ErrUnderWay) || !isRetryable(err) {
			return time.Time{}, err
		}
		last = err
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("segment %s: the coordinator at %s did not answer within %s (--join-timeout): %v", m.cfg.Segment, m.cfg.Coordinator, m.cfg.JoinTimeout, last)
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
	if err := m.openStream(ctx); err != nil {
		return time.Time{}, err
	}
	// The barrier: the coordinator says when, once every segment is in.
	for {
		select {
		case cmd := <-m.cmds:
			switch {
			case cmd.Error != "":
				return time.Time{}, fmt.Errorf("the fleet did not start: %s", cmd.Error)
			case cmd.StartAt != nil:
				return *cmd.StartAt, nil
			}
		case <-m.lost:
			return time.Time{}, fmt.Errorf("lost the coordinator before the start: %v", m.lostErr.Load())
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// refusal is an answer that retrying cannot change.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func isRetryable(err error) bool {
	var r *refusal
	return !errors.As(err, &r) && !errors.Is(err, context.Canceled)
}

func (m *Member) join(ctx context.Context) error {
	body, _ := json.Marshal(joinRequest{Segment: m.cfg.Segment.String(), Digest: m.cfg.Digest})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.base+"/v1/join", bytes.NewReader(body))
	if err != nil {
		return &refusal{err.Error()}
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var jr joinResponse
	if err := json.NewDecoder(resp.Body).Decode(&jr); err != nil {
		return fmt.Errorf("the coordinator's answer to join: %w", err)
	}
	switch {
	case jr.UnderWay:
		return fmt.Errorf("%w: %s", ErrUnderWay, jr.Error)
	case resp.StatusCode != http.StatusOK:
		return &refusal{"the coordinator refused segment " + m.cfg.Segment.String() + ": " + jr.Error}
	}
	m.token = jr.Token
	return nil
}

// openStream opens the control stream and reads it in the background.
func (m *Member) openStream(ctx context.Context) error {
	q := url.Values{"segment": {m.cfg.Segment.String()}, "token": {m.token}}
	req, err := http.NewRequest(http.MethodGet, m.base+"/v1/control?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := m.stream.Do(req.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return fmt.Errorf("the coordinator's control stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var cmd Command
		_ = json.NewDecoder(resp.Body).Decode(&cmd)
		resp.Body.Close()
		return &refusal{"the coordinator refused the control stream: " + cmd.Error}
	}
	go m.read(resp)
	return nil
}

// read passes the stream's commands on until the verdict; a stream that
// ends before it means the coordinator is gone.
func (m *Member) read(resp *http.Response) {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var cmd Command
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			continue
		}
		if cmd.Stop != "" {
			m.stopWith(cmd.Stop)
		}
		if cmd.StartAt == nil && cmd.Verdict == nil && cmd.Error == "" {
			continue // keepalive, or a stop already handled
		}
		m.cmds <- cmd
		if cmd.Verdict != nil || cmd.Error != "" {
			return
		}
	}
	err := sc.Err()
	if err == nil {
		err = errors.New("the control stream ended")
	}
	m.lostErr.Store(err)
	close(m.lost)
	m.stopWith("lost the coordinator")
}

// Snapshot sends the segment's result so far, unless the previous one is
// still on its way: a slow coordinator or network makes snapshots
// sparser, never the run slower. The answer may tell the segment to
// stop. It is for runtime.Options.Snapshot.
func (m *Member) Snapshot(res *report.Result) {
	if m.token == "" || !m.sending.CompareAndSwap(false, true) {
		return
	}
	// The series and its histograms grow with the run; the coordinator
	// needs the totals alone.
	res.Series = nil
	if res.HDR != nil {
		res.HDR.Seconds, res.HDR.ActionSeconds, res.HDR.LagSeconds = nil, nil, nil
	}
	body, err := json.Marshal(snapshot{Segment: m.cfg.Segment.String(), Token: m.token, Result: res})
	if err != nil {
		m.sending.Store(false)
		return
	}
	go func() {
		defer m.sending.Store(false)
		cmd, err := m.post("/v1/snapshot", body)
		if err == nil && cmd.Stop != "" {
			m.stopWith(cmd.Stop)
		}
	}()
}

// SnapshotBytes is the size of the snapshot Snapshot would send for res,
// for measuring what a coordinator carries.
func SnapshotBytes(res *report.Result) int {
	cp := *res
	cp.Series = nil
	if cp.HDR != nil {
		h := *cp.HDR
		h.Seconds, h.ActionSeconds, h.LagSeconds = nil, nil, nil
		cp.HDR = &h
	}
	b, _ := json.Marshal(snapshot{Segment: "0/1", Token: newToken(), Result: &cp})
	return len(b)
}

func (m *Member) post(path string, body []byte) (Command, error) {
	var cmd Command
	resp, err := m.client.Post(m.base+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return cmd, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&cmd); err != nil {
		return cmd, err
	}
	if resp.StatusCode != http.StatusOK {
		return cmd, fmt.Errorf("the coordinator refused: %s", cmd.Error)
	}
	return cmd, nil
}

// Fail tells the coordinator that the segment could not start, so that
// the fleet fails now rather than at the join timeout. It tries once,
// briefly: the coordinator may not be up, and the segment exits anyway.
func (m *Member) Fail(reason string) {
	body, _ := json.Marshal(failRequest{Segment: m.cfg.Segment.String(), Reason: reason})
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post(m.base+"/v1/fail", "application/json", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
	}
}

// Finish sends the segment's final result and waits for the fleet's
// verdict: its exit code and the summary's last line.
func (m *Member) Finish(ctx context.Context, res *report.Result) (code int, msg string, err error) {
	body, err := json.Marshal(snapshot{Segment: m.cfg.Segment.String(), Token: m.token, Result: res})
	if err != nil {
		return 3, "", err
	}
	if _, err := m.post("/v1/result", body); err != nil {
		return 3, "", fmt.Errorf("sending the result to the coordinator: %w", err)
	}
	for {
		select {
		case cmd := <-m.cmds:
			if cmd.Verdict != nil {
				return *cmd.Verdict, cmd.Message, nil
			}
			if cmd.Error != "" {
				return 3, "", errors.New(cmd.Error)
			}
		case <-m.lost:
			return 3, "", fmt.Errorf("lost the coordinator before the verdict: %v", m.lostErr.Load())
		case <-ctx.Done():
			return 3, "", ctx.Err()
		}
	}
}
