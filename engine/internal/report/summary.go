package report

import (
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// maxSourceRows bounds the per-address table; the rest is summed up.
const maxSourceRows = 20

// WriteSummary prints the human summary of r.
func (r *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "\nscenario %s: %s in %s\n", r.Scenario, verdict(r.Passed), time.Duration(r.DurationMS*float64(time.Millisecond)).Round(time.Millisecond))
	fmt.Fprintf(w, "users      %d spawned, %d completed, %d failed to start, peak %d concurrent\n",
		r.Users.Spawned, r.Users.Completed, r.Users.FailedToStart, r.Users.PeakConcurrent)
	fmt.Fprintf(w, "iterations %d total, %d passed, %d failed%s\n", r.Iterations.Total, r.Iterations.Passed, r.Iterations.Failed, counts(r.Iterations.Failures))
	if len(r.Users.StartFailures) > 0 {
		fmt.Fprintf(w, "start failures%s\n", counts(r.Users.StartFailures))
	}
	if a := r.Arrivals; a != nil {
		fmt.Fprintf(w, "arrivals   %d planned, %d started, %d dropped\n", a.Planned, a.Started, a.Dropped)
	}
	r.writeFlows(w)

	if len(r.Actions) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		names := sortedKeys(r.Actions)
		nw := width("action", names)
		fmt.Fprintf(tw, "%-*s\tcount\tok\tfailed\trate/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\t errors\t\n", nw, "action")
		secs := r.DurationMS / 1000
		for _, name := range names {
			a := r.Actions[name]
			rate := 0.0
			if secs > 0 {
				rate = float64(a.Count) / secs
			}
			p50, p95, p99, pmax := "-", "-", "-", "-" // no successful call to measure
			if a.OK > 0 {
				p50, p95, p99, pmax = ms(a.Latency.P50), ms(a.Latency.P95), ms(a.Latency.P99), ms(a.Latency.Max)
			}
			fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t %s\t\n", nw, name, a.Count, a.OK, a.Failed, rate,
				p50, p95, p99, pmax, strings.TrimPrefix(counts(a.Errors), " "))
		}
		tw.Flush()
		for _, name := range names {
			if f := r.Actions[name].FailedLatency; f != nil {
				fmt.Fprintf(w, "failed calls of %s: p50 %s ms, p95 %s ms, max %s ms (the columns above are of successful calls only)\n",
					name, ms(f.P50), ms(f.P95), ms(f.Max))
			}
		}
		r.writePhases(w, names)
		if r.Arrivals == nil {
			fmt.Fprintln(w, "latencies exclude queueing: each user waits for its last call before the next (closed model); load.arrival measures latency at a fixed rate")
		}
	}

	if len(r.SourceIPs) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		addrs := sortedAddrs(r.SourceIPs)
		w := width("source address", addrs)
		fmt.Fprintf(tw, "%-*s\trequests\terrors\t\n", w, "source address")
		for i, a := range addrs {
			if i == maxSourceRows {
				var req, errs int64
				for _, rest := range addrs[i:] {
					req += r.SourceIPs[rest].Requests
					errs += r.SourceIPs[rest].Errors
				}
				fmt.Fprintf(tw, "%-*s\t%d\t%d\t\n", w, fmt.Sprintf("(%d more)", len(addrs)-i), req, errs)
				break
			}
			s := r.SourceIPs[a]
			fmt.Fprintf(tw, "%-*s\t%d\t%d\t\n", w, a, s.Requests, s.Errors)
		}
		tw.Flush()
	}

	if len(r.Pools) > 0 {
		fmt.Fprintln(w)
		for _, id := range sortedKeys(r.Pools) {
			p := r.Pools[id]
			fmt.Fprintf(w, "pool %s: %d addresses, peak %d allocated, %d waits, %d exhausted\n", id, p.Size, p.PeakAllocated, p.Waits, p.Exhausted)
		}
	}
	if len(r.Checks) > 0 {
		fmt.Fprintln(w)
		for _, name := range sortedKeys(r.Checks) {
			c := r.Checks[name]
			mark := "ok  "
			if c.Failed > 0 {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "check %s %s: %d passed, %d failed\n", mark, name, c.Passed, c.Failed)
		}
	}
	if len(r.Thresholds) > 0 {
		fmt.Fprintln(w)
		for _, t := range r.Thresholds {
			mark := "ok  "
			if !t.OK {
				mark = "FAIL"
			}
			detail := "value " + t.shownValue()
			if t.Error != "" {
				detail = t.Error
			}
			fmt.Fprintf(w, "threshold %s %s (%s)\n", mark, t.Expr, detail)
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w)
		for _, k := range sortedKeys(r.Errors) {
			fmt.Fprintf(w, "first %s: %s\n", k, r.Errors[k])
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, msg := range r.Warnings {
			fmt.Fprintf(w, "warning: %s\n", msg)
		}
	}
	fmt.Fprintln(w)
	r.writeFleet(w)
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted: the run was stopped before its end; these results cover what completed")
	}
	fmt.Fprintln(w, r.VerdictLine())
}

// phaseNames are the HTTP timing phases in the order they happen.
var phaseNames = []string{"dns", "connect", "tls", "send", "wait", "receive"}

// writePhases prints where the time of each HTTP action went, as k6's
// summary does (http_req_connecting, http_req_waiting...): the mean and
// p95 of each phase of its successful calls, one line per action.
func (r *Result) writePhases(w io.Writer, names []string) {
	var timed []string
	for _, name := range names {
		if r.Actions[name].Timings != nil {
			timed = append(timed, name)
		}
	}
	if len(timed) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	nw := width("HTTP phases, ms", timed)
	fmt.Fprintf(tw, "%-*s\t%s\t\n", nw, "HTTP phases, ms", strings.Join(phaseNames, "\t"))
	for _, name := range timed {
		cells := make([]string, len(phaseNames))
		for i, p := range phaseNames {
			l := r.Actions[name].Timings[p]
			cells[i] = ms(l.Mean) + " / " + ms(l.P95)
		}
		fmt.Fprintf(tw, "%-*s\t%s\t\n", nw, name, strings.Join(cells, "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w, "each phase: mean / p95 of the successful calls (wait: request sent to first byte); a reused connection spends no time in dns, connect, tls")
}

// width is the widest of a column's title and cells: the first column is
// padded to it, so that it reads left-aligned while the numbers, through
// the right-aligning tabwriter, line up on the right.
func width(title string, cells []string) int {
	w := len(title)
	for _, c := range cells {
		w = max(w, len(c))
	}
	return w
}

func verdict(ok bool) string {
	if ok {
		return "passed"
	}
	return "FAILED"
}

func ms(v float64) string { return fmt.Sprintf("%.2f", v) }

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// counts formats a map of counts as " (a 1, b 2)", or "" when empty.
func counts(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// sortedAddrs orders addresses numerically, not as strings.
func sortedAddrs(m map[string]*SourceIP) []string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool {
		a, errA := netip.ParseAddr(keys[i])
		b, errB := netip.ParseAddr(keys[j])
		if errA != nil || errB != nil {
			return keys[i] < keys[j]
		}
		return a.Less(b)
	})
	return keys
}

// writeFlows prints the flows of a user mix, when there is more than one:
// the share of the users each drew against its weight's share, its
// iterations and how long its passed ones took.
func (r *Result) writeFlows(w io.Writer) {
	if len(r.Flows) < 2 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ids := sortedKeys(r.Flows)
	nw := width("flow", ids)
	var users int64
	var weights float64
	for _, f := range r.Flows {
		users += f.Users
		weights += f.Weight
	}
	fmt.Fprintf(tw, "%-*s	weight	users	iterations	passed	failed	p50 ms	p95 ms	max ms\t\n", nw, "flow")
	for _, id := range ids {
		f := r.Flows[id]
		share, want := 0.0, 0.0
		if users > 0 {
			share = 100 * float64(f.Users) / float64(users)
		}
		if weights > 0 {
			want = 100 * f.Weight / weights
		}
		p50, p95, pmax := "-", "-", "-"
		if d := f.Duration; d != nil {
			p50, p95, pmax = ms(d.P50), ms(d.P95), ms(d.Max)
		}
		fmt.Fprintf(tw, "%-*s\t%s (%.0f%%)\t%d (%.1f%%)\t%d\t%d\t%d\t%s\t%s\t%s\t\n", nw, id, trimFloat(f.Weight), want,
			f.Users, share, f.Iterations, f.Passed, f.Failed, p50, p95, pmax)
	}
	tw.Flush()
	fmt.Fprintln(w, "a flow's durations are of its passed iterations, from the flow's call to its return")
}
