package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/internal/data"
	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
	"github.com/ntx-dev/ntx/stdlib"
)

// user is one simulated user over its whole life.
//
// A user has a goroutine only while it runs an iteration. Between
// iterations it is parked on a timer: its goroutine returns, and the
// timer starts a fresh one for the next iteration. A goroutine that has
// run a request has grown its stack through the interpreter and the
// HTTP client, and would keep it through every think time; parking
// makes a thinking user cost its heap state alone, which is what lets
// tens of thousands of mostly idle users fit (docs/benchmarks.md).
// That state is what must outlive an iteration (the session's cookies,
// the user's random streams, its rows): the Starlark thread and its
// frames are the run's, taken for the iterations and given back to
// think, and the end of the run reaches a thinking user through the
// run's userSet, not a watch of its own.
//
// The life of a user:
//
//	begin ──▶ iterate ──▶ park ──(think time)──▶ iterate ──▶ ... ──▶ finish
//	                        └──(run stopping)──────────────────────▶ finish
type user struct {
	r      *run
	b      *userBinding
	n      int // iterations to run; 0 until the run's duration ends
	it     int // iterations begun
	sess   *stdlib.Session
	view   *data.View // the rows the user holds
	random *stdlib.Random
	rng    rand.PCG // think times
	// stop ends when no further iteration may begin (see run.start).
	stop context.Context
	// thread is the run's thread the user holds while it iterates (nil
	// while it thinks); only the user's goroutine uses it.
	thread *starlark.Thread
	// running is thread while the flow runs, for the end of the run and
	// the memory watch to cancel.
	running atomic.Pointer[starlark.Thread]
	// parked is set while the user thinks: the end of its think time
	// (the run's thinkQueue) and the end of the run both try to clear
	// it, and the one that does goes on with the user.
	parked atomic.Bool
	// prev and next link the run's users (userSet).
	prev, next *user
	// self is the flow's one argument, the user's `user`.
	self [1]starlark.Value
	// flow is the flow the user runs: the program's one, or the one it
	// drew from the user mix, whose counters flowStats is (else nil).
	flow      starlark.Callable
	flowStats *metrics.Flow
}

// pickFlow gives the user its flow: the program's one, the user mix's
// flow pinned (by id), or one drawn by weight from the run's seed and the
// user's id, so that the same seed gives each user the same flow.
func (u *user) pickFlow(pinned string) {
	p := u.r.p
	if len(p.flows) == 0 {
		u.flow = p.flow
		return
	}
	i := -1
	if pinned != "" {
		for j, f := range p.flows {
			if f.ID == pinned {
				i = j
			}
		}
	}
	if i < 0 {
		i = p.mix.Pick(u.r.opts.Seed, u.b.user.ID)
	}
	u.flow, u.flowStats = p.flows[i].Fn, u.r.flowStats[i]
}

func (r *run) newUser(b *userBinding, n int, intended time.Time, stop context.Context) *user {
	u := &user{r: r, b: b, n: n, stop: stop, self: [1]starlark.Value{b.user}}
	id := b.user.ID
	if r.env == nil { // once: what the users' sessions share
		r.env = &stdlib.Shared{Ctx: r.hard, Net: r.net, HTTP: r.http, Vars: r.p.vars, Sink: r.col, Log: r.logLine}
		if r.actionLimit != nil {
			r.env.Pace = r.actionLimit.wait
		}
	}
	b.conns = transport.NewConns()
	u.sess = &stdlib.Session{Shared: r.env, User: b.user, Conns: b.conns, Source: b, Intended: intended}
	u.random = stdlib.NewRandom(r.opts.Seed, id)
	if u.view = r.noRows; u.view == nil {
		u.view = r.feeds.View(id)
	}
	u.rng = *rand.NewPCG(r.opts.Seed, uint64(id))
	u.pickFlow("") // a phase that pins its users picks again
	return u
}

// takeThread gives the user a thread of the run's for its iterations.
func (u *user) takeThread() {
	if u.thread != nil {
		return
	}
	th, _ := u.r.threads.Get().(*starlark.Thread)
	if th == nil {
		th = u.r.newThread()
	}
	u.sess.Attach(th)
	u.random.Attach(th)
	data.Attach(th, u.view)
	u.thread = th
}

// putThread gives the user's thread back to the run.
func (u *user) putThread() {
	if th := u.thread; th != nil {
		u.thread = nil
		u.r.threads.Put(th)
	}
}

// print is the users' threads' print(): the line, prefixed with the
// user that printed it.
func (r *run) print(th *starlark.Thread, msg string) {
	id := 0
	if s := stdlib.SessionOf(th); s != nil {
		id = s.User.ID
	}
	r.logLine(fmt.Sprintf("user %d: %s", id, stdlib.ClipLogLine(msg)))
}

// begin takes the user's address if it does not have one yet (only a
// user that may wait for one takes it here), then runs it. intended is
// when the open model's plan meant the user to start (zero in the
// closed model).
func (u *user) begin(intended time.Time) {
	r, b := u.r, u.b
	if b.holds() && !b.held.IsValid() {
		if err := b.acquire(u.stop); err != nil {
			r.col.UserFailedToStart("pool-exhausted", err.Error())
			u.exit()
			return
		}
	}
	r.col.UserStarted()
	if u.flowStats != nil {
		u.flowStats.UserStarted()
	}
	r.users.add(u)
	if !intended.IsZero() {
		r.col.StartLag(time.Since(intended))
	}
	u.iterate()
}

// iterate runs iterations until the user must think, then parks it, or
// until it is done, then finishes it.
func (u *user) iterate() {
	for u.n == 0 || u.it < u.n {
		if u.stop.Err() != nil {
			break
		}
		switch u.iteration() {
		case stopUser:
			u.finish()
			return
		case skipThink:
			continue
		}
		if u.n != 0 && u.it >= u.n {
			break
		}
		if d := u.thinkTime(); d > 0 {
			u.park(d)
			return
		}
	}
	u.finish()
}

// next says what a user does after an iteration.
type next int

const (
	think     next = iota // the iteration ran: think, then go on
	skipThink             // it could not start: go on at once
	stopUser              // the user is done
)

// iteration runs the user's next iteration and records its outcome.
func (u *user) iteration() next {
	r, b := u.r, u.b
	u.it++
	if b.releaseOnTaskEnd() && b.holds() && !b.held.IsValid() {
		if err := b.acquire(u.stop); err != nil {
			r.col.Iteration("pool-exhausted", err.Error())
			if u.flowStats != nil { // the flows' iterations sum to the run's
				u.flowStats.Iteration(0, false)
			}
			return skipThink
		}
	}
	b.user.Iteration = u.it
	u.takeThread()
	th := u.thread
	// Published before the check of the run's end: either the check
	// sees the end, or the end's cancelRunning sees the thread.
	u.running.Store(th)
	th.Uncancel()
	if r.hard.Err() != nil {
		u.running.Store(nil)
		return stopUser
	}
	th.Steps = 0
	th.SetMaxExecutionSteps(r.maxSteps())
	if u.view != u.r.noRows { // the shared View has no rows to let go
		u.view.Begin(u.it)
	}
	u.sess.BeginIteration()
	var began time.Time
	if u.flowStats != nil {
		began = time.Now()
	}
	err := u.callFlow(th)
	u.sess.EndIteration() // WebSockets the flow left open
	u.running.Store(nil)
	if stopsUser(err) && r.hard.Err() == nil {
		// A unique dataset ran out and says the user is to stop: the
		// iteration that found no row is not counted.
		if b.releaseOnTaskEnd() {
			b.release()
		}
		return stopUser
	}
	reason, msg := r.outcome(err, r.maxSteps())
	r.col.Iteration(reason, msg)
	if u.flowStats != nil {
		u.flowStats.Iteration(time.Since(began), reason == "")
	}
	if b.releaseOnTaskEnd() {
		b.release()
	}
	return think
}

// stopsUser reports whether err is a unique dataset running out with
// on_exhausted: stop_user.
func stopsUser(err error) bool {
	if err == nil {
		return false
	}
	var ex *data.ExhaustedError
	return errors.As(err, &ex) && ex.StopUser
}

// callFlow runs one iteration of the flow. A panic in a built-in fails
// the iteration with an internal error instead of ending the process: it
// happens on the user's goroutine, where nothing else would recover it.
func (u *user) callFlow(th *starlark.Thread) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (please report it with the scenario that caused it): %v", p)
		}
	}()
	_, err = starlark.Call(th, u.flow, starlark.Tuple(u.self[:]), nil)
	return err
}

// thinkTime draws the pause before the next iteration.
func (u *user) thinkTime() time.Duration {
	lt := u.r.s.Load.Lifetime
	d := lt.ThinkMin
	if lt.ThinkMax > lt.ThinkMin {
		d += time.Duration(rand.New(&u.rng).Int64N(int64(lt.ThinkMax - lt.ThinkMin + 1)))
	}
	return d
}

// park lets the user's goroutine go for d, and the thread it held.
// Whichever comes first, the end of the think time or the run stopping
// (userSet.finishThinking), claims the user; the other does nothing.
func (u *user) park(d time.Duration) {
	u.putThread()
	u.parked.Store(true)
	u.r.think.add(u, d)
	// The run may have stopped before the user was parked, when the
	// stop's finishThinking found it running: finished here, then (its
	// entry in the queue wakes nothing).
	if u.stop.Err() != nil && u.parked.CompareAndSwap(true, false) {
		u.finish()
	}
}

// wake ends the user's think time, unless the run's end claimed it.
func (u *user) wake() {
	if u.parked.CompareAndSwap(true, false) {
		u.iterate()
	}
}

// finish ends a user that started.
func (u *user) finish() {
	u.putThread()
	u.sess.Conns.Close() // the user's HTTP/2 and HTTP/3 connections are its own
	u.b.release()
	u.r.users.remove(u)
	u.r.col.UserDone()
	u.exit()
}

// exit gives back what the spawner took for the user.
func (u *user) exit() {
	u.r.freeSlot()
	u.r.live.Add(-1)
	u.r.wg.Done()
}
