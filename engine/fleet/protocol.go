package fleet

import (
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// The protocol between a fleet's segments and its coordinator is JSON
// over HTTP/1.1, four calls, each made by a segment:
//
//	POST /v1/join      {segment, digest} -> {token}; 409 with the reason when refused
//	GET  /v1/control   a stream of Commands, one JSON object a line, held open for the run
//	POST /v1/snapshot  the segment's cumulative result so far, about once a second -> Command
//	POST /v1/result    the segment's final result
//	POST /v1/fail      {segment, reason}: the segment could not start; the fleet fails at once
//
// The control stream carries the start time once every segment has
// joined (the ready barrier), a stop when the fleet must stop, and the
// fleet's verdict at the end. A segment whose stream closes before its
// result arrived (its process died) is lost; so is one that says nothing
// for Config.LostAfter (its machine is gone). A segment that joins after
// the start (a re-created pod) is refused, so that its load is not sent
// twice. The coordinator never waits on one segment to serve another:
// each is served on its own connections, and the fleet's numbers are
// made of the latest snapshot of each.

// joinRequest is the body of /v1/join.
type joinRequest struct {
	Segment string `json:"segment"` // "I/N"
	Digest  string `json:"digest"`  // of the scenario, so that every segment runs the same one
}

// joinResponse is the answer to /v1/join, or its refusal.
type joinResponse struct {
	Token string `json:"token,omitempty"`
	Error string `json:"error,omitempty"`
	// UnderWay is set when the refusal is because the run has started.
	UnderWay bool `json:"under_way,omitempty"`
}

// Command is one line of the control stream, or the answer to a
// snapshot. Only the fields that apply are set.
type Command struct {
	// StartAt is the plan's time 0, the same for every segment.
	StartAt *time.Time `json:"start_at,omitempty"`
	// Stop asks the segment to stop as at the end of its duration (no new
	// iterations, graceful_stop for those in flight), saying why.
	Stop string `json:"stop,omitempty"`
	// Verdict is the fleet's exit code (spec §6.1; 3 when incomplete),
	// with the summary's last line; the stream ends after it.
	Verdict *int   `json:"verdict,omitempty"`
	Message string `json:"message,omitempty"`
	// Error ends the fleet before it started (a segment never joined).
	Error string `json:"error,omitempty"`
}

// snapshot is the body of /v1/snapshot and /v1/result.
type snapshot struct {
	Segment string         `json:"segment"`
	Token   string         `json:"token"`
	Result  *report.Result `json:"result"`
}

// failRequest is the body of /v1/fail.
type failRequest struct {
	Segment string `json:"segment"`
	Reason  string `json:"reason"`
}
