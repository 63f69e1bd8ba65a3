package schedule

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestParseSegment(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Segment
		err  bool
	}{
		{"0/1", Segment{0, 1}, false},
		{"3/4", Segment{3, 4}, false},
		{" 2 / 5", Segment{2, 5}, false},
		{"4/4", Segment{}, true},
		{"-1/4", Segment{}, true},
		{"0/0", Segment{}, true},
		{"1", Segment{}, true},
		{"a/b", Segment{}, true},
		{"0/100000", Segment{}, true},
	} {
		got, err := ParseSegment(c.in)
		if (err != nil) != c.err || !c.err && got != c.want {
			t.Errorf("ParseSegment(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
	if (Segment{}).String() != "0/1" || !(Segment{}).Whole() {
		t.Error("the zero Segment is not the whole run")
	}
}

// TestRangePartitions: for every n and N, the N slices are contiguous,
// disjoint, in order, cover [0, n) and differ in length by at most one.
func TestRangePartitions(t *testing.T) {
	for N := 1; N <= 9; N++ {
		for n := 0; n <= 70; n++ {
			next, lens := 0, []int{}
			for i := 0; i < N; i++ {
				lo, hi := Segment{i, N}.Range(n)
				if lo != next || hi < lo {
					t.Fatalf("n=%d N=%d: segment %d has [%d,%d), want it to start at %d", n, N, i, lo, hi, next)
				}
				next = hi
				lens = append(lens, hi-lo)
			}
			if next != n {
				t.Fatalf("n=%d N=%d: slices end at %d", n, N, next)
			}
			if slices.Max(lens)-slices.Min(lens) > 1 {
				t.Fatalf("n=%d N=%d: uneven slices %v", n, N, lens)
			}
		}
	}
	// A pool smaller than the fleet: some segments get nothing.
	empty := 0
	for i := 0; i < 4; i++ {
		if lo, hi := (Segment{i, 4}).Range(3); lo == hi {
			empty++
		}
	}
	if empty != 1 {
		t.Errorf("3 addresses over 4 segments: %d empty slices, want 1", empty)
	}
}

// TestSegmentedClosedPlanIsTheWholePlan: the N segments' users, merged
// by start time, are exactly the whole plan's (same ids, phases and
// times), for phases with spread, at once, overlapping, and odd N.
func TestSegmentedClosedPlanIsTheWholePlan(t *testing.T) {
	plans := [][]Phase{
		{{At: 0, Users: 10, Spread: time.Second}},
		{{At: 0, Users: 7}, {At: 500 * ms, Users: 13, Spread: 3 * time.Second}, {At: time.Second, Users: 1}},
		{{At: 0, Users: 2}, {At: 0, Users: 3, Spread: 10 * ms}},
		{{At: 2 * time.Second, Users: 1000, Spread: 7 * time.Second}, {At: 3 * time.Second, Users: 333, Spread: time.Second}},
	}
	for pi, phases := range plans {
		c, err := NewClosed(phases)
		if err != nil {
			t.Fatal(err)
		}
		var whole []Spawn
		cur := c.Cursor()
		for s, ok := cur.Next(); ok; s, ok = cur.Next() {
			whole = append(whole, s)
		}
		for _, N := range []int{1, 2, 3, 4, 7, 2000} {
			var all []Spawn
			perPhase := make([][]int, len(phases))
			var totals []int
			for i := 0; i < N; i++ {
				seg := Segment{i, N}
				sc := c.SegmentCursor(seg)
				n := 0
				var last time.Duration
				counts := make([]int, len(phases))
				for s, ok := sc.Next(); ok; s, ok = sc.Next() {
					if s.At < last {
						t.Fatalf("plan %d, %v: user %d at %v before the previous %v", pi, seg, s.User, s.At, last)
					}
					last = s.At
					all = append(all, s)
					counts[s.Phase]++
					n++
				}
				totals = append(totals, n)
				if n != c.SegmentUsers(seg) {
					t.Errorf("plan %d, %v: walked %d users, SegmentUsers says %d", pi, seg, n, c.SegmentUsers(seg))
				}
				for p, k := range counts {
					perPhase[p] = append(perPhase[p], k)
				}
			}
			slices.SortFunc(all, func(a, b Spawn) int { return a.User - b.User })
			if !slices.Equal(all, whole) {
				t.Fatalf("plan %d, N=%d: the segments' users are not the whole plan's", pi, N)
			}
			// Each phase is split evenly, and so is the whole plan: shares
			// differ by at most one.
			if slices.Max(totals)-slices.Min(totals) > 1 {
				t.Errorf("plan %d, N=%d: users split %v", pi, N, totals)
			}
			for p, ks := range perPhase {
				if slices.Max(ks)-slices.Min(ks) > 1 {
					t.Errorf("plan %d, N=%d: phase %d split %v", pi, N, p, ks)
				}
			}
		}
	}
}

// TestSegmentedArrivalsAreTheWholePlan: arrival k goes to segment k mod
// N at the whole plan's time; the segments' arrivals together are the
// whole plan's, and their Due counts add up to the whole plan's at
// every moment (so the rates add up exactly).
func TestSegmentedArrivalsAreTheWholePlan(t *testing.T) {
	for _, c := range []struct {
		rate   float64
		window time.Duration
	}{{400, 10 * time.Second}, {3, time.Second + 1}, {7, 10*time.Second + 1}, {1000.0 / 3, 2 * time.Second}, {1, 2 * time.Second}} {
		whole, err := NewArrivals(c.rate, c.window)
		if err != nil {
			t.Fatal(err)
		}
		for _, N := range []int{1, 2, 3, 4, 5, 7, 1000} {
			seen := make([]int, whole.Len())
			total := 0
			for i := 0; i < N; i++ {
				sa := whole.Segment(Segment{i, N})
				for j := 0; j < sa.Len(); j++ {
					k := sa.Index(j)
					if k%N != i || sa.At(j) != whole.At(k) {
						t.Fatalf("rate %v N=%d segment %d: arrival %d is whole arrival %d at %v", c.rate, N, i, j, k, sa.At(j))
					}
					seen[k]++
				}
				total += sa.Len()
			}
			if total != whole.Len() {
				t.Fatalf("rate %v N=%d: %d arrivals in the segments, %d in the whole plan", c.rate, N, total, whole.Len())
			}
			for k, n := range seen {
				if n != 1 {
					t.Fatalf("rate %v N=%d: whole arrival %d planned %d times", c.rate, N, k, n)
				}
			}
			for _, e := range []time.Duration{-1, 0, 1, 2 * ms, 333 * ms, time.Second, c.window / 2, c.window, time.Hour} {
				sum := 0
				for i := 0; i < N; i++ {
					sum += whole.Segment(Segment{i, N}).Due(e)
				}
				if sum != whole.Due(e) {
					t.Errorf("rate %v N=%d: Due(%v) adds up to %d, the whole plan's is %d", c.rate, N, e, sum, whole.Due(e))
				}
			}
		}
	}
}

func TestSegmentRatesAddUp(t *testing.T) {
	for _, N := range []int{1, 3, 4, 7} {
		sum := 0.0
		for i := 0; i < N; i++ {
			sum += Segment{i, N}.Rate(100)
		}
		if d := sum - 100; d > 1e-9 || d < -1e-9 {
			t.Errorf("N=%d: rates add up to %v", N, sum)
		}
	}
}

func ExampleSegment_Range() {
	// A /26 pool (62 usable addresses) over 4 segments.
	for i := 0; i < 4; i++ {
		lo, hi := Segment{i, 4}.Range(62)
		fmt.Printf("segment %d: addresses %d to %d\n", i, lo, hi-1)
	}
	// Output:
	// segment 0: addresses 0 to 14
	// segment 1: addresses 15 to 30
	// segment 2: addresses 31 to 45
	// segment 3: addresses 46 to 61
}
