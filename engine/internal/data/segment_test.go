package data

import (
	"errors"
	"testing"

	"github.com/ntx-dev/ntx/engine/internal/schedule"
)

// TestSegmentedUniqueRowsAreDisjoint: N segments together hand out each
// row of a unique dataset exactly once, including with fewer rows than
// segments; other orders keep all their rows.
func TestSegmentedUniqueRowsAreDisjoint(t *testing.T) {
	for _, c := range []struct{ rows, n int }{{10, 3}, {62, 4}, {3, 4}, {1, 7}, {100, 1}} {
		table := numbers(t, c.rows)
		seen := map[string]int{}
		for i := 0; i < c.n; i++ {
			srcs, err := SegmentSources([]Source{
				{ID: "u", Order: Unique, OnExhausted: FailIteration, Table: table},
				{ID: "p", Order: PerUser, Table: table},
			}, schedule.Segment{I: i, N: c.n})
			if err != nil {
				t.Fatal(err)
			}
			if srcs[1].Table.Len() != c.rows {
				t.Errorf("a per_user dataset was cut to %d rows", srcs[1].Table.Len())
			}
			v := NewFeeds(srcs, 1).View(1)
			for it := 1; ; it++ {
				v.Begin(it)
				row, err := v.Row("u")
				var ex *ExhaustedError
				if errors.As(err, &ex) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				seen[row.String()]++
			}
		}
		if len(seen) != c.rows {
			t.Errorf("%d rows over %d segments: %d distinct rows handed out", c.rows, c.n, len(seen))
		}
		for row, k := range seen {
			if k != 1 {
				t.Errorf("%d rows over %d segments: row %s handed out %d times", c.rows, c.n, row, k)
			}
		}
	}
	// A recycling dataset with an empty slice has nothing to recycle.
	_, err := SegmentSources([]Source{{ID: "u", Order: Unique, OnExhausted: Recycle, Table: numbers(t, 2)}}, schedule.Segment{I: 0, N: 3})
	if err == nil {
		t.Error("a recycling dataset with no row in its slice was accepted")
	}
}
