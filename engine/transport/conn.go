package transport

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// socket is a connection as the kernel sees it: it counts the bytes that
// cross it (TLS records and headers included: what the byte counters
// report) and remembers the first error of a read or write, which
// parsers above it tend to report as a plain end of file.
//
// Only the goroutine using the connection reads and writes it; Close
// may come from anywhere (the end of a run).
type socket struct {
	net.Conn
	// sent and recv are atomic: an HTTP/2 connection's frames are read
	// by its own goroutine while the user's reads the counts.
	sent, recv atomic.Int64
	// err is the first error of a read or write. Atomic: a WebSocket's
	// read-ahead goroutine and its sender, or an HTTP/2 connection's
	// read loop and the user's writes, fail on the same socket at once.
	err atomic.Pointer[error]

	set  *connSet
	once sync.Once
}

func (c *socket) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.recv.Add(int64(n))
	if err != nil {
		c.keep(err)
	}
	return n, err
}

func (c *socket) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	if err != nil {
		c.keep(err)
	}
	return n, err
}

// keep remembers err if it is the socket's first. The copy is made here,
// not in Read and Write, so that only a failure allocates.
func (c *socket) keep(err error) {
	e := err
	c.err.CompareAndSwap(nil, &e)
}

// firstErr is the first error of a read or write, nil if none.
func (c *socket) firstErr() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Close closes the connection and forgets it.
func (c *socket) Close() error {
	c.once.Do(func() { c.set.forget(c) })
	return c.Conn.Close()
}

// connSet tracks the open sockets of a transport, so that the end of a
// run can cut requests in flight: reads and writes take deadlines, not
// contexts.
type connSet struct {
	mu     sync.Mutex
	conns  map[*socket]struct{}
	closed bool
}

// track returns nc as a counted socket, closed at once if the set is.
func (s *connSet) track(nc net.Conn) *socket {
	c := &socket{Conn: nc, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		nc.Close()
		return c
	}
	if s.conns == nil {
		s.conns = map[*socket]struct{}{}
	}
	s.conns[c] = struct{}{}
	return c
}

func (s *connSet) forget(c *socket) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closeAll closes every tracked socket, now and from now on.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// conn is a kept-alive HTTP connection: the socket, and TLS over it for
// HTTPS.
type conn struct {
	net.Conn // what requests are written to: the socket or TLS over it
	sock     *socket
	peeker   *peeker // the idle check; nil if unavailable
	key      destKey
	// (The flags are side by side: a connection is 16 bytes smaller, and
	// every kept-alive user holds one.)
	reused bool
	// proven: the connection carried a request after it was kept idle,
	// so its server keeps connections alive (see intact).
	proven bool
	h2     bool // HTTP/2 was agreed (ALPN h2, or h2c by prior knowledge)
	// certAsked: the server asked for a client certificate and none was
	// configured (a refusal that follows is explained by it).
	certAsked bool
	lookup    time.Duration // how long resolving the host took
	idleSince time.Time
	// deadline is the deadline set on the connection by its last
	// exchange (zero: none), kept while it is idle.
	deadline time.Time
	// connect and handshake are how long the TCP connect and the TLS
	// handshake took: with lookup, the first exchange's setup phases.
	connect, handshake time.Duration
	src                *Source // the source it was dialed from
}

// freshIdle is how long a proven connection may stay idle and still be
// taken as intact without asking the kernel.
const freshIdle = time.Millisecond

// intact reports whether an idle connection may carry a request at now.
// The kernel is asked (a system call per request, a third of those a
// kept-alive GET makes otherwise) unless the connection was put aside
// less than freshIdle ago after carrying a request on reuse: its server
// keeps connections alive, and a close within that millisecond is the
// same race as one while the request goes out, which an idempotent
// request survives by being sent again. A server's idle timeout, and
// one that closes after each answer without saying so, are still found
// here before a request is written.
func (c *conn) intact(now time.Time) bool {
	if c.peeker == nil || (c.proven && now.Sub(c.idleSince) < freshIdle) {
		return true
	}
	if !c.deadline.IsZero() {
		// The last exchange's deadline, which may have passed: it would
		// fail the check.
		_ = c.SetDeadline(time.Time{})
		c.deadline = time.Time{}
	}
	return c.peeker.intact()
}

func (c *conn) close() { c.sock.Close() }
