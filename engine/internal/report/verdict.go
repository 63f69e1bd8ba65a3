package report

import (
	"fmt"
	"slices"
	"strings"
)

// Reason is one reason a run failed.
type Reason struct {
	// What kind of reason: setup, teardown, threshold, check,
	// script_error, iterations_failed, users_failed_to_start or
	// arrivals_dropped.
	What string `json:"what"`
	// Count is how many times it happened (1 for a threshold).
	Count int64 `json:"count"`
	// Message says it to a person, with the first error's position in the
	// user's file for a script error.
	Message string `json:"message"`
}

// The kinds of Reason.
const (
	ReasonThreshold     = "threshold"
	ReasonCheck         = "check"
	ReasonScriptError   = "script_error"
	ReasonCalls         = "calls_failed"
	ReasonIterations    = "iterations_failed"
	ReasonFailedToStart = "users_failed_to_start"
	ReasonDropped       = "arrivals_dropped"
	ReasonSetup         = "setup"
	ReasonTeardown      = "teardown"
)

// scriptErrorReasons are the iteration failures that are errors in the
// scenario itself, not in what the target answered.
var scriptErrorReasons = []string{"error", "step-limit"}

// Judge sets Passed and Reasons (spec §6.1). A run fails when a threshold
// fails, a check() fails or a script error happens (a Starlark error, a
// template that cannot be evaluated, a custom action that raises). With
// no thresholds declared, it also fails when a call failed (a 404 the
// flow went past included), an iteration failed, a user failed to start
// or an arrival was dropped: a run with nothing declared passes only when
// everything it was asked to do was done. Thresholds are how a scenario
// says what it tolerates (ACTION.error_rate < 1%). Iterations cut
// off by the end of the run ("interrupted") are not failures of their
// own; Interrupted says the run was cut.
func (r *Result) Judge() {
	var rs []Reason
	if r.SetupError != "" {
		rs = append(rs, Reason{ReasonSetup, 1, r.SetupError + " (no load was sent)"})
	}
	if r.TeardownError != "" {
		rs = append(rs, Reason{ReasonTeardown, 1, r.TeardownError})
	}
	for _, t := range r.Thresholds {
		if t.OK {
			continue
		}
		detail := "value " + t.shownValue()
		if t.Error != "" {
			detail = t.Error
		}
		rs = append(rs, Reason{ReasonThreshold, 1, fmt.Sprintf("threshold %s (%s)", t.Expr, detail)})
	}
	for _, name := range sortedKeys(r.Checks) {
		if n := r.Checks[name].Failed; n > 0 {
			rs = append(rs, Reason{ReasonCheck, n, fmt.Sprintf("check %q failed %s", name, times(n))})
		}
	}
	if n, first := r.scriptErrors(); n > 0 {
		msg := fmt.Sprintf("%d script %s", n, plural(n, "error", "errors"))
		if first != "" {
			msg += ", first: " + first
		}
		rs = append(rs, Reason{ReasonScriptError, n, msg})
	}
	if len(r.Thresholds) == 0 {
		if n, total, by := r.failedCalls(); n > 0 {
			rs = append(rs, Reason{ReasonCalls, n, fmt.Sprintf("%d of %d calls failed%s", n, total, topCounts(by, 3))})
		}
		other := map[string]int64{}
		var n int64
		for reason, k := range r.Iterations.Failures {
			if reason == "interrupted" || slices.Contains(scriptErrorReasons, reason) {
				continue
			}
			other[reason] = k
			n += k
		}
		if n > 0 {
			rs = append(rs, Reason{ReasonIterations, n, fmt.Sprintf("%d of %d iterations failed%s", n, r.Iterations.Total, counts(other))})
		}
		if n := r.Users.FailedToStart; n > 0 {
			rs = append(rs, Reason{ReasonFailedToStart, n, fmt.Sprintf("%d of %d users failed to start%s",
				n, r.Users.Spawned+n, counts(r.Users.StartFailures))})
		}
		if a := r.Arrivals; a != nil && a.Dropped > 0 {
			rs = append(rs, Reason{ReasonDropped, a.Dropped, fmt.Sprintf("%d of %d arrivals dropped (max_users reached or the generator fell behind)", a.Dropped, a.Planned)})
		}
	}
	r.Reasons = rs
	if r.Reasons == nil {
		r.Reasons = []Reason{}
	}
	r.Passed = len(rs) == 0
}

// failedCalls counts the calls that failed, other than those cut off by
// the end of the run and the custom actions that raised (script errors),
// with the failures of each action by kind.
func (r *Result) failedCalls() (n, total int64, by map[string]int64) {
	by = map[string]int64{}
	for _, name := range sortedKeys(r.Actions) {
		a := r.Actions[name]
		total += a.Count
		for kind, c := range a.Errors {
			if kind == "cancelled" || (a.Kind == "custom" && kind == "error") || c == 0 {
				continue
			}
			by[name+" "+kind] += c
			n += c
		}
	}
	return n, total, by
}

// scriptErrors counts the script errors: iterations that ended in a
// Starlark error, and custom actions that raised (the iteration goes on
// after those). first is the first one's message, position first.
func (r *Result) scriptErrors() (n int64, first string) {
	for _, reason := range scriptErrorReasons {
		if k := r.Iterations.Failures[reason]; k > 0 {
			n += k
			if first == "" {
				first = r.Errors["iteration "+reason]
			}
		}
	}
	for _, name := range sortedKeys(r.Actions) {
		a := r.Actions[name]
		if a.Kind != "custom" || a.Errors["error"] == 0 {
			continue
		}
		n += a.Errors["error"]
		if first == "" {
			if msg := r.Errors[name+" error"]; msg != "" {
				first = fmt.Sprintf("action %q: %s", name, msg)
			}
		}
	}
	return n, first
}

// VerdictLine is the summary's last line: "passed", or "FAILED: " and the
// first reasons.
func (r *Result) VerdictLine() string {
	if r.Passed {
		return "passed"
	}
	const shown = 3
	msgs := make([]string, 0, shown)
	for i, rs := range r.Reasons {
		if i == shown {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(r.Reasons)-shown))
			break
		}
		msgs = append(msgs, rs.Message)
	}
	if len(msgs) == 0 {
		return "FAILED"
	}
	return "FAILED: " + strings.Join(msgs, "; ")
}

func times(n int64) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// topCounts formats the largest n counts of m like counts does, saying
// how many more there are.
func topCounts(m map[string]int64, n int) string {
	if len(m) <= n {
		return counts(m)
	}
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int { return int(m[b] - m[a]) })
	parts := make([]string, 0, n+1)
	for _, k := range keys[:n] {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	parts = append(parts, fmt.Sprintf("%d more", len(keys)-n))
	return " (" + strings.Join(parts, ", ") + ")"
}
