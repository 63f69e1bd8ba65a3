package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/ipv4"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// HTTP/3 (version "3") runs over QUIC, from a UDP socket of its own
// bound to the user's address: one QUIC connection per user and
// destination, kept in the user's Conns like an HTTP/2 connection and
// never shared. The socket is not connected (quic-go sends with
// sendmsg to the peer's address), so the kernel does not report an ICMP
// port unreachable to it: a server that does not answer QUIC is a
// timeout, not a refusal.

// h3conn is an HTTP/3 client connection over a QUIC connection ntx
// dialed from its own UDP socket.
type h3conn struct {
	cc     *http3.ClientConn
	qc     *quic.Conn
	tr     *quic.Transport
	udp    *countedUDP
	sock   *socket // the same socket, tracked so that Transport.Close cuts it
	reused bool
	// lookup and handshake are how long resolving the host and the QUIC
	// handshake took: the first exchange's dns and connect phases.
	lookup, handshake time.Duration
	trace             *h2trace // times the phases of its requests, one at a time
}

// usable reports whether the connection may carry another request: it
// is not closed (by either side, or by its idle timeout).
func (hc *h3conn) usable() bool { return hc.qc.Context().Err() == nil }

func (hc *h3conn) close() {
	_ = hc.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
	_ = hc.tr.Close()
	_ = hc.sock.Close()
}

// counts returns the bytes the connection's socket sent and received.
func (hc *h3conn) counts() (sent, recv int64) { return hc.udp.sent.Load(), hc.udp.recv.Load() }

// countedUDP is a UDP socket that counts the bytes of the datagrams it
// sends and receives (UDP payloads: QUIC packets, handshake included).
// It keeps every method quic-go looks for on a *net.UDPConn (sendmsg and
// recvmsg with control data, batched reads, the raw socket for GSO and
// ECN), so that wrapping it costs quic-go none of its optimizations.
type countedUDP struct {
	*net.UDPConn
	batch      *ipv4.PacketConn // recvmmsg, as quic-go would do on the bare socket
	sent, recv atomic.Int64
}

func newCountedUDP(c *net.UDPConn) *countedUDP {
	return &countedUDP{UDPConn: c, batch: ipv4.NewPacketConn(c)}
}

func (c *countedUDP) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.UDPConn.ReadFrom(p)
	c.recv.Add(int64(n))
	return n, addr, err
}

// Bytes sent are counted before the system call: on loopback the answer
// can arrive, and the request be over, before the sending goroutine
// runs again.
func (c *countedUDP) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.sent.Add(int64(len(p)))
	n, err := c.UDPConn.WriteTo(p, addr)
	c.sent.Add(int64(n - len(p)))
	return n, err
}

func (c *countedUDP) ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	n, oobn, flags, addr, err = c.UDPConn.ReadMsgUDP(b, oob)
	c.recv.Add(int64(n))
	return n, oobn, flags, addr, err
}

func (c *countedUDP) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	c.sent.Add(int64(len(b))) // with GSO, b holds every segment
	n, oobn, err = c.UDPConn.WriteMsgUDP(b, oob, addr)
	c.sent.Add(int64(n - len(b)))
	return n, oobn, err
}

// ReadBatch reads several datagrams with one system call; quic-go uses
// it when the socket offers it.
func (c *countedUDP) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	n, err := c.batch.ReadBatch(ms, flags)
	for i := range n {
		c.recv.Add(int64(ms[i].N))
	}
	return n, err
}

// h3Client makes HTTP/3 client connections with ntx's settings:
// responses decoded as HTTP/1.1 ones are (no transparent gzip), header
// blocks held to the same limit. Only its settings are used.
var h3Client = &http3.Transport{DisableCompression: true, MaxResponseHeaderBytes: MaxHeaderBytes}

// get3 returns the user's HTTP/3 connection to k, if it has a usable one.
func (u *Conns) get3(k h2Key) *h3conn {
	if u == nil {
		return nil
	}
	return getMux(u, &u.h3, k)
}

// keep3 stores hc for the user's later requests; false if the set is
// closed (or nil), and hc is then the caller's to close.
func (u *Conns) keep3(k h2Key, hc *h3conn) bool { return u != nil && keepMux(u, &u.h3, k, hc) }

func (u *Conns) drop3(k h2Key, hc *h3conn) {
	if u != nil {
		dropMux(u, &u.h3, k, hc)
	}
}

// attempt3 sends h over HTTP/3: on the user's connection to the
// destination, or a new one. A kept connection that fails before any
// answer came is replaced and an idempotent request sent once more, as
// over HTTP/1.1 and HTTP/2.
func (s *Source) attempt3(ctx context.Context, req *Request, h *hop, deadline time.Time, resp *Response) {
	key := destKey{host: h.url.Host, secure: true, insecure: req.Insecure, profile: req.TLS, version: Version3}
	hk := h2Key{src: s.addr, dest: key}
	for resent := false; ; resent = true {
		resp.Exchange = Exchange{Method: h.method, URL: h.url, Start: h.start}
		resp.Proto, resp.RawHeader, resp.Body, resp.BodySize = "", nil, nil, 0
		if h.url.Scheme != "https" {
			resp.Err = fmt.Errorf("version \"3\": HTTP/3 runs over QUIC, which is always encrypted: %s is not an https:// URL", h.url.Redacted())
			return
		}
		var hc *h3conn
		if !req.NoKeepAlive {
			hc = req.Conns.get3(hk)
		}
		if hc == nil {
			var err error
			hc, err = s.dial3(ctx, key, h.url, deadline, req)
			if err != nil {
				if hc != nil { // the handshake failed: its packets crossed the socket
					resp.Sent, resp.Received = hc.counts()
				}
				resp.Err = h3Error(ctx, err)
				resp.Latency = time.Since(h.start)
				return
			}
			// QUIC makes the connection and the TLS 1.3 handshake in one
			// exchange of packets: all of it is the connect phase.
			resp.Timings[metrics.PhaseDNS] = hc.lookup
			resp.Timings[metrics.PhaseConnect] = hc.handshake
		}
		reused := hc.reused
		sent0, recv0 := int64(0), int64(0)
		if reused {
			sent0, recv0 = hc.counts()
		}
		arrived, err := s.roundTrip3(ctx, hc, req, h, deadline, resp)
		resp.Latency = time.Since(h.start)
		sent, recv := hc.counts()
		resp.Sent, resp.Received = sent-sent0, recv-recv0
		if err != nil {
			resp.Err = h3Error(ctx, err)
		}
		if err == nil || hc.usable() {
			// The request's stream ended (answered, reset, cut at its
			// limit); the connection goes on.
			if !reused && (req.NoKeepAlive || !req.Conns.keep3(hk, hc)) {
				hc.close()
			} else {
				hc.reused = true
			}
			return
		}
		req.Conns.drop3(hk, hc)
		hc.close()
		if resent || !reused || arrived || !idempotent(h.method) || ctx.Err() != nil ||
			(!deadline.IsZero() && !time.Now().Before(deadline)) {
			return
		}
		resp.Earlier = append(resp.Earlier, resp.Exchange)
		h.start = time.Now()
	}
}

// dial3 opens a UDP socket bound to the source address and makes a QUIC
// connection from it to u's host, the TLS 1.3 handshake included. When
// the handshake fails, the connection is returned with the error, for
// its byte counts.
func (s *Source) dial3(ctx context.Context, key destKey, u *url.URL, deadline time.Time, req *Request) (*h3conn, error) {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	addr, lookup, err := dialAddr(ctx, req.Resolver, req.Resolve, s.addr, u.Hostname(), port)
	if err != nil {
		return nil, err
	}
	raddr, err := s.udpAddr(ctx, addr)
	if err != nil {
		return nil, err
	}
	network, laddr := "udp", &net.UDPAddr{}
	if s.addr.IsValid() {
		laddr.IP = s.addr.AsSlice()
		network = "udp4"
		if s.addr.Is6() && !s.addr.Is4In6() {
			network = "udp6"
		}
	}
	uc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	hc := &h3conn{udp: newCountedUDP(uc), sock: s.t.conns.track(uc), lookup: lookup}
	hc.tr = &quic.Transport{Conn: hc.udp}
	// Without an answer the handshake waits as long as the call may
	// (quic-go's own default is 5s), 30s at most as a TCP connect.
	wait := 30 * time.Second
	if !deadline.IsZero() {
		wait = max(time.Millisecond, min(wait, time.Until(deadline)))
	}
	conf := &quic.Config{
		HandshakeIdleTimeout: wait,
		MaxIdleTimeout:       s.t.opts.IdleTimeout,
		MaxIncomingStreams:   -1, // a client accepts no request streams
	}
	started := time.Now()
	hc.qc, err = hc.tr.Dial(ctx, raddr, s.tlsConfig(key, u.Hostname()), conf)
	hc.handshake = time.Since(started)
	if err != nil {
		_ = hc.tr.Close()
		_ = hc.sock.Close()
		return hc, err // closed, for its byte counts
	}
	hc.cc = h3Client.NewClientConn(hc.qc)
	hc.trace = newH2Trace()
	// A connection that ends by itself (its idle timeout, the server
	// closing it) gives its socket back at once, not when its user next
	// sends or ends: a user thinking for minutes holds no descriptor.
	context.AfterFunc(hc.qc.Context(), func() { _ = hc.sock.Close() })
	return hc, nil
}

// udpAddr turns host:port into a UDP address; a host name (no resolver
// and no resolve entry for it) is looked up by the system, in the
// source address's family.
func (s *Source) udpAddr(ctx context.Context, addr string) (*net.UDPAddr, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return net.UDPAddrFromAddrPort(ap), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	family := "ip"
	if s.addr.IsValid() {
		family = "ip4"
		if s.addr.Is6() && !s.addr.Is4In6() {
			family = "ip6"
		}
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, err
	}
	pn, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil {
		return nil, err
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ips[0].Unmap(), uint16(pn))), nil
}

// roundTrip3 sends h on hc and reads the answer into resp. arrived says
// whether any of the answer came.
func (s *Source) roundTrip3(ctx context.Context, hc *h3conn, req *Request, h *hop, deadline time.Time, resp *Response) (arrived bool, err error) {
	var clock PhaseClock
	clock.Start(&resp.Timings)
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	tr := hc.trace
	slot := tr.begin()
	ctx = httptrace.WithClientTrace(ctx, &slot.ct)
	hr, err := s.stdRequest(ctx, req, h)
	if err != nil {
		return false, err
	}
	hresp, err := hc.cc.RoundTrip(hr)
	if err != nil {
		return false, err
	}
	defer hresp.Body.Close() // before the whole body: cancels the stream, not the connection
	tr.mark(slot, &clock)
	resp.Status = hresp.StatusCode
	resp.Proto = "HTTP/3.0"
	resp.RawHeader = rawHeader(hresp)
	limit := req.MaxResponse
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	if hresp.ContentLength > limit {
		return true, &TooLargeError{What: "response body", Limit: limit}
	}
	resp.Body, resp.BodySize, err = readAll(hresp.Body, limit, keepBody(req), "response body")
	clock.Mark(metrics.PhaseReceive)
	return true, err
}

// stdRequest writes h as a net/http request, the form HTTP/2 and HTTP/3
// clients take: the transport's own headers (Host, framing) left out,
// the User-Agent and the jar's cookies added.
func (s *Source) stdRequest(ctx context.Context, req *Request, h *hop) (*http.Request, error) {
	hr, err := http.NewRequestWithContext(ctx, h.method, h.url.String(), nil)
	if err != nil {
		return nil, err
	}
	hr.Header = make(http.Header, len(h.header)+1)
	for k, vs := range h.header {
		switch {
		case asciiEqualFold(k, "Host"), asciiEqualFold(k, "Content-Length"), asciiEqualFold(k, "Transfer-Encoding"), asciiEqualFold(k, "Connection"):
			continue
		}
		hr.Header[k] = vs
	}
	if hr.Header.Get("User-Agent") == "" {
		ua := req.UserAgent
		if ua == "" {
			ua = s.t.opts.UserAgent
		}
		hr.Header.Set("User-Agent", ua)
	}
	if h.cookie != "" {
		hr.Header["Cookie"] = []string{h.cookie}
	}
	if h.host != "" {
		hr.Host = h.host
	}
	if len(h.body) > 0 {
		body := h.body
		hr.Body = io.NopCloser(bytes.NewReader(body))
		hr.ContentLength = int64(len(body))
		hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return hr, nil
}

// h3Error gives a failed HTTP/3 exchange the meaning the error counters
// use: the run's end or the deadline as such, a failed handshake as a
// TLS error, a stream the server reset as a reset, a connection the
// server refused as refused, and the rest of QUIC's and HTTP/3's
// errors as protocol errors.
func h3Error(ctx context.Context, err error) error {
	var tooLarge *TooLargeError
	var tlsErr *TLSError
	var stream *quic.StreamError
	var te *quic.TransportError
	var reset *quic.StatelessResetError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &tooLarge), errors.As(err, &tlsErr):
		return err
	case errors.As(err, &stream) && stream.Remote:
		return &streamReset{err}
	case errors.As(err, &reset):
		return &quicClosed{err: err, errno: syscall.ECONNRESET}
	case errors.As(err, &te) && te.ErrorCode.IsCryptoError():
		// The handshake failed: a certificate not trusted, a version
		// refused, a client certificate missing.
		return &TLSError{Err: err}
	case errors.As(err, &te) && te.Remote && te.ErrorCode == quic.ConnectionRefused:
		return &quicClosed{err: err, errno: syscall.ECONNREFUSED}
	}
	if k := Classify(err); k != metrics.KindOther && k != metrics.KindEOF {
		return err // a timeout, a socket error, a bad source address
	}
	return &ProtocolError{err}
}

// quicClosed is a QUIC connection the server refused or reset, counted
// as a TCP connection would be (kind refused or reset).
type quicClosed struct {
	err   error
	errno syscall.Errno
}

func (e *quicClosed) Error() string        { return "QUIC: " + e.err.Error() }
func (e *quicClosed) Unwrap() error        { return e.err }
func (e *quicClosed) Is(target error) bool { return target == e.errno }
