package runtime

import (
	"context"
	"fmt"
	"net/netip"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ntx-dev/ntx/engine/internal/data"
	"github.com/ntx-dev/ntx/engine/internal/scenario"
	"github.com/ntx-dev/ntx/engine/transport"
	"github.com/ntx-dev/ntx/stdlib"
)

// Setup and teardown (spec §4.3): a scenario's `def setup():` runs once
// before any user starts, and the frozen value it returns is what every
// user reads as `setup`; `def teardown(data):` runs once after the last
// user, given that value. They run as no user (user.id is 0), are
// measured like any call, and send from addresses the kernel picks
// unless a call's bind_ip says otherwise.

// hooks finds the setup and teardown functions among a program's
// globals, if it defines them.
func (p *Program) hooks(f *syntax.File) error {
	var errs scenario.ErrorList
	at := func(name string) scenario.Pos {
		for _, s := range f.Stmts {
			if d, ok := s.(*syntax.DefStmt); ok && d.Name.Name == name {
				return scenario.Pos{File: p.File, Line: int(d.Def.Line), Col: int(d.Def.Col)}
			}
		}
		return scenario.Pos{File: p.File, Line: 1, Col: 1}
	}
	if v, ok := p.globals["setup"]; ok {
		fn, isFn := v.(*starlark.Function)
		switch {
		case !isFn:
			errs.Add(at("setup"), "setup is a %s; a scenario's setup is a function run once before any user starts: def setup():", v.Type())
		case fn.NumParams() != 0:
			errs.Add(at("setup"), "setup takes %d parameters; it must take none (its return value is what users read as setup)", fn.NumParams())
		default:
			p.setupFn = fn
		}
	}
	if v, ok := p.globals["teardown"]; ok {
		fn, isFn := v.(*starlark.Function)
		switch {
		case !isFn:
			errs.Add(at("teardown"), "teardown is a %s; a scenario's teardown is a function run once after the last user: def teardown(data):", v.Type())
		case fn.NumParams() > 1:
			errs.Add(at("teardown"), "teardown takes %d parameters; it takes one, the value setup returned (or none)", fn.NumParams())
		default:
			p.teardownFn = fn
		}
	}
	return errs.Err()
}

// hook runs fn (setup or teardown) once, with args, in a thread of its
// own: user 0, unbound, measured into the run's collector. ctx ends it.
// It speaks HTTP as the users do (the scenario's http: section: TLS,
// resolve, timeouts, cookies), since setup usually logs in to the same
// service the users load.
func (r *run) hook(ctx context.Context, name string, fn *starlark.Function, args starlark.Tuple) (starlark.Value, error) {
	env := &stdlib.Shared{Ctx: ctx, Net: r.net, HTTP: r.http, Vars: r.p.vars, Sink: r.col, Log: r.logLine}
	if r.actionLimit != nil {
		env.Pace = r.actionLimit.wait
	}
	sess := &stdlib.Session{Shared: env, User: stdlib.NewUser(0, nil), Conns: transport.NewConns(), Source: stdlib.SourceFunc(unbound)}
	defer sess.Conns.Close()
	defer sess.EndIteration()
	thread := &starlark.Thread{Name: name, Load: noLoad,
		Print: func(_ *starlark.Thread, msg string) { r.logLine(name + ": " + msg) }}
	sess.Attach(thread)
	stdlib.NewRandom(r.opts.Seed, 0).Attach(thread)
	maxSteps := r.opts.MaxSteps
	if maxSteps == 0 {
		maxSteps = DefaultMaxSteps
	}
	thread.SetMaxExecutionSteps(maxSteps)
	stop := context.AfterFunc(ctx, func() { thread.Cancel("the run ended") })
	defer stop()
	v, err := starlark.Call(thread, fn, args, nil)
	if err != nil {
		_, msg := r.describe(err, maxSteps)
		return nil, fmt.Errorf("%s failed: %s", name, msg)
	}
	v.Freeze()
	return v, nil
}

// unbound is the source of setup's and teardown's calls: the kernel's
// choice, or the call's bind_ip.
func unbound(bind netip.Addr) (netip.Addr, func(), error) { return bind, func() {}, nil }

// attachSetup gives a user's thread the value setup returned.
func (r *run) attachSetup(thread *starlark.Thread) {
	if r.setupValue != nil {
		data.AttachSetup(thread, r.setupValue)
	}
}
