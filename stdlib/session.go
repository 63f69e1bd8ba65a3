// Package stdlib holds the Starlark built-ins of ntx scenarios (spec §7):
// http, tcp, udp, sleep, check, fail, log, vars, env, results and
// run_action. Every socket a script opens goes through these built-ins,
// which bind it to the user's source address and measure it.
//
// The runtime puts a *Session in each user's thread; the built-ins find
// it there. Nothing in this package starts users or aggregates metrics:
// it emits Samples to the Session's Sink.
package stdlib

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// sessionKey is the thread-local key under which the runtime stores the
// user's *Session.
const sessionKey = "ntx.session"

// Session is everything a built-in needs from the user that runs it:
// what is the run's, shared by all its users, and the user's own.
type Session struct {
	*Shared
	// User is the `user` value scripts see.
	User *User
	// Conns are the user's own HTTP/2 connections (nil: none kept).
	Conns *transport.Conns
	// Source gives the user's actions the addresses they send from.
	Source AddrSource
	// Intended, when set, is when this user's iteration was meant to
	// start (the open model). The first call of the iteration measures
	// its latency from then, so that time spent waiting to start (a
	// generator falling behind, a rate limit) shows up in the results
	// instead of being hidden: no coordinated omission.
	Intended time.Time

	// websockets are the sessions ws.connect opened that are still
	// open: EndIteration closes them.
	websockets map[*wsSession]struct{}

	// jars are the user's cookies, each jar made on its first cookie.
	jars jars

	// The transport source of the user's last call: a user nearly always
	// sends from the same address, and this spares the shared lookup
	// (and its lock) on every request.
	lastSource *transport.Source

	// The working state of the user's HTTP call in progress (nil
	// between calls): a user makes one at a time, and what a call
	// returns holds none of it.
	call *httpCall
}

// AddrSource gives a user's actions the addresses they send from. (An
// interface, not a func: the user's binding is it, where a func would
// be one more allocation a user.)
type AddrSource interface {
	// Addr returns the address an action sends from and a function that
	// gives it back when the action is done. bind overrides the user's
	// address when it is valid. A zero address means "unbound".
	Addr(bind netip.Addr) (netip.Addr, func(), error)
}

// SourceFunc is a func that is an AddrSource.
type SourceFunc func(bind netip.Addr) (netip.Addr, func(), error)

// Addr implements AddrSource.
func (f SourceFunc) Addr(bind netip.Addr) (netip.Addr, func(), error) { return f(bind) }

// Shared is the part of a Session that is the same for every user of a
// run, held once: a thinking user's Session is its own state alone.
type Shared struct {
	// Ctx ends when the run is cancelled; every blocking call watches it.
	Ctx context.Context
	// Net sends the users' traffic from their source addresses.
	Net *transport.Transport
	// HTTP is the run's http: section; nil is the defaults.
	HTTP *HTTPConfig
	// Vars is the run-wide `vars` namespace.
	Vars *Vars
	// Sink receives one Sample per measured call.
	Sink metrics.Sink
	// Log writes a line from the script; nil drops it.
	Log func(msg string)
	// Pace, if set, is called before every measured call (the action
	// rate limit); it returns an error when the run ends while waiting.
	Pace func(ctx context.Context) error
}

// httpCall is the working state of one HTTP call.
type httpCall struct {
	args httpArgs
	prep prepared
	req  transport.Request
	resp transport.Response
	// sample is the call's measurement, handed to the Sink (which must
	// not keep it): here, not in the Session, a thinking user holds none.
	sample metrics.Sample
}

// source returns the transport source for address src.
func (s *Session) source(src netip.Addr) *transport.Source {
	if s.lastSource == nil || s.lastSource.Addr() != src {
		s.lastSource = s.Net.Source(src)
	}
	return s.lastSource
}

// acquire prepares a measured call: it takes the call's source address,
// recording the call as failed when there is none, and waits for the
// action rate limit. When ok is false the call is not made: err is set if
// the run is ending, else res says why.
func (s *Session) acquire(res *Result, kind string, bind netip.Addr) (src netip.Addr, release func(), ok bool, err error) {
	src, release, err = s.Source.Addr(bind)
	if err != nil {
		res.Err = err.Error()
		s.Sink.Record(&metrics.Sample{Name: res.Name, Kind: kind, Start: time.Now(), ErrKind: metrics.KindNoAddress, Err: res.Err})
		return src, nil, false, nil
	}
	res.source = src // formatted when a script asks
	if s.Pace != nil {
		if err := s.Pace(s.Ctx); err != nil {
			release()
			return src, nil, false, err
		}
	}
	return src, release, true, nil
}

// startClock returns when the call that is about to be made counts as
// started: now, or the iteration's intended start for its first call.
func (s *Session) startClock() time.Time {
	if !s.Intended.IsZero() {
		t := s.Intended
		s.Intended = time.Time{}
		return t
	}
	return time.Now()
}

// Attach stores s in thread for the built-ins to find.
func (s *Session) Attach(thread *starlark.Thread) { thread.SetLocal(sessionKey, s) }

// SessionOf returns the Session attached to thread, nil if none.
func SessionOf(thread *starlark.Thread) *Session {
	s, _ := thread.Local(sessionKey).(*Session)
	return s
}

func session(thread *starlark.Thread, fn string) (*Session, error) {
	s, ok := thread.Local(sessionKey).(*Session)
	if !ok || s == nil {
		return nil, fmt.Errorf("%s: only available while a scenario runs (no user in this thread)", fn)
	}
	return s, nil
}

// IterationFailure is the error `fail()` raises: it ends the iteration
// as failed with Reason.
type IterationFailure struct {
	Reason string
	Msg    string
}

func (e *IterationFailure) Error() string { return e.Msg }

// errKind classifies the error of a failed call: cancelled when the run
// is ending, whatever the error says.
func (s *Session) errKind(err error) metrics.Kind {
	if s.Ctx.Err() != nil {
		return metrics.KindCancelled
	}
	return transport.Classify(err)
}

// remember keeps w to be closed at the end of the iteration.
func (s *Session) remember(w *wsSession) {
	if s.websockets == nil {
		s.websockets = map[*wsSession]struct{}{}
	}
	s.websockets[w] = struct{}{}
}

// forget drops a closed w.
func (s *Session) forget(w *wsSession) { delete(s.websockets, w) }

// EndIteration closes what the iteration opened and left open: the
// WebSockets of ws.connect the flow did not close. The runtime calls it
// after each iteration (and after setup and teardown), so that no
// connection, goroutine or held address outlives its iteration.
func (s *Session) EndIteration() {
	for w := range s.websockets {
		w.close()
	}
}
