package pool

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Strategy picks which free address a pool hands out next.
type Strategy int

// The allocation strategies of spec §5.
const (
	RoundRobin Strategy = iota // the next free address after the last one handed out
	Sequential                 // the lowest free address
	Random                     // uniform among the free addresses
)

// ParseStrategy maps a scenario's allocation_strategy to a Strategy.
func ParseStrategy(s string) Strategy {
	switch s {
	case "sequential":
		return Sequential
	case "random":
		return Random
	}
	return RoundRobin
}

// Stats is what a pool reports at the end of a run.
type Stats struct {
	Size          int   `json:"size"`
	Allocated     int   `json:"allocated"`
	PeakAllocated int   `json:"peak_allocated"`
	Waits         int64 `json:"waits"`
	Exhausted     int64 `json:"exhausted"`
}

// Pool is a set of addresses that users hold and give back. It is safe
// for concurrent use.
type Pool struct {
	ID       string
	strategy Strategy

	mu        sync.Mutex
	addrs     []netip.Addr
	index     map[netip.Addr]int32
	used      []bool
	free      []int32 // indexes of free addresses, in no order (for Random)
	freePos   []int32 // position of each index in free, or -1
	cursor    int     // RoundRobin: where the next search starts
	lowest    int     // Sequential: no free address below this index
	rng       *rand.Rand
	allocated int
	peak      int
	waits     int64
	exhausted int64
	released  chan struct{} // closed and replaced on every release
}

// New makes a pool over addrs. seed makes the Random strategy
// reproducible.
func New(id string, addrs []netip.Addr, strategy Strategy, seed uint64) *Pool {
	p := &Pool{
		ID:       id,
		strategy: strategy,
		addrs:    addrs,
		index:    make(map[netip.Addr]int32, len(addrs)),
		used:     make([]bool, len(addrs)),
		free:     make([]int32, len(addrs)),
		freePos:  make([]int32, len(addrs)),
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		released: make(chan struct{}),
	}
	for i, a := range addrs {
		p.index[a] = int32(i)
		p.free[i] = int32(i)
		p.freePos[i] = int32(i)
	}
	return p
}

// Size is the number of addresses in the pool.
func (p *Pool) Size() int { return len(p.addrs) }

// Addrs returns the pool's addresses in ascending order. The slice must
// not be modified.
func (p *Pool) Addrs() []netip.Addr { return p.addrs }

// Contains reports whether a is one of the pool's addresses.
func (p *Pool) Contains(a netip.Addr) bool {
	_, ok := p.index[a] // index never changes after New: no lock needed
	return ok
}

// Acquire takes a free address. ok is false when none is free.
func (p *Pool) Acquire() (a netip.Addr, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.pick()
	if i < 0 {
		p.exhausted++
		return netip.Addr{}, false
	}
	p.take(i)
	return p.addrs[i], true
}

// AcquireWait is Acquire, but when the pool is exhausted it waits up to
// timeout for an address to be released. The wait is counted.
func (p *Pool) AcquireWait(ctx context.Context, timeout time.Duration) (netip.Addr, bool) {
	deadline := time.Now().Add(timeout)
	counted := false
	for {
		p.mu.Lock()
		if i := p.pick(); i >= 0 {
			p.take(i)
			p.mu.Unlock()
			return p.addrs[i], true
		}
		if !counted {
			p.waits++
			counted = true
		}
		ch := p.released
		p.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			p.mu.Lock()
			p.exhausted++
			p.mu.Unlock()
			return netip.Addr{}, false
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
			t.Stop()
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return netip.Addr{}, false
		}
	}
}

// Release gives an address back. Releasing an address that is not held
// is a no-op.
func (p *Pool) Release(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[a]
	if !ok || !p.used[i] {
		return
	}
	p.used[i] = false
	p.freePos[i] = int32(len(p.free))
	p.free = append(p.free, i)
	p.allocated--
	if int(i) < p.lowest {
		p.lowest = int(i)
	}
	close(p.released)
	p.released = make(chan struct{})
}

// Next picks an address by the pool's strategy without holding it: the
// shared binding, where every action takes the next address in turn.
func (p *Pool) Next() netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	var i int
	switch p.strategy {
	case Random:
		i = p.rng.IntN(len(p.addrs))
	case Sequential:
		i = 0
	default:
		i = p.cursor % len(p.addrs)
		p.cursor = i + 1
	}
	return p.addrs[i]
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Size: len(p.addrs), Allocated: p.allocated, PeakAllocated: p.peak, Waits: p.waits, Exhausted: p.exhausted}
}

// pick returns the index of the free address the strategy chooses, or -1.
func (p *Pool) pick() int {
	if len(p.free) == 0 {
		return -1
	}
	switch p.strategy {
	case Random:
		return int(p.free[p.rng.IntN(len(p.free))])
	case Sequential:
		for i := p.lowest; i < len(p.used); i++ {
			if !p.used[i] {
				p.lowest = i
				return i
			}
		}
	default:
		n := len(p.used)
		for k := 0; k < n; k++ {
			i := (p.cursor + k) % n
			if !p.used[i] {
				return i
			}
		}
	}
	return -1
}

func (p *Pool) take(i int) {
	p.used[i] = true
	// Remove i from the free list by swapping in the last entry.
	pos := p.freePos[i]
	last := p.free[len(p.free)-1]
	p.free[pos] = last
	p.freePos[last] = pos
	p.free = p.free[:len(p.free)-1]
	p.freePos[i] = -1
	if p.strategy == RoundRobin {
		p.cursor = (i + 1) % len(p.used)
	}
	p.allocated++
	if p.allocated > p.peak {
		p.peak = p.allocated
	}
}
