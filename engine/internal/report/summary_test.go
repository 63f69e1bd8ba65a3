package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestSummaryPrintsTheMix: with more than one flow, the summary has a
// table of them: the share each was meant to get and the share it got.
// With one flow it has none.
func TestSummaryPrintsTheMix(t *testing.T) {
	r := &Result{Scenario: "mix", Flows: map[string]*Flow{
		"browse": {Weight: 80, Users: 785, Iterations: 1570, Passed: 1570, Duration: &Latency{P50: 1.5, P95: 4.25, Max: 9}},
		"buy":    {Weight: 20, Users: 215, Iterations: 430, Passed: 428, Failed: 2},
	}}
	var b bytes.Buffer
	r.WriteSummary(&b)
	out := b.String()
	for _, want := range []string{
		"flow      weight        users  iterations  passed  failed  p50 ms  p95 ms  max ms",
		"browse  80 (80%)  785 (78.5%)        1570    1570       0    1.50    4.25    9.00",
		"buy     20 (20%)  215 (21.5%)         430     428       2       -       -       -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	delete(r.Flows, "buy")
	b.Reset()
	r.WriteSummary(&b)
	if strings.Contains(b.String(), "weight") {
		t.Errorf("a single flow got a table:\n%s", b.String())
	}
}

// TestThresholdValuesInTheExpressionsUnits: the summary prints a
// threshold's value the way its limit is written: a latency with its
// unit, a rate of errors against a percentage as one, counts whole.
func TestThresholdValuesInTheExpressionsUnits(t *testing.T) {
	r := &Result{Scenario: "u", Thresholds: []Threshold{
		{Expr: "flows.buy.p95 < 1s", OK: true, Value: 111.935, Unit: UnitMS},
		{Expr: "a.p99 < 2s", Value: 2500, Unit: UnitMS},
		{Expr: "a.error_rate < 1%", Value: 0.5, Unit: UnitFraction},
		{Expr: "a.error_rate < 0.01", Value: 0.5, Unit: UnitFraction},
		{Expr: "iterations.passed == 1", OK: true, Value: 1, Unit: UnitCount},
		{Expr: "a.rate > 100", Value: 12.5, Unit: UnitPerSecond},
		{Expr: "a.mean < 5", Value: 0.25, Unit: UnitMS},
	}}
	var b bytes.Buffer
	r.WriteSummary(&b)
	out := b.String()
	for _, want := range []string{
		"threshold ok   flows.buy.p95 < 1s (value 111.9ms)",
		"threshold FAIL a.p99 < 2s (value 2.5s)",
		"threshold FAIL a.error_rate < 1% (value 50%)",
		"threshold FAIL a.error_rate < 0.01 (value 0.5)",
		"threshold ok   iterations.passed == 1 (value 1)",
		"threshold FAIL a.rate > 100 (value 12.5/s)",
		"threshold FAIL a.mean < 5 (value 0.25ms)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
