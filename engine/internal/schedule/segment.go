package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Segment is one of N parts of a run that several processes (machines,
// pods) share (spec §9): segment I of N, I from 0. The zero value and
// {0, 1} are the whole run.
//
// Segments split the work exactly and disjointly, as pure functions of
// the whole plan: user i of each phase goes to segment (b + i) mod N,
// where b is the number of users of the phases before it, arrival
// k of the open model to segment k mod N, and each list that must not
// be shared (a pool's addresses, a unique dataset's rows) is cut into N
// contiguous slices by Range. Every segment computes its part alone;
// the N parts together are the whole plan.
type Segment struct {
	I, N int
}

// ParseSegment reads "I/N" (I from 0, 0 ≤ I < N).
func ParseSegment(s string) (Segment, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil {
		return Segment{}, fmt.Errorf("segment %q is not I/N (e.g. 0/4: the first of four segments)", s)
	}
	seg := Segment{I: i, N: n}
	return seg, seg.Check()
}

// Check refuses a segment outside its count.
func (s Segment) Check() error {
	switch {
	case s.N < 1:
		return fmt.Errorf("segment %d/%d: there must be at least one segment", s.I, s.N)
	case s.N > MaxSegments:
		return fmt.Errorf("segment %d/%d: at most %d segments", s.I, s.N, MaxSegments)
	case s.I < 0 || s.I >= s.N:
		return fmt.Errorf("segment %d/%d: I counts from 0 and must be below N (0 to %d)", s.I, s.N, s.N-1)
	}
	return nil
}

// MaxSegments bounds N: far more machines than one coordinator serves.
const MaxSegments = 10_000

// norm makes the zero value the whole run.
func (s Segment) norm() Segment {
	if s.N < 1 {
		return Segment{0, 1}
	}
	return s
}

// Whole reports whether s is the whole run (one segment).
func (s Segment) Whole() bool { return s.norm().N == 1 }

// String is "I/N".
func (s Segment) String() string { s = s.norm(); return fmt.Sprintf("%d/%d", s.I, s.N) }

// Range is the segment's contiguous slice [lo, hi) of n items: the N
// slices are disjoint, cover [0, n) and differ in length by at most one.
// A segment's slice is empty when n < N and I is beyond the items.
func (s Segment) Range(n int) (lo, hi int) {
	s = s.norm()
	return s.cut(n, s.I), s.cut(n, s.I+1)
}

// cut is where slice i of n items begins: floor(n × i / N), exact for
// every n and N this package allows (n ≤ 2^63 / MaxSegments).
func (s Segment) cut(n, i int) int { return int(int64(n) * int64(i) / int64(s.N)) }

// Share is how many of k interleaved items (item j goes to segment j mod
// N) are the segment's.
func (s Segment) Share(k int) int {
	s = s.norm()
	if k <= s.I {
		return 0
	}
	return (k-s.I-1)/s.N + 1
}

// Rate is the segment's part of a rate limit: rate / N, so the N
// segments' limits add up to the whole.
func (s Segment) Rate(rate float64) float64 { return rate / float64(s.norm().N) }

// SegmentCursor walks the segment's part of a closed plan in start
// order: user i (from 0) of phase p when (b + i) mod N is the segment's
// I, b being the users of the phases before p. Each phase is split
// evenly, and so is the whole plan (shares differ by at most one user),
// which matters when each segment has 1/N of a resource per user (a
// pool's addresses, a unique dataset's rows). Each user keeps its id in
// the whole plan, so ids are unique across the segments.
type SegmentCursor struct {
	cur  *Cursor
	seg  Segment
	next []int // per phase: b + the users of the phase seen so far
}

// SegmentCursor returns a cursor over seg's users of the plan.
func (c *Closed) SegmentCursor(seg Segment) *SegmentCursor {
	sc := &SegmentCursor{cur: c.Cursor(), seg: seg.norm(), next: make([]int, len(c.phases))}
	b := 0
	for i, p := range c.phases {
		sc.next[i] = b
		b += p.Users
	}
	return sc
}

// Next returns the segment's next user to start; ok is false when all
// have. It walks the whole plan, skipping other segments' users: a few
// nanoseconds each, against the microseconds it takes to start one.
func (sc *SegmentCursor) Next() (s Spawn, ok bool) {
	for {
		s, ok = sc.cur.Next()
		if !ok {
			return s, false
		}
		k := sc.next[s.Phase]
		sc.next[s.Phase]++
		if k%sc.seg.N == sc.seg.I {
			return s, true
		}
	}
}

// SegmentUsers is how many users seg starts: its share of the plan's
// users, dealt out in turn phase after phase.
func (c *Closed) SegmentUsers(seg Segment) int { return seg.Share(c.total) }

// SegmentArrivals is a segment's part of the open model's plan: arrival
// k of the whole plan when k mod N is the segment's I. Its j-th arrival
// (from 0) is the whole plan's arrival I + j×N, due when that one is, so
// the segments' arrivals together are exactly the whole plan's.
type SegmentArrivals struct {
	whole Arrivals
	seg   Segment
}

// Segment returns seg's part of the plan.
func (a Arrivals) Segment(seg Segment) SegmentArrivals {
	return SegmentArrivals{whole: a, seg: seg.norm()}
}

// Len is how many arrivals are the segment's.
func (sa SegmentArrivals) Len() int { return sa.seg.Share(sa.whole.Len()) }

// Index is the whole plan's index of the segment's arrival j.
func (sa SegmentArrivals) Index(j int) int { return sa.seg.I + j*sa.seg.N }

// At is when the segment's arrival j is due.
func (sa SegmentArrivals) At(j int) time.Duration { return sa.whole.At(sa.Index(j)) }

// Due is how many of the segment's arrivals are due by elapsed.
func (sa SegmentArrivals) Due(elapsed time.Duration) int {
	return sa.seg.Share(sa.whole.Due(elapsed))
}
