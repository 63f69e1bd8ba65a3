// Package schedule computes when a run's users start, as pure functions
// of elapsed time: the closed model's phases (each spreading its users
// evenly from its start), the open model's arrivals at a fixed rate, and
// the spacing a rate limit imposes. Nothing here reads a clock or starts
// a timer, so every plan is tested exactly, without sleeping; the runtime
// follows a plan with timers.
//
// The split follows k6's lib/executor (a configuration, a computed plan,
// a runtime) and vegeta's Pacer (a schedule is a function of elapsed
// time). What depends on how the run goes, such as a free slot under
// max_concurrent_users or max_users live arrivals, stays in the runtime.
package schedule

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"
)

// MaxUsers is the most users one run may plan: the sum of spawn_users
// over the phases, --users, and the planned arrivals of the open model
// (rate × duration). A parked user costs a few KiB, so ten million of
// them already need tens of GB; more is a typo (spawn_users: 999999999)
// rather than a plan, and is refused as an input error.
const MaxUsers = 10_000_000

// Phase starts Users users from At, spread evenly over Spread: user i of
// the phase (from 0) starts at At + Spread×i/Users. With no spread they
// all start at At.
type Phase struct {
	At     time.Duration
	Users  int
	Spread time.Duration
}

// Start is when user i (from 0) of the phase starts, exact to the
// nanosecond (the product is computed in 128 bits, so an hour's spread
// over ten million users does not overflow).
func (p Phase) Start(i int) time.Duration {
	if p.Spread <= 0 || p.Users <= 0 || i <= 0 {
		return p.At
	}
	hi, lo := bits.Mul64(uint64(p.Spread), uint64(i))
	q, _ := bits.Div64(hi, lo, uint64(p.Users))
	return p.At + time.Duration(q)
}

// Closed is the closed model's plan: every phase's users, in the order
// of their start times. Users of different phases starting at the same
// instant start in phase order. It holds the phases only; users are
// produced one at a time by a Cursor, never all up front.
type Closed struct {
	phases []Phase
	total  int
}

// NewClosed plans the given phases. It refuses negative counts and more
// than MaxUsers users in all.
func NewClosed(phases []Phase) (*Closed, error) {
	c := &Closed{phases: phases}
	for i, p := range phases {
		if p.Users < 0 || p.At < 0 || p.Spread < 0 {
			return nil, fmt.Errorf("phase %d: negative users, start or spread", i+1)
		}
		c.total += p.Users
		if c.total > MaxUsers {
			return nil, fmt.Errorf("the phases spawn more than %d users in all (phase %d reaches %d)", MaxUsers, i+1, c.total)
		}
	}
	return c, nil
}

// Users is how many users the plan starts.
func (c *Closed) Users() int { return c.total }

// Spawn is one planned user start.
type Spawn struct {
	User  int           // the user's id, from 1, in start order
	Phase int           // the index of its phase
	At    time.Duration // when it starts, from the start of the run
}

// Cursor walks a closed plan in start order. It keeps one entry per
// phase (a heap ordered by each phase's next start), so its memory does
// not grow with the number of users.
type Cursor struct {
	c    *Closed
	heap []cursorEntry
	n    int
}

type cursorEntry struct {
	at    time.Duration
	phase int
	i     int // the phase's next user
}

func (e cursorEntry) before(f cursorEntry) bool {
	return e.at < f.at || e.at == f.at && e.phase < f.phase
}

// Cursor returns a cursor at the plan's first user.
func (c *Closed) Cursor() *Cursor {
	cur := &Cursor{c: c}
	for i, p := range c.phases {
		if p.Users > 0 {
			cur.push(cursorEntry{at: p.Start(0), phase: i})
		}
	}
	return cur
}

// Next returns the next user to start; ok is false when all have.
func (cur *Cursor) Next() (s Spawn, ok bool) {
	if len(cur.heap) == 0 {
		return Spawn{}, false
	}
	e := cur.heap[0]
	cur.n++
	s = Spawn{User: cur.n, Phase: e.phase, At: e.at}
	p := cur.c.phases[e.phase]
	if e.i+1 < p.Users {
		// A phase's starts never decrease, so its next user replaces it
		// at the top and sinks to its place.
		cur.heap[0] = cursorEntry{at: p.Start(e.i + 1), phase: e.phase, i: e.i + 1}
	} else {
		last := len(cur.heap) - 1
		cur.heap[0] = cur.heap[last]
		cur.heap = cur.heap[:last]
	}
	cur.down(0)
	return s, true
}

func (cur *Cursor) push(e cursorEntry) {
	cur.heap = append(cur.heap, e)
	for i := len(cur.heap) - 1; i > 0; {
		parent := (i - 1) / 2
		if !cur.heap[i].before(cur.heap[parent]) {
			break
		}
		cur.heap[i], cur.heap[parent] = cur.heap[parent], cur.heap[i]
		i = parent
	}
}

func (cur *Cursor) down(i int) {
	h := cur.heap
	for {
		least := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(h) && h[c].before(h[least]) {
				least = c
			}
		}
		if least == i {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}

// Arrivals is the open model's plan: arrival k (from 0) at k/Rate, for
// every k whose time falls within the window [0, window).
type Arrivals struct {
	rate float64 // per second
	n    int
}

// NewArrivals plans arrivals at rate per second over window. It refuses
// a rate that is not positive and finite, and more than MaxUsers
// arrivals.
func NewArrivals(rate float64, window time.Duration) (Arrivals, error) {
	if !(rate > 0) || math.IsInf(rate, 0) {
		return Arrivals{}, fmt.Errorf("arrival rate %v is not a positive rate", rate)
	}
	a := Arrivals{rate: rate}
	if window <= 0 {
		return a, nil
	}
	// Estimate from the product, then settle on the exact count of
	// arrivals strictly inside the window, as At computes them.
	est := math.Ceil(window.Seconds() * rate)
	if est > MaxUsers+1 {
		return Arrivals{}, fmt.Errorf("%s arrivals a second for %s plan %.0f arrivals, more than the most a run may plan (%d)", perSecond(rate), window, est, MaxUsers)
	}
	n := int(est)
	for n > 0 && a.At(n-1) >= window {
		n--
	}
	for a.At(n) < window {
		n++
	}
	if n > MaxUsers {
		return Arrivals{}, fmt.Errorf("%s arrivals a second for %s plan %d arrivals, more than the most a run may plan (%d)", perSecond(rate), window, n, MaxUsers)
	}
	a.n = n
	return a, nil
}

func perSecond(rate float64) string { return strconv.FormatFloat(rate, 'f', -1, 64) }

// Len is how many arrivals are planned.
func (a Arrivals) Len() int { return a.n }

// Rate is the planned arrivals per second.
func (a Arrivals) Rate() float64 { return a.rate }

// At is when arrival k (from 0) is due: k/rate, rounded to the
// nanosecond. Each arrival's time is computed from its index alone, so
// errors never accumulate: at 10,000/s, arrival k is due at exactly
// k × 100µs.
func (a Arrivals) At(k int) time.Duration {
	ns := math.Round(float64(k) * float64(time.Second) / a.rate)
	if ns >= math.MaxInt64 {
		return math.MaxInt64 // beyond any window: at a tiny rate, never
	}
	return time.Duration(ns)
}

// Due is how many arrivals are due by elapsed (those with At(k) ≤
// elapsed), at most Len.
func (a Arrivals) Due(elapsed time.Duration) int {
	if elapsed < 0 {
		return 0
	}
	k := int(math.Min(math.Floor(elapsed.Seconds()*a.rate), float64(a.n)))
	for k > 0 && a.At(k-1) > elapsed {
		k--
	}
	for k < a.n && a.At(k) <= elapsed {
		k++
	}
	return k
}

// Spacing is a rate limit with a burst of one (a token bucket holding
// one token): consecutive admitted events are at least one interval
// apart. It is given the times of events; it reads no clock. It is not
// safe for concurrent use: callers that share one hold a lock.
type Spacing struct {
	interval time.Duration
	last     time.Duration
	any      bool
}

// NewSpacing limits events to rate per second.
func NewSpacing(rate float64) *Spacing {
	return &Spacing{interval: time.Duration(math.Round(float64(time.Second) / rate))}
}

// Interval is the least time between two admitted events.
func (s *Spacing) Interval() time.Duration { return s.interval }

// Admit reports whether an event at t may happen, and if so counts it:
// an event is admitted when it comes at least one interval after the
// last admitted one. The open model drops arrivals it does not admit.
func (s *Spacing) Admit(t time.Duration) bool {
	if s.any && t < s.last+s.interval {
		return false
	}
	s.last, s.any = t, true
	return true
}

// Reserve returns when an event that would happen at t may happen: t,
// or one interval after the last event if that is later. It counts the
// event at the returned time. Spawns and actions that wait for the limit
// reserve their turn.
func (s *Spacing) Reserve(t time.Duration) time.Duration {
	if s.any && t < s.last+s.interval {
		t = s.last + s.interval
	}
	s.last, s.any = t, true
	return t
}
