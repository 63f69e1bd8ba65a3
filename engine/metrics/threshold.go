package metrics

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/suggest"
)

// Op is a threshold's comparison.
type Op string

// The comparisons a threshold may use.
const (
	OpLT Op = "<"
	OpLE Op = "<="
	OpGT Op = ">"
	OpGE Op = ">="
	OpEQ Op = "=="
	OpNE Op = "!="
)

// Holds reports whether "v op limit" is true.
func (o Op) Holds(v, limit float64) bool {
	switch o {
	case OpLT:
		return v < limit
	case OpLE:
		return v <= limit
	case OpGT:
		return v > limit
	case OpGE:
		return v >= limit
	case OpEQ:
		return v == limit
	case OpNE:
		return v != limit
	}
	return false
}

// Unit is how a threshold's limit was written.
type Unit int

// The units of a limit.
const (
	UnitNumber   Unit = iota // a plain number: milliseconds for a latency, a fraction for a rate of errors
	UnitDuration             // 200ms, 1.5s: stored in milliseconds
	UnitPercent              // 1%: stored as a fraction
)

// Subject is what a threshold measures.
type Subject int

// The subjects of a threshold.
const (
	SubjectAction     Subject = iota // one action, or one named call
	SubjectHTTP                      // every HTTP call together
	SubjectIterations                // iteration outcomes
	SubjectArrivals                  // the open model's arrivals
	SubjectChecks                    // check() outcomes
	SubjectFlow                      // one flow of a user mix: flows.ID.STAT
)

// Stat is the statistic a threshold compares.
type Stat string

// The statistics. StatPercentile goes with Threshold.Quantile.
const (
	StatPercentile Stat = "percentile"
	StatMean       Stat = "mean"
	StatMin        Stat = "min"
	StatMax        Stat = "max"
	StatErrorRate  Stat = "error_rate"
	StatCount      Stat = "count"
	StatRate       Stat = "rate" // calls per second of the run
	StatFailed     Stat = "failed"
	StatPassed     Stat = "passed"
	StatTotal      Stat = "total"
	StatDropped    Stat = "dropped"
	StatStarted    Stat = "started"
	StatPlanned    Stat = "planned"
	StatUsers      Stat = "users"      // a flow's users
	StatIterations Stat = "iterations" // a flow's iterations
)

// latency reports whether s is a latency statistic (in milliseconds).
func (s Stat) latency() bool {
	return s == StatPercentile || s == StatMean || s == StatMin || s == StatMax
}

// Threshold is a threshold (spec §6) parsed into what evaluation needs.
type Threshold struct {
	Expr     string  // as written
	Subject  Subject //
	Name     string  // the action, for SubjectAction
	Phase    string  // an HTTP timing phase, or ""
	Stat     Stat    //
	Quantile float64 // for StatPercentile: 95 for p95, 99.9 for p999
	Op       Op      //
	Limit    float64 // milliseconds for latencies, a fraction for percentages
	Unit     Unit    // how Limit was written
}

// ValueUnit is the unit of the threshold's measured value, as the result
// reports it (report.Threshold.Unit): "ms" for a latency, "fraction" for
// a rate of errors, "per_second" for a rate of calls, "count" for the rest.
func (t Threshold) ValueUnit() string {
	switch {
	case t.Stat.latency():
		return report.UnitMS
	case t.Stat == StatErrorRate:
		return report.UnitFraction
	case t.Stat == StatRate:
		return report.UnitPerSecond
	}
	return report.UnitCount
}

// Metric is the threshold's left-hand side, as written.
func (t Threshold) Metric() string {
	m, _, _ := splitThreshold(t.Expr)
	return m
}

// thresholdPattern is the form of a threshold: METRIC OP VALUE.
var thresholdPattern = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$`)

func splitThreshold(expr string) (metric, op, limit string) {
	m := thresholdPattern.FindStringSubmatch(expr)
	if m == nil {
		return "", "", ""
	}
	return m[1], m[2], m[3]
}

// ParseThreshold parses a threshold. actions lists the names calls can be
// measured under when they are known before the run (a YAML scenario's
// action ids); nil means they are not, and any name is accepted. The
// error says what is wrong and, where it can, what was meant.
func ParseThreshold(expr string, actions []string) (Threshold, error) {
	metric, op, limitText := splitThreshold(expr)
	if metric == "" {
		return Threshold{}, fmt.Errorf("not of the form METRIC OP VALUE (e.g. \"get-status.p95 < 200ms\")")
	}
	t := Threshold{Expr: expr, Op: Op(op)}
	var err error
	if t.Limit, t.Unit, err = parseLimit(limitText); err != nil {
		return Threshold{}, err
	}
	dot := strings.LastIndex(metric, ".")
	if dot < 0 {
		return Threshold{}, fmt.Errorf("%q names no statistic (write ACTION.p95, http.p99, iterations.failed...)", metric)
	}
	name, stat := metric[:dot], metric[dot+1:]
	switch name {
	case "iterations":
		t.Subject = SubjectIterations
		if err := t.setStat(stat, "iterations", StatFailed, StatPassed, StatTotal); err != nil {
			return Threshold{}, err
		}
	case "checks":
		t.Subject = SubjectChecks
		if err := t.setStat(stat, "checks", StatFailed, StatPassed); err != nil {
			return Threshold{}, err
		}
	case "arrivals":
		t.Subject = SubjectArrivals
		if err := t.setStat(stat, "arrivals", StatDropped, StatStarted, StatPlanned); err != nil {
			return Threshold{}, err
		}
	default:
		if id, ok := strings.CutPrefix(name, "flows."); ok && !slices.Contains(actions, name) {
			// flows.ID.STAT, as the result's "flows" section: a flow of a
			// user mix; which flows exist is checked by the caller.
			t.Subject, t.Name = SubjectFlow, id
			if err := t.setStat(stat, name, StatIterations, StatPassed, StatFailed, StatErrorRate, StatUsers,
				StatPercentile, StatMean, StatMin, StatMax); err != nil {
				return Threshold{}, err
			}
			break
		}
		t.Subject, t.Name = SubjectAction, name
		if name == "http" {
			t.Subject, t.Name = SubjectHTTP, ""
		} else if !slices.Contains(actions, name) {
			if i := strings.LastIndex(name, "."); i >= 0 && phaseNamed(name[i+1:]) >= 0 {
				t.Name, t.Phase = name[:i], name[i+1:]
			}
			if actions != nil && !slices.Contains(actions, t.Name) {
				return Threshold{}, fmt.Errorf("%q is not an action%s", t.Name, suggest.DidYouMean(t.Name, actions))
			}
		}
		// Where the names are not known (a .star file), NAME.PHASE may
		// also be a call measured under that dotted name (a WebSocket's
		// NAME.connect), which has every statistic: evaluation decides.
		if t.Phase != "" && actions != nil {
			if err := t.setStat(stat, t.Name+"."+t.Phase, StatPercentile, StatMean, StatMin, StatMax); err != nil {
				return Threshold{}, err
			}
		} else if err := t.setStat(stat, name, StatPercentile, StatMean, StatMin, StatMax, StatErrorRate, StatCount, StatRate); err != nil {
			return Threshold{}, err
		}
	}
	switch {
	case t.Unit == UnitDuration && !t.Stat.latency():
		return Threshold{}, fmt.Errorf("%s is not a latency: compare it with a number, not the duration %s", metric, limitText)
	case t.Unit == UnitPercent && t.Stat != StatErrorRate:
		return Threshold{}, fmt.Errorf("%s is not a rate of errors: compare it with a number, not the percentage %s", metric, limitText)
	}
	return t, nil
}

// setStat sets t's statistic from its name, if it is one of allowed.
func (t *Threshold) setStat(stat, subject string, allowed ...Stat) error {
	if slices.Contains(allowed, StatPercentile) {
		if q, ok := percentile(stat); ok {
			t.Stat, t.Quantile = StatPercentile, q
			return nil
		}
	}
	if slices.Contains(allowed, Stat(stat)) && Stat(stat) != StatPercentile {
		t.Stat = Stat(stat)
		return nil
	}
	names := make([]string, 0, len(allowed))
	for _, a := range allowed {
		if a == StatPercentile {
			names = append(names, "p50", "p90", "p95", "p99", "p999")
		} else {
			names = append(names, string(a))
		}
	}
	return fmt.Errorf("%s has no statistic %q%s (it has %s)", subject, stat, suggest.DidYouMean(stat, names),
		strings.Join(names, ", "))
}

// parseLimit reads a threshold's right-hand side: a number, a duration
// (in milliseconds) or a percentage (as a fraction).
func parseLimit(s string) (float64, Unit, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, 0, fmt.Errorf("%q is not a percentage", s)
		}
		return f / 100, UnitPercent, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f, UnitNumber, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a number, a duration (200ms) or a percentage (1%%)", s)
	}
	return float64(d) / float64(time.Millisecond), UnitDuration, nil
}

// percentile reads "p95" as 95, "p100" as 100, "p999" as 99.9 and
// "p9999" as 99.99.
func percentile(stat string) (float64, bool) {
	digits, ok := strings.CutPrefix(stat, "p")
	if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false
	}
	q := float64(n)
	if len(digits) > 2 && strings.HasPrefix(digits, "99") {
		q /= math.Pow(10, float64(len(digits)-2)) // p999 is 99.9, p9999 99.99
	}
	if q > 100 {
		return 0, false
	}
	return q, true
}

// phaseNamed is the phase of that name, or -1.
func phaseNamed(name string) Phase {
	for p, n := range Phases {
		if n == name {
			return Phase(p)
		}
	}
	return -1
}
