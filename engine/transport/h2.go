package transport

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// Version says which HTTP versions a request may speak (spec §4.1).
type Version uint8

// The HTTP versions.
const (
	// VersionAuto offers h2 and http/1.1 by ALPN over TLS and speaks
	// HTTP/1.1 over plain TCP.
	VersionAuto Version = iota
	// Version11 speaks HTTP/1.1 only.
	Version11
	// Version2 requires HTTP/2: h2 by ALPN over TLS, h2c with prior
	// knowledge over plain TCP.
	Version2
	// Version3 speaks HTTP/3 over QUIC (https:// only): see h3.go.
	Version3
)

// ParseVersion reads a version as scenarios write it: auto, "1.1", "2"
// or "3".
func ParseVersion(s string) (Version, error) {
	switch s {
	case "", "auto":
		return VersionAuto, nil
	case "1.1":
		return Version11, nil
	case "2", "2.0":
		return Version2, nil
	case "3", "3.0":
		return Version3, nil
	}
	return 0, fmt.Errorf("HTTP version %q is not one of auto, 1.1, 2, 3", s)
}

// nextProtos are the ALPN protocols offered for v.
func (v Version) nextProtos() []string {
	switch v {
	case Version11:
		return []string{"http/1.1"}
	case Version2:
		return []string{"h2"}
	case Version3:
		return []string{http3.NextProtoH3}
	}
	return []string{"h2", "http/1.1"}
}

// Conns are one user's kept-alive connections: HTTP/1.1 (idle between
// its requests), HTTP/2 and HTTP/3. They are never put in a source's
// shared pool: kept here, reused by the user's own requests only, even
// when other users send from the same address, and closed when the user
// ends or gives its address back. A user sends one request at a time,
// and so does a Conns: its HTTP/2 connection carries one stream at a
// time, on the goroutine of the request (h2conn.go).
type Conns struct {
	mu     sync.Mutex
	h2     map[h2Key]*h2conn
	h3     map[h2Key]*h3conn
	idle   []*conn    // idle HTTP/1.1 connections, most recently used last
	t      *Transport // the transport of the idle ones, once there are some
	closed bool
}

type h2Key struct {
	src  netip.Addr
	dest destKey
}

// h2trace receives the moments quic-go's HTTP/3 client reports, from its
// own goroutines (HTTP/2 runs on the request's goroutine and times its
// phases itself, see h2conn.go): when the request was
// written (the end of send) and when the answer's first byte came (the
// end of wait), in nanoseconds since its base.
//
// Those goroutines may report for a request that already ended (one
// that timed out is still written, or answered, later): each request
// gets the next of a few slots, numbered by a generation counter, and a
// callback stamps its slot only while that slot is the current
// request's. A late report lands in a slot no one reads.
type h2trace struct {
	base  time.Time
	gen   atomic.Uint64
	slots [h2traceSlots]h2slot
}

// h2traceSlots is how many requests back a late report is told apart.
const h2traceSlots = 4

// h2slot is the timing of one request on the connection.
type h2slot struct {
	ct             httptrace.ClientTrace
	wrote, arrived atomic.Int64
}

func newH2Trace() *h2trace {
	t := &h2trace{base: time.Now()}
	for i := range t.slots {
		sl, own := &t.slots[i], uint64(i)
		sl.ct.WroteRequest = func(httptrace.WroteRequestInfo) {
			if t.gen.Load()%h2traceSlots == own {
				sl.wrote.Store(int64(time.Since(t.base)))
			}
		}
		sl.ct.GotFirstResponseByte = func() {
			if t.gen.Load()%h2traceSlots == own {
				sl.arrived.Store(int64(time.Since(t.base)))
			}
		}
	}
	return t
}

// begin starts timing the connection's next request and returns its
// slot, whose ClientTrace goes with the request.
func (t *h2trace) begin() *h2slot {
	sl := &t.slots[(t.gen.Load()+1)%h2traceSlots]
	sl.wrote.Store(0)
	sl.arrived.Store(0)
	t.gen.Add(1)
	return sl
}

// mark ends the send and wait phases at the moments sl reported. The
// request is written by the client's own goroutine, which may report it
// after the answer came (a server that answers before reading the
// body): then send ends when the answer began.
func (t *h2trace) mark(sl *h2slot, clock *PhaseClock) {
	now := time.Now()
	wrote, first := t.at(&sl.wrote), t.at(&sl.arrived)
	if first.IsZero() || first.After(now) {
		first = now
	}
	if wrote.IsZero() || wrote.After(first) {
		wrote = first
	}
	clock.MarkAt(metrics.PhaseSend, wrote)
	clock.MarkAt(metrics.PhaseWait, first)
}

// at returns the moment recorded in v, or the zero time if none was.
func (t *h2trace) at(v *atomic.Int64) time.Time {
	if n := v.Load(); n > 0 {
		return t.base.Add(time.Duration(n))
	}
	return time.Time{}
}

// NewConns returns an empty set of connections for one user.
func NewConns() *Conns { return &Conns{} }

func (u *Conns) get(k h2Key) *h2conn {
	if u == nil {
		return nil
	}
	return getMux(u, &u.h2, k)
}

// keep stores hc for the user's later requests; false if the set is
// closed (or nil), and hc is then the caller's to close.
func (u *Conns) keep(k h2Key, hc *h2conn) bool { return u != nil && keepMux(u, &u.h2, k, hc) }

func (u *Conns) drop(k h2Key, hc *h2conn) {
	if u != nil {
		dropMux(u, &u.h2, k, hc)
	}
}

// muxConn is a connection a user keeps per destination and reuses for
// its requests (HTTP/2, HTTP/3). getMux, keepMux and dropMux keep
// either kind in its map of the user's Conns, under u.mu: the map is
// passed by address because Close replaces it under that lock.
type muxConn interface {
	comparable
	usable() bool // can carry another request
	close()
}

// getMux returns the user's connection to k, if it has a usable one; an
// unusable one is forgotten and closed.
func getMux[C muxConn](u *Conns, m *map[h2Key]C, k h2Key) C {
	u.mu.Lock()
	defer u.mu.Unlock()
	var none C
	hc := (*m)[k]
	if hc != none && !hc.usable() {
		delete(*m, k)
		go hc.close()
		return none
	}
	return hc
}

// keepMux stores hc as the user's connection to k (closing one it
// replaces); false if the set is closed.
func keepMux[C muxConn](u *Conns, m *map[h2Key]C, k h2Key, hc C) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	if *m == nil {
		*m = map[h2Key]C{}
	}
	var none C
	if old := (*m)[k]; old != none && old != hc {
		go old.close()
	}
	(*m)[k] = hc
	return true
}

// dropMux forgets hc as the user's connection to k, if it still is.
func dropMux[C muxConn](u *Conns, m *map[h2Key]C, k h2Key, hc C) {
	u.mu.Lock()
	if (*m)[k] == hc {
		delete(*m, k)
	}
	u.mu.Unlock()
}

// Close closes the user's connections; later ones are closed after use.
func (u *Conns) Close() {
	if u == nil {
		return
	}
	u.mu.Lock()
	conns, conns3, t := u.h2, u.h3, u.t
	u.h2, u.h3, u.closed = nil, nil, true
	u.mu.Unlock()
	// Closed first: a request ending now cannot put its connection
	// aside after this.
	u.closeIdle1(time.Time{}, netip.Addr{}, true)
	if t != nil {
		t.unwatch(u)
	}
	for _, hc := range conns {
		hc.close()
	}
	for _, hc := range conns3 {
		hc.close()
	}
}

// CloseFrom closes the user's connections from source address src, and
// keeps the set for its later ones: the user gave the address back.
func (u *Conns) CloseFrom(src netip.Addr) {
	if u == nil {
		return
	}
	u.closeIdle1(time.Time{}, src, false)
	var conns []*h2conn
	var conns3 []*h3conn
	u.mu.Lock()
	for k, hc := range u.h2 {
		if k.src == src {
			conns = append(conns, hc)
			delete(u.h2, k)
		}
	}
	for k, hc := range u.h3 {
		if k.src == src {
			conns3 = append(conns3, hc)
			delete(u.h3, k)
		}
	}
	u.mu.Unlock()
	for _, hc := range conns {
		hc.close()
	}
	for _, hc := range conns3 {
		hc.close()
	}
}

// rawHeader writes an HTTP/2 or HTTP/3 response's header as an
// HTTP/1.1-style block, the form results and redirects read.
func rawHeader(r *http.Response) []byte {
	var b bytes.Buffer
	b.WriteString(r.Proto)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(r.StatusCode))
	b.WriteByte(' ')
	b.WriteString(http.StatusText(r.StatusCode))
	b.WriteString("\r\n")
	_ = r.Header.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}

// streamReset is an HTTP/2 or HTTP/3 stream the server reset: counted
// as kind reset, as a reset connection is over HTTP/1.1.
type streamReset struct{ err error }

func (e *streamReset) Error() string        { return "the server reset the stream: " + e.err.Error() }
func (e *streamReset) Unwrap() error        { return e.err }
func (e *streamReset) Is(target error) bool { return target == syscall.ECONNRESET }
