package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/data"
	"github.com/ntx-dev/ntx/engine/internal/pool"
	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/scenario"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
	"github.com/ntx-dev/ntx/stdlib"
)

// DefaultMaxSteps bounds the Starlark steps of one iteration unless
// Options.MaxSteps says otherwise: about a second of pure computation,
// far beyond any real flow, and a quick stop for a runaway loop.
const DefaultMaxSteps = 10_000_000

// DefaultGracefulStop is how long in-flight iterations may finish after
// the run's duration ends, unless the scenario says otherwise.
const DefaultGracefulStop = 30 * time.Second

// Options tune one run.
type Options struct {
	// Seed makes random choices reproducible: random address allocation
	// and random think times.
	Seed uint64
	// MaxSteps is the per-iteration Starlark step limit (0: DefaultMaxSteps).
	MaxSteps uint64
	// MaxMemory is how many bytes the run's heap may grow by before the
	// iterations running at that moment are stopped with an error at
	// their line (0: DefaultMaxMemory; negative: no limit). See memWatch.
	MaxMemory int64
	// Log receives log() and print() lines from scripts; nil drops them.
	Log io.Writer
	// Users, Iterations and Duration override the scenario when non-zero.
	Users      int
	Iterations int
	Duration   time.Duration
	// UntilDuration makes every user loop until the run's duration ends
	// (--iterations 0), whatever the scenario's user_lifetime says.
	UntilDuration bool
	// Rate, when non-zero, runs the open model at this many arrivals per
	// second, replacing the scenario's arrival rate (or its ramp-up).
	Rate float64
	// Progress, if set, is called about once a second with a snapshot of
	// the run, and once more at the end.
	Progress func(Progress)
	// Abort, when closed, ends the run at once: no new iterations, and
	// in-flight work is cancelled without waiting for graceful_stop (a
	// second Ctrl-C). The result still counts everything that completed.
	Abort <-chan struct{}
	// MaxNames bounds the distinct measured names; calls with names
	// beyond it are counted under "(other)" (0: metrics.DefaultMaxNames).
	MaxNames int
	// Segment runs one segment of a fleet (spec §9): its share of each
	// phase's users and of the arrivals, 1/N of each rate limit, and a
	// contiguous slice of each pool's addresses and of each unique
	// dataset's rows. The zero value runs the whole plan.
	Segment schedule.Segment
	// Start, if set, is called once the run is ready to send load (the
	// scenario checked, the plan made, every address preflighted) and
	// returns when the plan's time 0 is: the run holds its schedule until
	// then. --start-at and a fleet's coordinator set it; an error ends
	// the run before any load is sent.
	Start func(ctx context.Context) (time.Time, error)
	// Snapshot, if set, is given the result so far about once a second
	// while the run goes on (a fleet's segment sends it to the
	// coordinator). It must not block.
	Snapshot func(*report.Result)
}

// StartError is a run that could not start, such as a source address
// that is not on this host.
type StartError struct{ Msg string }

func (e *StartError) Error() string { return e.Msg }

// run is the state of one run of a Program.
type run struct {
	p       *Program
	opts    Options
	s       *scenario.Scenario
	col     *metrics.Collector
	net     *transport.Transport
	pools   map[string]*pool.Pool
	tenants map[string]starlark.Value
	feeds   *data.Feeds // the datasets' rows, handed out with this run's cursors
	noRows  *data.View  // every user's View when there are no datasets
	// setupValue is what the scenario's setup returned, frozen; nil
	// without a setup.
	setupValue starlark.Value
	http       *stdlib.HTTPConfig // the http: section
	logMu      sync.Mutex

	// interrupt ends when the run is stopped from outside (a signal, an
	// abort) before its plan is done; stopSpawning ends then too, or when
	// the duration is over: no new user or iteration may start. hard ends
	// when in-flight work is cancelled.
	interrupt    context.Context
	stopSpawning context.Context
	hard         context.Context
	wg           sync.WaitGroup

	// The plan (package schedule): one of closed and arrival is set.
	closed      *schedule.Closed
	phases      []scenario.Phase // the closed plan's phases, for their overrides
	arrival     *scenario.Arrival
	arrivalPlan schedule.SegmentArrivals
	origin      time.Time     // the plan's time 0
	deadline    time.Time     // when no iteration may start any more, if set
	duration    time.Duration // the run's duration, if set

	slots       chan struct{}     // max_concurrent_users, nil when unlimited
	spawnLimit  *schedule.Spacing // spawn_rate_limit, nil when unlimited
	actionLimit *pacer            // action_rate_limit, nil when unlimited
	live        atomic.Int64      // users started and not yet done
	flowStats   []*metrics.Flow   // the user mix's counters, as p.flows
	mem         *memWatch         // nil when the heap is not watched
	users       userSet           // users begun and not finished
	threads     sync.Pool         // of *starlark.Thread, for the users' iterations
	think       *thinkQueue       // the thinking users
	env         *stdlib.Shared    // what the users' sessions share, made once
	arrivals    report.Arrivals   // written by the arrival loop alone
	// liveStarted and liveDropped mirror arrivals for the snapshots taken while the
	// loop runs (--metrics, --dashboard, a fleet's coordinator).
	liveStarted, liveDropped atomic.Int64
}

// Run runs the program and returns what happened. Cancelling ctx stops
// the run like the end of its duration: no new iterations, graceful_stop
// for those in flight, then cancellation. The result is complete either
// way; an error means the run could not start.
func (p *Program) Run(ctx context.Context, opts Options) (*report.Result, error) {
	r := &run{p: p, opts: opts, s: p.Scenario, net: transport.New(transport.Options{}), http: httpConfig(p.Scenario)}
	defer r.net.Close()
	if err := r.setup(); err != nil {
		return nil, err
	}
	l := &r.s.Load
	duration := l.Duration
	if opts.Duration > 0 {
		duration = opts.Duration
	}
	grace := DefaultGracefulStop
	if l.GracefulStop > 0 {
		grace = l.GracefulStop
	}

	if r.arrival != nil && duration == 0 {
		duration = r.arrival.Duration
	}
	if err := r.plan(duration); err != nil {
		return nil, err
	}
	// Said before any load is sent, and again with the result.
	fdWarning := transport.FDWarning(r.peakUsers())
	if fdWarning != "" && opts.Log != nil {
		fmt.Fprintf(opts.Log, "ntx: warning: %s\n", fdWarning)
	}
	// An interruption (ctx, or Abort) stops spawning; so does the end of
	// the duration.
	interruptCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	spawnCtx := interruptCtx
	r.duration = duration
	// One origin for the plan and the deadline: the last arrival of an
	// open-model plan is due before the duration ends by construction.
	r.origin = time.Now()
	if opts.Start != nil {
		at, err := opts.Start(ctx)
		if err != nil {
			return nil, &StartError{Msg: err.Error()}
		}
		if err := waitUntil(ctx, opts.Abort, at); err != nil {
			return nil, &StartError{Msg: fmt.Sprintf("stopped before the start at %s: %v", at.UTC().Format(time.RFC3339Nano), err)}
		}
		r.origin = at
	}
	// The collector's clock starts with the plan.
	r.col = metrics.New(metrics.Config{MaxNames: opts.MaxNames})
	for _, f := range p.flows {
		// Every flow is reported, those no user drew included.
		r.flowStats = append(r.flowStats, r.col.Flow(f.ID, f.Weight))
	}
	if p.setupFn != nil {
		v, err := r.hook(ctx, "setup", p.setupFn, nil)
		if err != nil {
			// No user starts: the run ends here, failed (exit 1).
			res := r.col.Result(r.s.Name)
			res.SetupError = err.Error()
			res.Interrupted = ctx.Err() != nil
			res.Judge()
			return res, nil
		}
		r.setupValue = v
		if opts.Start == nil {
			r.origin = time.Now() // the users' schedule starts after setup
		}
	}
	if r.actionLimit != nil {
		r.actionLimit.origin = r.origin
	}
	if duration > 0 {
		var cancel context.CancelFunc
		r.deadline = r.origin.Add(duration)
		spawnCtx, cancel = context.WithDeadline(spawnCtx, r.deadline)
		defer cancel()
	}
	hard, cancelHard := context.WithCancel(context.Background())
	defer cancelHard()
	// Cutting in-flight work means cutting its connections too.
	stopNet := r.net.CloseWith(hard)
	defer stopNet()
	r.interrupt, r.stopSpawning, r.hard = interruptCtx, spawnCtx, hard
	r.think = newThinkQueue()
	defer r.think.stop()
	// The ends of the run reach every user at once: thinking ones are
	// finished when no iteration may begin any more (their stop is one
	// of these two contexts), running ones cancelled when in-flight work
	// is.
	defer context.AfterFunc(spawnCtx, r.users.finishThinking)()
	defer context.AfterFunc(interruptCtx, r.users.finishThinking)()
	defer context.AfterFunc(hard, func() { r.users.cancelRunning("the run ended") })()
	var aborted atomic.Bool
	if opts.Abort != nil {
		finished := make(chan struct{})
		defer close(finished)
		go func() {
			select {
			case <-opts.Abort:
				aborted.Store(true)
				interrupt()
				cancelHard()
			case <-finished:
			}
		}()
	}

	if restore := tuneGC(r.peakUsers()); restore != nil {
		defer restore()
	}
	if limit := opts.MaxMemory; limit >= 0 {
		if limit == 0 {
			limit = DefaultMaxMemory
		}
		r.mem = newMemWatch(uint64(limit), r.live.Load, &r.users)
		stopWatch := make(chan struct{})
		defer close(stopWatch)
		go r.mem.run(stopWatch)
	}

	done := make(chan struct{})
	stopProgress := r.startProgress()
	abortOnFail := r.watchAbort(interrupt)
	go func() {
		if r.arrival != nil {
			r.arrive()
		} else {
			r.spawn()
		}
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-spawnCtx.Done():
		// Duration over or run interrupted: in-flight work gets grace.
		t := time.NewTimer(grace)
		select {
		case <-done:
		case <-t.C:
			cancelHard()
			<-done
		}
		t.Stop()
	}
	// A run the caller cancelled or aborted is interrupted; one that
	// reached its own end is not, whatever happened after.
	interrupted := ctx.Err() != nil || aborted.Load()
	teardownErr := ""
	if p.teardownFn != nil && !aborted.Load() {
		args := starlark.Tuple{}
		if p.teardownFn.NumParams() == 1 {
			v := r.setupValue
			if v == nil {
				v = starlark.None
			}
			args = starlark.Tuple{v}
		}
		// Its own context: the users' may have ended with the run.
		tctx, cancelT := context.WithCancel(context.Background())
		stopT := context.AfterFunc(r.interrupt, func() {
			if aborted.Load() {
				cancelT()
			}
		})
		if _, err := r.hook(tctx, "teardown", p.teardownFn, args); err != nil {
			teardownErr = err.Error()
		}
		stopT()
		cancelT()
	}
	stopProgress()
	res := r.col.Result(r.s.Name)
	res.Interrupted = interrupted
	res.TeardownError = teardownErr
	if !opts.Segment.Whole() {
		res.Segment = opts.Segment.String()
	}
	if fdWarning != "" {
		res.Warnings = append(res.Warnings, fdWarning)
	}
	res.Warnings = append(res.Warnings, r.feeds.Warnings()...)
	if r.arrival != nil {
		a := r.arrivals
		res.Arrivals = &a
	}
	for id, pl := range r.pools {
		st := pl.Stats()
		res.Pools[id] = &report.Pool{Size: st.Size, PeakAllocated: st.PeakAllocated, Waits: st.Waits, Exhausted: st.Exhausted}
	}
	ts := make([]metrics.Threshold, len(r.s.Thresholds))
	for i, t := range r.s.Thresholds {
		ts[i] = t.Parsed
	}
	res.Thresholds = r.col.Evaluate(ts, res)
	res.Judge()
	abortOnFail.end(res) // after the verdict, which it overrules
	return res, nil
}

func (r *run) setup() error {
	seg := r.opts.Segment
	if err := seg.Check(); err != nil && seg != (schedule.Segment{}) {
		return &StartError{Msg: err.Error()}
	}
	sources, err := data.SegmentSources(r.s.Sources(), seg)
	if err != nil {
		return &StartError{Msg: err.Error()}
	}
	r.feeds = data.NewFeeds(sources, r.opts.Seed)
	if v := r.feeds.View(0); len(v.AttrNames()) == 0 {
		r.noRows = v // no datasets: one View serves every user
	}
	c := r.s.Load.Concurrency
	if c.MaxUsers > 0 {
		r.slots = make(chan struct{}, c.MaxUsers)
	}
	// A fleet's segments each take 1/N of a rate limit.
	if c.SpawnRate > 0 {
		r.spawnLimit = schedule.NewSpacing(seg.Rate(c.SpawnRate))
	}
	if c.ActionRate > 0 {
		r.actionLimit = &pacer{s: schedule.NewSpacing(seg.Rate(c.ActionRate))}
	}
	r.arrival = r.s.Load.Arrival
	if r.opts.Rate > 0 {
		a := scenario.Arrival{Rate: r.opts.Rate}
		if r.arrival != nil {
			a = *r.arrival
			a.Rate = r.opts.Rate
		}
		r.arrival = &a
	}
	if r.arrival != nil && r.arrival.Duration == 0 && r.s.Load.Duration == 0 && r.opts.Duration == 0 {
		// Only --rate can get here: the scenario's own arrival section is
		// checked when it is loaded.
		return scenario.ErrorList{{Pos: scenario.Pos{File: r.p.File}, Msg: "--rate runs the open model, which needs a duration: give --duration, or set load.duration"}}
	}
	r.p.vars.Reset(nil)
	if v, ok := scenario.ToStarlark(r.s.Variables).(*starlark.Dict); ok {
		for _, kv := range v.Items() {
			r.p.vars.Set(string(kv[0].(starlark.String)), kv[1])
		}
	}
	r.tenants = map[string]starlark.Value{}
	for _, t := range r.s.Tenants {
		fields := starlark.StringDict{"id": starlark.String(t.ID)}
		if d, ok := scenario.ToStarlark(t.Props).(*starlark.Dict); ok {
			for _, kv := range d.Items() {
				fields[string(kv[0].(starlark.String))] = kv[1]
			}
		}
		v := starlarkstruct.FromStringDict(starlark.String("tenant"), fields)
		v.Freeze()
		r.tenants[t.ID] = v
	}
	r.pools = map[string]*pool.Pool{}
	for i, sp := range r.s.Pools {
		// Expanded once, when the scenario was checked. A fleet's segment
		// uses its own contiguous slice: no address is used by two.
		addrs := sp.Addrs
		if !seg.Whole() {
			lo, hi := seg.Range(len(addrs))
			if lo == hi {
				return &StartError{Msg: fmt.Sprintf("%s: ip pool %q has %d addresses, fewer than the %d segments: segment %s gets none (give the pool at least %d addresses, or run fewer segments)",
					sp.Pos, sp.ID, len(addrs), seg.N, seg, seg.N)}
			}
			addrs = addrs[lo:hi]
		}
		r.pools[sp.ID] = pool.New(sp.ID, addrs, sp.Strategy, r.opts.Seed+uint64(i))
	}
	// Every pool, not only those users bind to: bind_ip may name any
	// pool's address.
	for _, sp := range r.s.Pools {
		if err := Preflight(r.pools[sp.ID].Addrs()); err != nil {
			// At the pool in the user's file: the scenario is valid, but
			// this host cannot send from what the pool lists.
			return &StartError{Msg: fmt.Sprintf("%s: ip pool %q: %v", sp.Pos, sp.ID, err)}
		}
	}
	return nil
}

// binding returns the pool a user is bound to, given its phase's
// override: the override, else ip_binding's pool, else the only pool
// (spec §2.1: a scenario with a pool binds its users to it). "" means
// the user sends from addresses the kernel picks.
func (r *run) binding(override string) string {
	b := r.s.Load.Binding
	switch {
	case override != "":
		return override
	case b.Enabled && b.PoolID != "":
		return b.PoolID
	case b.Pos.Line > 0 && !b.Enabled:
		return "" // ip_binding: {enabled: false}
	case len(r.s.Pools) > 0:
		return r.s.Pools[0].ID
	}
	return ""
}

// peakUsers is the most users the run may have at once, for the check
// of the open-file limit: the concurrency cap, else every user of the
// closed model's phases, else the open model's max_users (0: unknown).
func (r *run) peakUsers() int {
	if n := r.s.Load.Concurrency.MaxUsers; n > 0 {
		return n
	}
	if r.arrival != nil {
		return r.arrival.MaxUsers
	}
	n := 0
	for _, ph := range r.phases {
		n += ph.Users
	}
	return n
}

// spawnPlan is one user to start.
type spawnPlan struct {
	tenant string
	pool   string
	// workflow pins the user to a flow of the user mix; "" draws one.
	workflow string
}

// plan computes the run's schedule: the closed model's phases, or the
// open model's arrivals over the arrival window (cut at the run's
// duration, so that every planned arrival is due while spawning is on).
func (r *run) plan(duration time.Duration) error {
	inputErr := func(err error) error {
		return scenario.ErrorList{{Pos: scenario.Pos{File: r.p.File}, Msg: err.Error()}}
	}
	if a := r.arrival; a != nil {
		window := a.Duration
		if window == 0 || duration > 0 && duration < window {
			window = duration
		}
		plan, err := schedule.NewArrivals(a.Rate, window)
		if err != nil {
			return inputErr(err)
		}
		r.arrivalPlan = plan.Segment(r.opts.Segment)
		return nil
	}
	phases := r.s.Load.Phases
	if len(phases) == 0 {
		phases = []scenario.Phase{{Users: 1}}
	}
	if r.opts.Users > schedule.MaxUsers {
		return inputErr(fmt.Errorf("--users %d is more than a run may spawn (%d at most)", r.opts.Users, schedule.MaxUsers))
	}
	if r.opts.Users > 0 {
		// --users replaces the ramp-up by that many users at once.
		phases = []scenario.Phase{{Users: r.opts.Users, Tenant: phases[0].Tenant, Pool: phases[0].Pool, Workflow: phases[0].Workflow}}
	}
	sp := make([]schedule.Phase, len(phases))
	for i, ph := range phases {
		sp[i] = schedule.Phase{At: ph.At, Users: ph.Users, Spread: ph.Spread}
	}
	closed, err := schedule.NewClosed(sp)
	if err != nil {
		return inputErr(err)
	}
	r.closed, r.phases = closed, phases
	return nil
}

// elapsed is the time since the plan's origin.
func (r *run) elapsed() time.Duration { return time.Since(r.origin) }

// sleepUntil waits until at (from the plan's origin); false means stop
// ended first.
func (r *run) sleepUntil(timer *time.Timer, stop context.Context, at time.Duration) bool {
	if wait := time.Until(r.origin.Add(at)); wait > 0 {
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-stop.Done():
			return false
		}
	}
	return stop.Err() == nil
}

// spawn starts users on schedule until the plan is done or spawning
// stops. The schedule is absolute: a spawn that had to wait (for a slot
// or the spawn rate) does not push the later ones back.
func (r *run) spawn() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	cur := r.closed.SegmentCursor(r.opts.Segment)
	for sp, ok := cur.Next(); ok; sp, ok = cur.Next() {
		if r.duration > 0 && sp.At >= r.duration {
			// Due after the run's end: never spawned, whether or not
			// the deadline's own timer has fired yet.
			return
		}
		if !r.sleepUntil(timer, r.stopSpawning, sp.At) {
			return
		}
		if r.spawnLimit != nil {
			if !r.sleepUntil(timer, r.stopSpawning, r.spawnLimit.Reserve(max(sp.At, r.elapsed()))) {
				return
			}
		}
		if r.slots != nil {
			select {
			case r.slots <- struct{}{}:
			case <-r.stopSpawning.Done():
				return
			}
		}
		ph := r.phases[sp.Phase]
		r.start(sp.User, spawnPlan{tenant: ph.Tenant, pool: ph.Pool, workflow: ph.Workflow}, r.iterations(), time.Time{}, r.stopSpawning)
	}
}

// arrive runs the open model: one single-iteration user per arrival, on
// the plan's times, whatever earlier users are doing. An arrival finding
// max_users already running, or coming sooner than spawn_rate_limit
// allows after the last one started, is dropped and counted.
//
// Every planned arrival is either started or dropped: the plan ends
// before the duration does, so only an interruption (a signal, an abort)
// ends the loop early, and then the plan is cut at that moment, counting
// the arrivals that were due and not yet reached as dropped. (The loop
// used to stop at the deadline, which a late timer could reach before
// the last arrival: that arrival was planned and never counted.)
func (r *run) arrive() {
	plan := r.arrivalPlan
	maxLive := int64(r.arrival.MaxUsers) // 0: no limit
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	a := &r.arrivals
	for k := 0; k < plan.Len(); k++ {
		at := plan.At(k)
		if !r.sleepUntil(timer, r.interrupt, at) {
			due := int64(plan.Due(r.elapsed()))
			a.Planned = max(due, int64(k))
			a.Dropped += a.Planned - int64(k)
			r.liveDropped.Store(a.Dropped)
			return
		}
		a.Planned++
		if maxLive > 0 && r.live.Load() >= maxLive || r.spawnLimit != nil && !r.spawnLimit.Admit(at) {
			a.Dropped++
			r.liveDropped.Add(1)
			continue
		}
		a.Started++
		r.liveStarted.Add(1)
		r.start(plan.Index(k)+1, spawnPlan{}, 1, r.origin.Add(at), r.interrupt)
	}
}

// pacer makes callers wait their turn under action_rate_limit: one
// schedule.Spacing shared by every user, behind a lock.
type pacer struct {
	mu     sync.Mutex
	s      *schedule.Spacing
	origin time.Time
}

// wait returns when the caller's turn comes, or ctx's error if ctx ends
// first.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	at := p.s.Reserve(time.Since(p.origin))
	p.mu.Unlock()
	d := time.Until(p.origin.Add(at))
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start launches user id, unless it cannot get an address.
//
// stop is when the user's iterations must no longer begin: the end of
// spawning for a closed-model user, an interruption alone for an arrival
// (whose one iteration was planned inside the window, and runs even if
// a late timer starts it just after the duration ends).
func (r *run) start(id int, sp spawnPlan, iterations int, intended time.Time, stop context.Context) {
	b := r.newBinding(id, sp)
	// Take the address here, in spawn order, so that user N gets the Nth
	// address whatever the scheduler does. A user that may wait for one
	// (capacity management) takes it in its own goroutine.
	if b.holds() && !b.mayWait() && !b.tryAcquire() {
		r.col.UserFailedToStart("pool-exhausted", fmt.Sprintf("user %d: ip pool %q has no free address", id, b.pool.ID))
		r.freeSlot()
		return
	}
	r.live.Add(1)
	r.wg.Add(1)
	u := r.newUser(b, iterations, intended, stop)
	if sp.workflow != "" {
		u.pickFlow(sp.workflow)
	}
	go u.begin(intended)
}

// maxSteps is the Starlark step limit of an iteration.
func (r *run) maxSteps() uint64 {
	if r.opts.MaxSteps > 0 {
		return r.opts.MaxSteps
	}
	return DefaultMaxSteps
}

func (r *run) freeSlot() {
	if r.slots != nil {
		<-r.slots
	}
}

// newBinding prepares the source-address state of user id.
func (r *run) newBinding(id int, sp spawnPlan) *userBinding {
	b := &userBinding{run: r, user: stdlib.NewUser(id, r.tenants[sp.tenant])}
	if pid := r.binding(sp.pool); pid != "" {
		b.pool = r.pools[pid]
	}
	return b
}

// iterations is how many iterations each user runs; 0 means until the
// run's duration ends.
func (r *run) iterations() int {
	lt := r.s.Load.Lifetime
	if r.opts.Iterations > 0 {
		return r.opts.Iterations
	}
	if r.opts.UntilDuration {
		return 0
	}
	if lt.Mode == "loop" {
		return lt.Iterations
	}
	return 1
}

// outcome classifies how an iteration ended: "" for passed, else the
// failure reason and a message.
func (r *run) outcome(err error, maxSteps uint64) (reason, msg string) {
	if r.hard.Err() != nil {
		// Cut off at the end of the run: whatever the flow made of its
		// cancelled calls, the iteration did not run its course.
		return "interrupted", ""
	}
	return r.describe(err, maxSteps)
}

// describe classifies a script's error: "" for none, else a reason and
// a message that starts with its position in the user's file.
func (r *run) describe(err error, maxSteps uint64) (reason, msg string) {
	if err == nil {
		return "", ""
	}
	var fail *stdlib.IterationFailure
	var exhausted *data.ExhaustedError
	var ee *starlark.EvalError
	isEval := errors.As(err, &ee)
	where := ""
	if isEval {
		where = r.p.ErrorPos(ee).String() + ": "
	}
	switch {
	case errors.As(err, &fail):
		return fail.Reason, where + fail.Msg
	case errors.As(err, &exhausted):
		return data.Reason, where + exhausted.Error()
	case isEval && r.mem != nil && isMemCancel(ee.Msg):
		return "memory", fmt.Sprintf("%sthe run's heap grew by %d MiB, past --max-memory (%d MiB), and this iteration was stopped here: a value growing without bound? (raise --max-memory if the run needs the memory)",
			where, r.mem.heap.Load()>>20, r.mem.limit>>20)
	case isEval && strings.Contains(ee.Msg, "too many steps"):
		return "step-limit", fmt.Sprintf("%sthe iteration ran more than %d Starlark steps (raise --max-steps if this is intended)", where, maxSteps)
	case isEval:
		return "error", where + ee.Msg
	}
	return "error", err.Error()
}

func (r *run) logLine(msg string) {
	if r.opts.Log == nil {
		return
	}
	r.logMu.Lock()
	fmt.Fprintln(r.opts.Log, msg)
	r.logMu.Unlock()
}

// noLoad refuses load() at run time: modules are loaded once, at start.
func noLoad(_ *starlark.Thread, module string) (starlark.StringDict, error) {
	return nil, fmt.Errorf("load(%q): modules can only be loaded at the top level of a file", module)
}

// userBinding is the source-address state of one user (spec §5).
type userBinding struct {
	run   *run
	user  *stdlib.User
	pool  *pool.Pool // nil: unbound
	from  *pool.Pool // the pool held comes from (maybe the fallback)
	held  netip.Addr
	conns *transport.Conns // the user's HTTP/2 and HTTP/3 connections
}

// strategy is how the run's users hold addresses (ip_binding's).
func (b *userBinding) strategy() scenario.BindStrategy {
	if s := b.run.s.Load.Binding.Strategy; s != "" {
		return s
	}
	return "per_user"
}

// releaseOnTaskEnd says the user gives its address back after each
// iteration (ip_binding's release_on: task_end).
func (b *userBinding) releaseOnTaskEnd() bool { return b.run.s.Load.Binding.ReleaseOn == "task_end" }

// holds reports whether the user keeps one address across actions.
func (b *userBinding) holds() bool { return b.pool != nil && b.strategy() == "per_user" }

// tryAcquire takes a free address without waiting.
func (b *userBinding) tryAcquire() bool {
	a, ok := b.pool.Acquire()
	if ok {
		b.held, b.from = a, b.pool
		b.user.AllocatedIP = a.String()
	}
	return ok
}

// mayWait reports whether capacity management lets a user without an
// address wait for one or fall back to another pool.
func (b *userBinding) mayWait() bool {
	c := b.run.s.Load.Capacity
	return c.WaitOnExhaustion || c.FallbackPool != ""
}

// acquire takes the user's address, waiting and falling back as the
// scenario's capacity management says.
func (b *userBinding) acquire(ctx context.Context) error {
	capm := b.run.s.Load.Capacity
	var a netip.Addr
	ok := false
	if capm.WaitOnExhaustion {
		a, ok = b.pool.AcquireWait(ctx, capm.WaitTimeout)
	} else {
		a, ok = b.pool.Acquire()
	}
	from := b.pool
	if !ok && capm.FallbackPool != "" {
		if fb := b.run.pools[capm.FallbackPool]; fb != nil {
			a, ok = fb.Acquire()
			from = fb
		}
	}
	if !ok {
		return fmt.Errorf("user %d: ip pool %q has no free address", b.user.ID, b.pool.ID)
	}
	b.held, b.from = a, from
	b.user.AllocatedIP = a.String()
	return nil
}

func (b *userBinding) release() {
	if b.held.IsValid() {
		// The user's kept-alive connections go with it: a connection is
		// never shared between users, and a churning run over a large
		// pool would otherwise keep one idle per address it went through.
		b.run.net.Source(b.held).CloseIdle()
		b.conns.CloseFrom(b.held)
		b.from.Release(b.held)
		b.held = netip.Addr{}
		b.user.AllocatedIP = ""
	}
}

// Addr implements stdlib.AddrSource.
func (b *userBinding) Addr(bind netip.Addr) (netip.Addr, func(), error) {
	noop := func() {}
	switch {
	case bind.IsValid():
		return bind, noop, b.run.inPools(bind)
	case b.pool == nil:
		return netip.Addr{}, noop, nil
	case b.strategy() == "shared":
		return b.pool.Next(), noop, nil
	case b.strategy() == "per_task":
		a, ok := b.pool.Acquire()
		if !ok {
			return netip.Addr{}, noop, fmt.Errorf("ip pool %q has no free address for this action", b.pool.ID)
		}
		return a, func() {
			// The action's connection stays with it (see release).
			b.run.net.Source(a).CloseIdle()
			b.conns.CloseFrom(a)
			b.pool.Release(a)
		}, nil
	}
	return b.held, noop, nil
}

// waitUntil returns at t, or earlier with an error when ctx ends or
// abort closes.
func waitUntil(ctx context.Context, abort <-chan struct{}, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-abort:
		return errors.New("aborted")
	}
}

// httpConfig turns the scenario's http: section into what the HTTP
// built-ins read.
func httpConfig(s *scenario.Scenario) *stdlib.HTTPConfig {
	c := stdlib.DefaultHTTP()
	h := &s.HTTP
	if h.KeepAlive != nil {
		c.KeepAlive = *h.KeepAlive
	}
	if h.Redirects != nil {
		c.Redirects = *h.Redirects
	}
	c.UserAgent, c.Timeout, c.MaxResponse, c.TLS = h.UserAgent, h.Timeout, h.MaxResponse, h.TLS
	c.Cookies, _ = stdlib.ParseCookieMode(h.Cookies) // checked at load
	c.ReadFile = s.ReadFile
	c.Version, _ = transport.ParseVersion(h.Version) // checked at load
	c.Resolve = h.Resolve
	c.Compression = h.Compression == catalog.CompressionGzip
	if h.Proxy != "" {
		c.Proxy, _ = transport.ParseProxy(h.Proxy) // checked at load
	}
	c.Resolver = &transport.Resolver{Servers: h.DNSServers, TTL: h.DNSTTL, Select: h.DNSSelect}
	return c
}
