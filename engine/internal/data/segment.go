package data

import (
	"fmt"

	"github.com/ntx-dev/ntx/engine/internal/schedule"
)

// SegmentSources returns the datasets as segment seg of a fleet sees
// them (spec §9): each unique dataset keeps only the segment's
// contiguous slice of its rows, so that no row is handed out by two
// segments; the other orders keep every row (per_user rows follow the
// user ids, which are unique across the fleet). A recycling unique
// dataset whose slice is empty is refused: it would have no row to
// start over from.
func SegmentSources(sources []Source, seg schedule.Segment) ([]Source, error) {
	if seg.Whole() {
		return sources, nil
	}
	out := make([]Source, len(sources))
	for i, s := range sources {
		out[i] = s
		if s.Order != Unique || s.Table == nil {
			continue
		}
		lo, hi := seg.Range(s.Table.Len())
		if lo == hi && s.OnExhausted == Recycle {
			return nil, fmt.Errorf("dataset %q has %d unique rows, fewer than the %d segments: segment %s gets none to recycle (give it at least %d rows, or run fewer segments)",
				s.ID, s.Table.Len(), seg.N, seg, seg.N)
		}
		out[i].Table = s.Table.slice(lo, hi)
	}
	return out, nil
}
