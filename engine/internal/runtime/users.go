package runtime

import (
	"sync"

	"go.starlark.net/starlark"
)

// userSet is the run's users that began and have not finished. The run
// reaches them through it when it stops (a thinking user is finished at
// once, a running one's thread cancelled: Program.Run watches its ends)
// and the memory watch when it trips. The users are linked through their
// own fields, so that being in the set costs a user no memory of its
// own: the set replaces a context.AfterFunc per user for the end of the
// run and another for each think time, a few hundred bytes a user.
//
// The lock is taken when a user begins and when it finishes, never by
// an iteration.
type userSet struct {
	mu   sync.Mutex
	head *user
}

func (s *userSet) add(u *user) {
	s.mu.Lock()
	u.prev, u.next = nil, s.head
	if s.head != nil {
		s.head.prev = u
	}
	s.head = u
	s.mu.Unlock()
}

func (s *userSet) remove(u *user) {
	s.mu.Lock()
	if u.prev != nil {
		u.prev.next = u.next
	} else if s.head == u {
		s.head = u.next
	}
	if u.next != nil {
		u.next.prev = u.prev
	}
	u.prev, u.next = nil, nil
	s.mu.Unlock()
}

// each calls f for every user in the set, with the set locked: f must
// not add or remove users.
func (s *userSet) each(f func(u *user)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u := s.head; u != nil; u = u.next {
		f(u)
	}
}

// cancelRunning cancels the thread of every user running an iteration,
// with reason.
func (s *userSet) cancelRunning(reason string) {
	s.each(func(u *user) {
		if th := u.running.Load(); th != nil {
			th.Cancel(reason)
		}
	})
}

// finishThinking finishes every thinking user whose iterations may no
// longer begin, instead of waiting out its think time.
func (s *userSet) finishThinking() {
	var claimed []*user
	s.each(func(u *user) {
		if u.stop.Err() != nil && u.parked.CompareAndSwap(true, false) {
			claimed = append(claimed, u)
		}
	})
	for _, u := range claimed {
		u.finish() // its entry in the think queue wakes nothing
	}
}

// newThread makes a thread for the run's users: each takes one from
// r.threads for its iterations and gives it back when it thinks or
// finishes, so that a thinking user holds no thread, no thread-locals
// and no interpreter frames.
func (r *run) newThread() *starlark.Thread {
	th := &starlark.Thread{Load: noLoad, Print: r.print}
	r.attachSetup(th)
	return th
}
