package engine_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
	"github.com/ntx-dev/ntx/engine/target"
)

// segmentScenario has two overlapping phases (one spread), a pool of 6
// addresses (127.3.0.1-6), shared binding, and a unique dataset (of 9
// rows in the test): each request says which user and which row it is.
const segmentScenario = `
version: "1.0"
name: segments
workbook:
  ip_pools:
    - id: p
      ranges: ["127.3.0.0/29"]
data:
  - {id: rows, file: rows.csv, order: unique, on_exhausted: fail_iteration}
load:
  ramp_up:
    phases:
      - {at_second: 0, spawn_users: 5, spread: 40ms}
      - {at_second: 0.01, spawn_users: 4}
  user_resources:
    ip_binding: {enabled: true, pool_id: p, strategy: shared}
actions:
  actions:
    - id: get
      call: get
      with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset?user={{user.id}}&row={{data.rows.n}}"}
workflows:
  nodes:
    - {id: start, type: action, action: get, edges: [{to: end}]}
    - {id: end, type: end}
`

// TestSegmentsTogetherDoTheWholeRun runs a scenario whole, then as 3
// segments one after the other: the target sees the same users, each
// data row once, and each source address from one segment only, inside
// that segment's slice of the pool.
func TestSegmentsTogetherDoTheWholeRun(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "rows.csv", "n\n1\n2\n3\n4\n5\n6\n7\n8\n9\n")
	file := writeFile(t, dir, "s.yaml", segmentScenario)

	requests := func(seg schedule.Segment) []target.Seen {
		srv.Reset()
		opts := engine.Options{Options: runOpts()}
		opts.Segment = seg
		if _, err := engine.Run(context.Background(), file, nil, opts); err != nil {
			t.Fatalf("segment %v: %v", seg, err)
		}
		settle(srv)
		return srv.Seen()
	}
	users := func(seen []target.Seen) (us, rows []string) {
		for _, s := range seen {
			for _, kv := range strings.Split(s.Query, "&") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "user":
					us = append(us, v)
				case "row":
					if v != "" {
						rows = append(rows, v)
					}
				}
			}
		}
		slices.Sort(us)
		slices.Sort(rows)
		return us, rows
	}
	wholeUsers, wholeRows := users(requests(schedule.Segment{}))
	if len(wholeUsers) != 9 || len(wholeRows) != 9 {
		t.Fatalf("the whole run: users %v, rows %v; want 9 users and 9 rows", wholeUsers, wholeRows)
	}
	const n = 3
	var segUsers, segRows []string
	owner := map[string]int{}
	for i := 0; i < n; i++ {
		seen := requests(schedule.Segment{I: i, N: n})
		u, r := users(seen)
		segUsers, segRows = append(segUsers, u...), append(segRows, r...)
		lo, hi := schedule.Segment{I: i, N: n}.Range(6)
		for _, s := range seen {
			a := netip.MustParseAddr(s.Source)
			idx := int(a.As4()[3]) - 1 // 127.3.0.1 is address 0
			if idx < lo || idx >= hi {
				t.Errorf("segment %d sent from %s, outside its slice [%d,%d) of the pool", i, a, lo, hi)
			}
			if o, ok := owner[s.Source]; ok && o != i {
				t.Errorf("address %s used by segments %d and %d", s.Source, o, i)
			}
			owner[s.Source] = i
		}
	}
	slices.Sort(segUsers)
	slices.Sort(segRows)
	if !slices.Equal(segUsers, wholeUsers) {
		t.Errorf("the segments' users %v, the whole run's %v", segUsers, wholeUsers)
	}
	// 9 rows over 3 segments, 3 each, for 3 users each: every row is
	// read once, by one segment.
	if !slices.Equal(segRows, wholeRows) {
		t.Errorf("the segments read rows %v, want each of %v once", segRows, wholeRows)
	}
}

// TestSegmentWithoutAddressesFailsToStart: a pool smaller than the fleet
// leaves a segment without addresses, which is said before any load.
func TestSegmentWithoutAddressesFailsToStart(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "rows.csv", "n\n1\n")
	file := writeFile(t, dir, "s.yaml", segmentScenario)
	opts := engine.Options{Options: runOpts()}
	opts.Segment = schedule.Segment{I: 0, N: 7}
	_, err := engine.Run(context.Background(), file, nil, opts)
	if !engine.IsStartError(err) || !strings.Contains(err.Error(), `ip pool "p" has 6 addresses, fewer than the 7 segments: segment 0/7 gets none`) {
		t.Fatalf("got %v", err)
	}
}
