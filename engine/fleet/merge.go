// Package fleet runs one scenario as N segments on N machines and gives
// one result (spec §9): the merge of segment results (offline, `ntx
// merge`, or live, by the coordinator), and the coordinator protocol
// over HTTP that lines the segments up, watches them and judges the
// fleet.
package fleet

import (
	"fmt"
	"sort"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
	"github.com/ntx-dev/ntx/engine/metrics"
)

// Merge combines segment results into the fleet's: counters added,
// histograms merged, thresholds (those the parts were judged by) judged
// on the merge. Parts that say which segment they are must be segments
// of one fleet, each once; a fleet's segment without a part is named as
// lost and the result marked incomplete. Parts without a segment (whole
// runs) are merged as they are.
func Merge(parts []*report.Result) (*report.Result, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no results to merge")
	}
	var ts []metrics.Threshold
	seenExpr := map[string]bool{}
	for _, p := range parts {
		if p.Scenario != parts[0].Scenario {
			return nil, fmt.Errorf("the results are of different scenarios (%q and %q)", parts[0].Scenario, p.Scenario)
		}
		for _, t := range p.Thresholds {
			if seenExpr[t.Expr] {
				continue
			}
			seenExpr[t.Expr] = true
			th, err := metrics.ParseThreshold(t.Expr, nil)
			if err != nil {
				return nil, fmt.Errorf("threshold %q: %v", t.Expr, err)
			}
			ts = append(ts, th)
		}
	}
	fl, err := segmentsOf(parts)
	if err != nil {
		return nil, err
	}
	m, err := metrics.Merge(parts, ts)
	if err != nil {
		return nil, err
	}
	if fl != nil {
		m.Fleet = fl
		m.Incomplete = len(fl.Lost) > 0
	}
	return m, nil
}

// segmentsOf checks that the parts that name a segment are distinct
// segments of one fleet, and lists those that are missing.
func segmentsOf(parts []*report.Result) (*report.Fleet, error) {
	var fl *report.Fleet
	have := map[int]bool{}
	whole := 0
	for _, p := range parts {
		if p.Segment == "" {
			whole++
			continue
		}
		seg, err := schedule.ParseSegment(p.Segment)
		if err != nil {
			return nil, err
		}
		if fl == nil {
			fl = &report.Fleet{Segments: seg.N}
		}
		if seg.N != fl.Segments {
			return nil, fmt.Errorf("segment %s is not of the same fleet as segment %s", seg, fl.Merged[0])
		}
		if have[seg.I] {
			return nil, fmt.Errorf("segment %s is given twice", seg)
		}
		have[seg.I] = true
		fl.Merged = append(fl.Merged, seg.String())
	}
	if fl != nil && whole > 0 {
		return nil, fmt.Errorf("a whole run's result cannot be merged with segments' results")
	}
	if fl == nil {
		return nil, nil
	}
	sort.Slice(fl.Merged, func(i, j int) bool { return segIndex(fl.Merged[i]) < segIndex(fl.Merged[j]) })
	for i := 0; i < fl.Segments; i++ {
		if !have[i] {
			fl.Lost = append(fl.Lost, report.LostSegment{Segment: schedule.Segment{I: i, N: fl.Segments}.String(), Reason: "no result"})
		}
	}
	return fl, nil
}

func segIndex(s string) int {
	seg, _ := schedule.ParseSegment(s)
	return seg.I
}
