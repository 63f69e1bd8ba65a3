package transport

import (
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// Timings are how long each phase of one HTTP exchange took (spec §4.1),
// indexed by metrics.Phase: dns, connect, tls, send, wait (the request
// sent to the first byte of the answer) and receive (the first byte to
// the last). A phase that did not happen is 0: no lookup for an address
// or a resolve entry, no dns, connect or tls on a reused connection.
type Timings [metrics.NumPhases]time.Duration

// PhaseClock times the consecutive phases of an exchange: each Mark ends
// the phase in progress at the current time and starts the next one. It
// is the one way a protocol's round trip fills an Exchange's Timings
// (HTTP/1.1 and HTTP/2 here, HTTP/3 alike), so that the phases mean the
// same thing whatever was spoken. It costs a clock read per phase and
// allocates nothing.
type PhaseClock struct {
	t    *Timings
	last time.Time
}

// Start starts timing into t from now.
func (c *PhaseClock) Start(t *Timings) { c.StartAt(t, time.Now()) }

// StartAt starts timing into t from at.
func (c *PhaseClock) StartAt(t *Timings, at time.Time) { c.t, c.last = t, at }

// Mark ends phase p now: the time since the last mark (or the start) is
// added to it. It returns now, for the caller's own use.
func (c *PhaseClock) Mark(p metrics.Phase) time.Time {
	now := time.Now()
	c.MarkAt(p, now)
	return now
}

// MarkAt ends phase p at at, which is not before the last mark (a time
// taken elsewhere, such as another goroutine's).
func (c *PhaseClock) MarkAt(p metrics.Phase, at time.Time) {
	if c.t == nil {
		return
	}
	if d := at.Sub(c.last); d > 0 {
		c.t[p] += d
	}
	c.last = at
}

// setup are the phases of making a connection: its lookup, TCP connect
// and TLS handshake, given to the first exchange it carries.
func (t *Timings) setup(c *conn) {
	t[metrics.PhaseDNS] = c.lookup
	t[metrics.PhaseConnect] = c.connect
	t[metrics.PhaseTLS] = c.handshake
}
