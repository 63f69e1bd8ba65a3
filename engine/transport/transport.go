// Package transport sends ntx's traffic: HTTP/1.1 over plain TCP and
// TLS, TCP and UDP exchanges, each from a bound source address, with
// read limits, connection reuse and errors classified into
// metrics.Kind. It knows nothing of Starlark or scenarios: the built-ins
// in stdlib parse a call's arguments into a Request, call the transport
// and turn what it returns into a result and samples.
//
// One Transport serves a run. It keeps one Source per source address.
// A user's kept-alive connections are its own (Conns), never handed to
// another user, even one sending from the same address; a Source keeps
// the idle connections of requests made without a user. A connection is
// never shared between source addresses, so a user's requests always
// leave from the user's address.
//
// HTTP requests are written by this package and responses parsed with
// fasthttp's header parser, on the calling goroutine: net/http's
// Transport hands every request to two goroutines per connection, and
// those hand-offs were the largest cost of a request after the system
// calls. HTTP and HTTPS go through the same code, so they behave the
// same: headers, User-Agent, redirects, limits, timeouts, error kinds.
// HTTP/2 runs on the calling goroutine too (h2conn.go), with x/net's
// framer and HPACK: a user's connection carries one stream at a time.
package transport

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits and defaults of the transport.
const (
	// DefaultMaxResponse bounds what one answer may bring in: an HTTP
	// body, a TCP or UDP reply (max_response).
	DefaultMaxResponse = 64 << 20
	// MaxHeaderBytes bounds an HTTP response's header block. Real
	// servers send large cookies and CSP headers; 64 KiB is far above
	// what browsers and curl read.
	MaxHeaderBytes = 64 << 10
	// DefaultIdleTimeout is how long an idle connection is kept.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultRedirects is how many redirect hops a request follows.
	DefaultRedirects = 10
	// DefaultMaxIdlePerHost bounds the idle connections from one source
	// address to one destination.
	DefaultMaxIdlePerHost = 1024
)

// UserAgent is sent with every HTTP request that does not set its own:
// "ntx/VERSION". The command sets it from its build version.
var UserAgent = "ntx/" + buildVersion()

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "dev"
}

// Options configure a Transport. The zero value is the defaults.
type Options struct {
	// IdleTimeout closes connections idle for longer (default 90s).
	IdleTimeout time.Duration
	// MaxIdle caps the idle connections of the whole transport, across
	// source addresses (default: three quarters of the process's
	// open-file limit).
	MaxIdle int
	// MaxIdlePerHost caps the idle connections from one source address
	// to one destination (default 1024).
	MaxIdlePerHost int
	// TLS is the base configuration of HTTPS connections (root CAs,
	// client certificates); nil uses the system roots. It is cloned,
	// never modified.
	TLS *tls.Config
	// UserAgent replaces the package's UserAgent when set.
	UserAgent string
}

// Transport is the set of sources and connections of one run. It is
// safe for concurrent use.
type Transport struct {
	opts Options

	mu      sync.RWMutex
	sources map[netip.Addr]*Source

	idle atomic.Int64 // idle connections, all sources and users
	// users are the users' connection sets holding idle HTTP/1.1
	// connections, for the sweep.
	usersMu   sync.Mutex
	users     map[*Conns]struct{}
	conns     connSet
	sweepOnce sync.Once
	stop      chan struct{}
	closeOnce sync.Once
	// closesWith is the context whose end closes the transport, set
	// before any request is made (CloseWith).
	closesWith context.Context
}

// New returns a transport with no connections.
func New(opts Options) *Transport {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxIdlePerHost <= 0 {
		opts.MaxIdlePerHost = DefaultMaxIdlePerHost
	}
	if opts.MaxIdle <= 0 {
		// Three quarters of the open-file limit: room for a kept-alive
		// connection per user, and a quarter left for connections in
		// use, so that idle ones never exhaust the process.
		opts.MaxIdle = 512
		if n := FDLimit(); n > 0 {
			opts.MaxIdle = max(64, int(min(n, 1<<30)/4*3))
		}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = UserAgent
	}
	return &Transport{opts: opts, sources: map[netip.Addr]*Source{}, stop: make(chan struct{})}
}

// Source returns the source for address src (the zero Addr: unbound).
// Callers may keep it: it is the same value for the life of t.
func (t *Transport) Source(src netip.Addr) *Source {
	t.mu.RLock()
	s := t.sources[src]
	t.mu.RUnlock()
	if s != nil {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s = t.sources[src]; s == nil {
		s = &Source{t: t, addr: src}
		if src.IsValid() {
			s.local.IP = s.ip[:copy(s.ip[:], src.AsSlice())]
		}
		t.sources[src] = s
	}
	return s
}

// Idle returns the number of idle connections the transport holds.
func (t *Transport) Idle() int { return int(t.idle.Load()) }

// Close closes every connection, idle or in use: requests in flight fail
// at once, and connections made later are closed as soon as they open.
// The runtime calls it when a run's in-flight work is cancelled.
func (t *Transport) Close() {
	t.closeOnce.Do(func() { close(t.stop) })
	t.conns.closeAll()
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, s := range t.sources {
		s.closeIdle(time.Time{})
	}
	for _, u := range t.watched() {
		u.closeIdle1(time.Time{}, netip.Addr{}, true)
	}
}

// CloseWith closes t when ctx ends, like Close, and returns what stops
// that. Requests made with ctx itself then need no watch of their own
// on ctx (a run's users all carry the run's context): its end cuts their
// connections all at once. It must be called before t sends anything.
func (t *Transport) CloseWith(ctx context.Context) (stop func() bool) {
	t.closesWith = ctx
	return context.AfterFunc(ctx, t.Close)
}

// sweep closes idle connections past the idle timeout, until Close. It
// runs from the first connection put aside as idle.
func (t *Transport) sweep() {
	period := min(max(t.opts.IdleTimeout/4, 5*time.Millisecond), 5*time.Second)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			t.mu.RLock()
			srcs := make([]*Source, 0, len(t.sources))
			for _, s := range t.sources {
				srcs = append(srcs, s)
			}
			t.mu.RUnlock()
			for _, s := range srcs {
				s.closeIdle(now.Add(-t.opts.IdleTimeout))
			}
			for _, u := range t.watched() {
				u.closeIdle1(now.Add(-t.opts.IdleTimeout), netip.Addr{}, true)
			}
		}
	}
}

// Dialer returns a TCP dialer bound to src (unbound for the zero
// address) that takes the port only at connect time.
func Dialer(src netip.Addr) *net.Dialer {
	var local *net.TCPAddr
	if src.IsValid() {
		local = &net.TCPAddr{IP: src.AsSlice()}
	}
	d := newDialer(local)
	return &d
}

// newDialer is every TCP dialer of ntx: from local (nil: unbound), the
// port taken at connect time (bindControl).
func newDialer(local *net.TCPAddr) net.Dialer {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: bindControl}
	if local != nil {
		d.LocalAddr = local
	}
	return d
}

// dialer is Dialer(s.addr), made where it dials (on the stack): a
// Source keeps only the address, in its own memory (a Source per
// address of a pool is 150 bytes less).
func (s *Source) dialer() net.Dialer {
	if s.addr.IsValid() {
		return newDialer(&s.local)
	}
	return newDialer(nil)
}

// Source sends from one source address, and keeps the idle connections
// of requests made without a user's Conns.
type Source struct {
	t     *Transport
	addr  netip.Addr
	local net.TCPAddr // addr, to bind to (see dialer)
	ip    [16]byte    // local.IP's bytes

	mu sync.Mutex
	// What a source needs only for TLS or for requests made without a
	// user's Conns (tools, tests), made on first use under mu: a pool's
	// address that plain HTTP users send from costs the fields above
	// alone (112 bytes, not 160).
	*sourceState
}

type sourceState struct {
	dests     []*dest // a load test talks to few destinations
	sessions  tls.ClientSessionCache
	sessions3 tls.ClientSessionCache // QUIC's (HTTP/3)
}

// Addr is the source address (the zero Addr when unbound).
func (s *Source) Addr() netip.Addr { return s.addr }

// destKey names a destination: the URL's host as written, and how TLS
// is spoken to it. Connections made with verification off are never
// handed to a request that wants it on.
type destKey struct {
	host     string
	secure   bool
	insecure bool
	profile  *TLSProfile // nil: the transport's default
	version  Version     // what ALPN offers (TLS), or h2c (Version2)
	proxy    string      // the proxy's URL; "" connects directly
}

// dest is one destination's idle connections, most recently used last,
// and its TLS configuration.
type dest struct {
	key  destKey
	idle []*conn
	tls  *tls.Config
}

// destFor returns the destination for key, adding it. s.mu is held.
func (s *Source) destFor(key destKey) *dest {
	if s.sourceState == nil {
		s.sourceState = &sourceState{}
	}
	for _, d := range s.dests {
		if d.key == key {
			return d
		}
	}
	d := &dest{key: key}
	s.dests = append(s.dests, d)
	return d
}

// take returns the most recently used idle connection to key that is
// still fit to carry a request, closing the ones that are not.
func (s *Source) take(key destKey) *conn {
	now := time.Now()
	for {
		s.mu.Lock()
		d := s.destFor(key)
		var c *conn
		if n := len(d.idle); n > 0 {
			c = d.idle[n-1]
			d.idle[n-1] = nil
			d.idle = d.idle[:n-1]
		}
		s.mu.Unlock()
		if c == nil {
			return nil
		}
		s.t.idle.Add(-1)
		if now.Sub(c.idleSince) < s.t.opts.IdleTimeout && c.intact(now) {
			return c
		}
		c.close()
	}
}

// put keeps c for the next request to its destination, unless the
// caps on idle connections are reached.
func (s *Source) put(c *conn, at time.Time) {
	s.t.sweepOnce.Do(func() { go s.t.sweep() })
	c.idleSince = at
	if s.t.idle.Add(1) > int64(s.t.opts.MaxIdle) {
		s.t.idle.Add(-1)
		c.close()
		return
	}
	s.mu.Lock()
	d := s.destFor(c.key)
	if len(d.idle) < s.t.opts.MaxIdlePerHost {
		d.idle = append(d.idle, c)
		c = nil
	}
	s.mu.Unlock()
	if c != nil {
		s.t.idle.Add(-1)
		c.close()
	}
}

// CloseIdle closes the source's idle connections: its user is gone.
func (s *Source) CloseIdle() { s.closeIdle(time.Time{}) }

// closeIdle closes the idle connections put aside before cutoff; the
// zero cutoff closes them all.
func (s *Source) closeIdle(cutoff time.Time) {
	var old []*conn
	s.mu.Lock()
	var dests []*dest
	if s.sourceState != nil {
		dests = s.dests
	}
	for _, d := range dests {
		keep := d.idle[:0]
		for _, c := range d.idle {
			if cutoff.IsZero() || c.idleSince.Before(cutoff) {
				old = append(old, c)
			} else {
				keep = append(keep, c)
			}
		}
		clear(d.idle[len(keep):])
		d.idle = keep
	}
	s.mu.Unlock()
	s.t.idle.Add(-int64(len(old)))
	for _, c := range old {
		c.close()
	}
}
