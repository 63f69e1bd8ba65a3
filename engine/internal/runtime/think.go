package runtime

import (
	goruntime "runtime"
	"sync"
	"time"
)

// thinkQueue wakes the run's thinking users at the end of their think
// times: a few heaps of (when, user), each with one timer set for its
// earliest user, instead of a timer per user (a timer is 144 bytes, a
// heap entry 16). The users are spread over the heaps by id, so that
// users parking at once on different cores seldom meet on a lock.
type thinkQueue struct {
	base   time.Time // the origin of the heaps' times
	shards []thinkShard
}

type thinkShard struct {
	mu      sync.Mutex
	heap    []thinker   // a min-heap by at
	timer   *time.Timer // made on the first park
	armed   int64       // when the timer fires (0: it is not set)
	stopped bool        // the run is over: nothing is queued or timed again
	_       [15]byte    // a shard to a cache line
}

// thinker is a user thinking until at (nanoseconds since base).
type thinker struct {
	at int64
	u  *user
}

func newThinkQueue() *thinkQueue {
	return &thinkQueue{base: time.Now(), shards: make([]thinkShard, goruntime.GOMAXPROCS(0))}
}

// add wakes u after d (u.wake), unless the run's end claims it first.
func (q *thinkQueue) add(u *user, d time.Duration) {
	sh := &q.shards[uint(u.b.user.ID)%uint(len(q.shards))]
	at := int64(time.Since(q.base) + d)
	sh.mu.Lock()
	if sh.stopped {
		// A user the run's end claimed between parking and here: it was
		// finished, and must not hold the run through a timer.
		sh.mu.Unlock()
		return
	}
	sh.push(thinker{at: at, u: u})
	if sh.armed == 0 || at < sh.armed {
		sh.armed = at
		if sh.timer == nil {
			sh.timer = time.AfterFunc(d, func() { q.fire(sh) })
		} else {
			sh.timer.Reset(d)
		}
	}
	sh.mu.Unlock()
}

// fire wakes the shard's users whose think time is over and sets the
// timer for the next one.
func (q *thinkQueue) fire(sh *thinkShard) {
	var due []*user
	sh.mu.Lock()
	now := int64(time.Since(q.base))
	for len(sh.heap) > 0 && sh.heap[0].at <= now {
		due = append(due, sh.pop().u)
	}
	sh.armed = 0
	if len(sh.heap) > 0 {
		sh.armed = sh.heap[0].at
		sh.timer.Reset(time.Duration(sh.armed - now))
	}
	sh.mu.Unlock()
	for i, u := range due {
		if i == len(due)-1 {
			u.wake() // the last on this goroutine
		} else {
			go u.wake()
		}
	}
}

// stop drops every user still in the queue (each was finished, or the
// run would not be over) and stops the timers.
func (q *thinkQueue) stop() {
	for i := range q.shards {
		sh := &q.shards[i]
		sh.mu.Lock()
		if sh.timer != nil {
			sh.timer.Stop()
		}
		sh.heap, sh.armed, sh.stopped = nil, 0, true
		sh.mu.Unlock()
	}
}

// push and pop keep the shard's min-heap by at. They are written out
// rather than container/heap's, whose Push takes an any: a thinker boxed
// on every park would be an allocation per think time.
func (sh *thinkShard) push(t thinker) {
	h := append(sh.heap, t)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	sh.heap = h
}

func (sh *thinkShard) pop() thinker {
	h := sh.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = thinker{}
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l].at < h[m].at {
			m = l
		}
		if r := l + 1; r < n && h[r].at < h[m].at {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	sh.heap = h
	return top
}
