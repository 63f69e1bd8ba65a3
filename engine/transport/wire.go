package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// aLongTimeAgo is a deadline in the past: it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// Buffers are pooled and held only during an exchange: an idle user
// costs no buffer memory. A response whose header block does not fit
// the small reader is read again through a large one.
var (
	writers    = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
	readers    = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	bigReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, MaxHeaderBytes) }}
	headers    = sync.Pool{New: func() any {
		h := new(fasthttp.ResponseHeader)
		h.DisableNormalizing()
		return h
	}}
	scratch = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
)

// errSmallBuffer says a header block did not fit the reader.
var errSmallBuffer = errors.New("header block larger than the read buffer")

// attempt sends h once, or twice when its kept-alive connection broke
// before any of the answer arrived and the method is idempotent. Every
// exchange that reached the wire is kept: the failed one in
// resp.Earlier, the last in resp.Exchange.
func (s *Source) attempt(ctx context.Context, req *Request, h *hop, deadline time.Time, resp *Response) {
	if req.Version == Version3 {
		s.attempt3(ctx, req, h, deadline, resp)
		return
	}
	secure := h.url.Scheme == "https"
	key := destKey{host: h.url.Host, secure: secure, insecure: secure && req.Insecure}
	if secure {
		key.profile = req.TLS
		key.version = req.Version
	} else if req.Version == Version2 {
		key.version = Version2
	}
	if req.Proxy != nil {
		key.proxy = req.Proxy.String()
	}
	hk := h2Key{src: s.addr, dest: key}
	for resent := false; ; resent = true {
		resp.Exchange = Exchange{Method: h.method, URL: h.url, Start: h.start}
		resp.Proto, resp.RawHeader, resp.Body, resp.BodySize = "", nil, nil, 0
		var hc *h2conn
		if !req.NoKeepAlive && key.version != Version11 {
			hc = req.Conns.get(hk)
		}
		var c *conn
		var err error
		if hc != nil {
			c = hc.c
		} else {
			c, err = s.conn(ctx, key, h.url, deadline, req)
		}
		if err == nil && hc == nil && c.h2 {
			if hc, err = s.newH2(c); err != nil {
				err = &ProtocolError{err}
			}
		}
		if err != nil {
			if c != nil { // the handshake failed: its bytes crossed the socket
				resp.Sent, resp.Received = c.sock.sent.Load(), c.sock.recv.Load()
				c.close()
			}
			resp.Err = dialError(ctx, err)
			resp.Latency = time.Since(h.start)
			return
		}
		if !c.reused {
			resp.Timings.setup(c)
		}
		if hc != nil {
			if s.exchange2(ctx, req, h, deadline, resp, hc, hk, resent) {
				continue
			}
			return
		}
		sent0, recv0 := int64(0), int64(0)
		if c.reused {
			sent0, recv0 = c.sock.sent.Load(), c.sock.recv.Load()
		}
		arrived, reusable, err := s.roundTrip(ctx, c, req, h, deadline, resp)
		if err != nil {
			resp.Latency = time.Since(h.start)
		} // else roundTrip measured it, to the answer's last byte
		resp.Sent, resp.Received = c.sock.sent.Load()-sent0, c.sock.recv.Load()-recv0
		if err == nil {
			if reusable && !req.NoKeepAlive {
				c.proven = c.reused
				c.reused = true
				s.putIdle(req.Conns, c, h.start.Add(resp.Latency))
			} else {
				c.close()
			}
			return
		}
		resp.Err = exchangeError(ctx, c, err)
		c.close()
		if resent || !c.reused || arrived || !idempotent(h.method) || ctx.Err() != nil ||
			(!deadline.IsZero() && !time.Now().Before(deadline)) {
			return
		}
		// The server closed or reset a kept-alive connection as the
		// request went out: counted, and sent once more on a new one.
		resp.Earlier = append(resp.Earlier, resp.Exchange)
		h.start = time.Now()
	}
}

// conn returns an idle connection to key, or dials one. When a TLS
// handshake fails the connection is returned with the error, for its
// byte counts.
func (s *Source) conn(ctx context.Context, key destKey, u interface{ Hostname() string }, deadline time.Time, req *Request) (*conn, error) {
	if !req.NoKeepAlive {
		if c := s.takeIdle(req.Conns, key); c != nil {
			return c, nil
		}
	}
	port := "80"
	if key.secure {
		port = "443"
	}
	if _, p, err := net.SplitHostPort(key.host); err == nil {
		port = p
	}
	lctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		lctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	host := u.Hostname()
	target := net.JoinHostPort(host, port)
	if req.Proxy != nil { // the connection is to the proxy
		host, port = req.Proxy.Hostname(), req.Proxy.Port()
	}
	addr, lookup, err := dialAddr(lctx, req.Resolver, req.Resolve, s.addr, host, port)
	if err != nil {
		return nil, err
	}
	d := s.dialer()
	d.Deadline = deadline
	dialed := time.Now()
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	sock := s.t.conns.track(nc)
	c := &conn{Conn: sock, sock: sock, key: key, lookup: lookup, src: s}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.peeker = newPeeker(rc)
		}
	}
	if key.tunnels() {
		// The tunnel is part of connecting: its time is the connect phase's.
		_ = sock.SetDeadline(deadline)
		if err := connectTunnel(sock, target, req.Proxy, s.userAgent(req)); err != nil {
			return c, err
		}
	}
	connected := time.Now()
	c.connect = connected.Sub(dialed)
	if !key.secure {
		c.h2 = key.version == Version2 // h2c with prior knowledge
		return c, nil
	}
	tc := tls.Client(sock, s.tlsConfig(key, u.Hostname()))
	_ = sock.SetDeadline(deadline)
	if err := tc.HandshakeContext(context.WithValue(ctx, certAskedKey{}, &c.certAsked)); err != nil {
		switch Classify(err) {
		case metrics.KindTimeout, metrics.KindCancelled, metrics.KindReset, metrics.KindFDLimit:
			return c, err
		}
		return c, &TLSError{Err: err, NoClientCert: c.certAsked}
	}
	c.handshake = time.Since(connected)
	c.Conn = tc
	c.h2 = tc.ConnectionState().NegotiatedProtocol == "h2"
	if key.version == Version2 && !c.h2 {
		return c, &ProtocolError{fmt.Errorf("the server did not agree to HTTP/2 by ALPN (version: \"2\")")}
	}
	return c, nil
}

// tlsConfig returns the TLS configuration for a destination, made once:
// the ALPN protocols its version offers, and session tickets kept per
// source address.
func (s *Source) tlsConfig(key destKey, serverName string) *tls.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.destFor(key)
	if d.tls == nil {
		cfg := &tls.Config{}
		switch {
		case key.profile != nil:
			cfg = key.profile.config.Clone()
		case s.t.opts.TLS != nil:
			cfg = s.t.opts.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = serverName
		}
		cfg.NextProtos = key.version.nextProtos()
		cfg.InsecureSkipVerify = key.insecure //nolint:gosec // the scenario asked for it
		if len(cfg.Certificates) == 0 && cfg.GetClientCertificate == nil {
			cfg.GetClientCertificate = noClientCert
		}
		if key.profile == nil || key.profile.resumption {
			// QUIC keeps its own data with a ticket: its tickets are
			// cached apart from those of TLS over TCP.
			cache := &s.sessions
			if key.version == Version3 {
				cache = &s.sessions3
			}
			if *cache == nil {
				*cache = tls.NewLRUClientSessionCache(64)
			}
			cfg.ClientSessionCache = *cache
		}
		d.tls = cfg
	}
	return d.tls
}

// roundTrip writes h on c and reads the answer into resp. arrived says
// whether any of the answer came; reusable whether c may carry another
// request.
func (s *Source) roundTrip(ctx context.Context, c *conn, req *Request, h *hop, deadline time.Time, resp *Response) (arrived, reusable bool, err error) {
	// Set for every exchange; an idle connection keeps its last one
	// (see conn.intact), which spares a reset per request.
	_ = c.SetDeadline(deadline)
	c.deadline = deadline
	if ctx.Done() != nil && ctx != s.t.closesWith {
		// The end of ctx interrupts the exchange; not needed for the
		// context whose end closes every connection (see CloseWith).
		stop := context.AfterFunc(ctx, func() { _ = c.sock.SetDeadline(aLongTimeAgo) })
		defer stop()
	}
	var clock PhaseClock
	clock.Start(&resp.Timings)
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(c)
	var proxy *url.URL
	if c.key.absoluteForm() {
		proxy = req.Proxy
	}
	err = writeRequest(bw, h, s.userAgent(req), proxy)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	if err != nil {
		return false, false, err
	}
	clock.Mark(metrics.PhaseSend)

	br := readers.Get().(*bufio.Reader)
	br.Reset(c)
	defer func() { br.Reset(nil); readers.Put(br) }()
	// The first byte of the answer ends the wait (headerBlock starts
	// with the same one-byte peek, which then returns at once).
	if _, err := br.Peek(1); err != nil {
		return false, false, err
	}
	clock.Mark(metrics.PhaseWait)
	hdr := headers.Get().(*fasthttp.ResponseHeader)
	defer func() { hdr.Reset(); headers.Put(hdr) }()

	r := br
	var n int
	for interim := 0; ; interim++ {
		n, err = headerBlock(r)
		if err == errSmallBuffer && r == br {
			// A large header block: go on with a reader that holds 64 KiB.
			buffered, _ := br.Peek(br.Buffered())
			big := bigReaders.Get().(*bufio.Reader)
			big.Reset(io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), c))
			defer func() { big.Reset(nil); bigReaders.Put(big) }()
			r = big
			n, err = headerBlock(r)
		}
		if err == errSmallBuffer {
			return true, false, &TooLargeError{What: "response headers", Limit: MaxHeaderBytes}
		}
		if err != nil {
			return n > 0, false, err
		}
		raw, _ := r.Peek(n)
		if err := hdr.Read(r); err != nil {
			return true, false, &ProtocolError{err}
		}
		if code := hdr.StatusCode(); code < 100 || code > 999 {
			// fasthttp reads any digits ("HTTP/1.1 001"); HTTP has three, from 1xx.
			return true, false, &ProtocolError{fmt.Errorf("status code %d is not a valid HTTP status", code)}
		}
		if code := hdr.StatusCode(); code >= 100 && code < 200 && code != http.StatusSwitchingProtocols && interim < 8 {
			continue // an interim answer (100 Continue, 103 Early Hints): the real one follows
		}
		resp.RawHeader = keepBytes(&req.Buf, raw)
		break
	}
	resp.Status = hdr.StatusCode()
	resp.Proto = "HTTP/1.1"
	if !hdr.IsHTTP11() {
		resp.Proto = "HTTP/1.0"
	}

	limit := req.MaxResponse
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	keep := keepBody(req)
	untilClose := false
	switch cl := hdr.ContentLength(); {
	case h.method == http.MethodHead || resp.Status == http.StatusNoContent ||
		resp.Status == http.StatusNotModified || resp.Status < 200:
	case cl >= 0:
		if int64(cl) > limit {
			return true, false, &TooLargeError{What: "response body", Limit: limit}
		}
		resp.Body, resp.BodySize, err = readSized(r, int64(cl), keep, &req.Buf)
	case cl == -1:
		resp.Body, resp.BodySize, err = readAll(httputil.NewChunkedReader(r), limit, keep, "response body")
		if err == nil {
			err = skipTrailer(r)
		}
	default:
		untilClose = true
		resp.Body, resp.BodySize, err = readAll(r, limit, keep, "response body")
	}
	if err != nil {
		return true, false, err
	}
	resp.Latency = clock.Mark(metrics.PhaseReceive).Sub(h.start)
	reusable = !untilClose && !hdr.ConnectionClose() && r.Buffered() == 0 && resp.Status != http.StatusSwitchingProtocols
	return true, reusable, nil
}

// headerBlock waits until r holds a whole header block and returns its
// length. It returns errSmallBuffer when the block does not fit r, and
// the read error, with the bytes buffered so far, when the connection
// fails first.
func headerBlock(r *bufio.Reader) (int, error) {
	want, scanned := 1, 0
	for {
		b, err := r.Peek(want)
		if err != nil {
			if err == bufio.ErrBufferFull {
				return 0, errSmallBuffer
			}
			if len(b) > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return len(b), err
		}
		b, _ = r.Peek(r.Buffered())
		// Only what is new is scanned (with the 3 bytes before it, where
		// an end of line may have been cut): a server that trickles its
		// headers a byte at a time costs linear time, not quadratic.
		if n := blockEnd(b, max(0, scanned-3)); n > 0 {
			return n, nil
		}
		scanned, want = len(b), len(b)+1
	}
}

// blockEnd returns the length of the header block at the start of b,
// ending with an empty line (CRLF or a bare LF), or 0 if it is not whole.
// Line ends before from are not looked at again.
func blockEnd(b []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
	}
}

// keepBytes copies b into the room left in *buf, taking that room, or
// into new memory when it does not fit.
func keepBytes(buf *[]byte, b []byte) []byte {
	if room := *buf; cap(room)-len(room) >= len(b) {
		start := len(room)
		room = append(room, b...)
		*buf = room
		return room[start:len(room):len(room)]
	}
	return bytes.Clone(b)
}

// readSized reads a body of n bytes, which is within the limit, into
// the room left in *buf when it fits.
func readSized(r *bufio.Reader, n int64, keep bool, buf *[]byte) ([]byte, int64, error) {
	if !keep {
		var got int64
		for got < n {
			m, err := r.Discard(int(min(n-got, 1<<30)))
			got += int64(m)
			if err != nil {
				return nil, got, bodyEOF(err)
			}
		}
		return nil, got, nil
	}
	if room := *buf; int64(cap(room)-len(room)) >= n {
		start := len(room)
		b := room[start : start+int(n) : start+int(n)]
		got, err := io.ReadFull(r, b)
		if err != nil {
			return nil, int64(got), bodyEOF(err)
		}
		*buf = room[:start+int(n)]
		return b, n, nil
	}
	if n <= 256<<10 { // the common case: one buffer of the announced size
		b := make([]byte, n)
		got, err := io.ReadFull(r, b)
		if err != nil {
			return nil, int64(got), bodyEOF(err)
		}
		return b, n, nil
	}
	// A large body's buffer grows with what arrives: a length announced
	// is not memory spent until the bytes come.
	b, got, err := readAllFrom(io.LimitReader(r, n), n, true, "response body", min(n, 256<<10))
	if err == nil && got < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, got, err
	}
	return b, n, nil
}

// readAll reads r to its end, failing as soon as more than limit bytes
// came: nothing beyond the limit is read, let alone kept. Unless keep,
// the bytes are counted and dropped.
func readAll(r io.Reader, limit int64, keep bool, what string) ([]byte, int64, error) {
	return readAllFrom(r, limit, keep, what, 512)
}

// readAllFrom is readAll with a first buffer of size bytes when keeping.
func readAllFrom(r io.Reader, limit int64, keep bool, what string, size int64) ([]byte, int64, error) {
	if !keep {
		bp := scratch.Get().(*[]byte)
		defer scratch.Put(bp)
		var n int64
		for {
			m, err := r.Read(*bp)
			n += int64(m)
			if n > limit {
				return nil, n, &TooLargeError{What: what, Limit: limit}
			}
			if err == io.EOF {
				return nil, n, nil
			}
			if err != nil {
				return nil, n, bodyEOF(err)
			}
		}
	}
	c := chunked{first: size}
	for {
		free := c.space(limit + 1 - c.n)
		m, err := r.Read(free)
		c.grew(m)
		if c.n > limit {
			return nil, c.n, &TooLargeError{What: what, Limit: limit}
		}
		if err == io.EOF {
			return c.bytes(), c.n, nil
		}
		if err != nil {
			return nil, c.n, bodyEOF(err)
		}
	}
}

// chunked holds kept bytes in chunks that double up to 1 MiB, joined
// once at the end: growing never copies what came before, so an answer
// cut at its limit never held more than the limit, and one that fits is
// returned at its own size.
type chunked struct {
	full  [][]byte
	cur   []byte
	n     int64
	first int64 // the first chunk's size (0: 4 KiB)
}

// space returns the free room of the current chunk, starting a new one
// of at most most bytes (most > 0) when it is full.
func (c *chunked) space(most int64) []byte {
	if len(c.cur) == cap(c.cur) {
		size := c.first
		if c.cur != nil {
			c.full = append(c.full, c.cur)
			size = int64(cap(c.cur)) * 2
		}
		if size <= 0 {
			size = 4096
		}
		c.cur = make([]byte, 0, max(1, min(size, 1<<20, most)))
	}
	return c.cur[len(c.cur):cap(c.cur)]
}

// grew records m bytes written into the room space returned.
func (c *chunked) grew(m int) {
	c.cur = c.cur[:len(c.cur)+m]
	c.n += int64(m)
}

// write copies p in.
func (c *chunked) write(p []byte) {
	for len(p) > 0 {
		k := copy(c.space(int64(len(p))), p)
		c.grew(k)
		p = p[k:]
	}
}

// hasSuffix reports whether the bytes so far end with s, for s no longer
// than a chunk.
func (c *chunked) hasSuffix(s string) bool {
	if len(c.cur) >= len(s) {
		return string(c.cur[len(c.cur)-len(s):]) == s
	}
	need := len(s) - len(c.cur)
	if len(c.full) == 0 || len(c.full[len(c.full)-1]) < need {
		return false
	}
	prev := c.full[len(c.full)-1]
	return string(prev[len(prev)-need:]) == s[:need] && string(c.cur) == s[need:]
}

// bytes returns everything written, in one slice.
func (c *chunked) bytes() []byte {
	if len(c.full) == 0 {
		return c.cur
	}
	out := make([]byte, 0, c.n)
	for _, b := range c.full {
		out = append(out, b...)
	}
	return append(out, c.cur...)
}

// bodyEOF reports a body cut short as an unexpected end of file.
func bodyEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// skipTrailer reads the trailer section after a chunked body.
func skipTrailer(r *bufio.Reader) error {
	total := 0
	for {
		line, err := r.ReadSlice('\n')
		total += len(line)
		if total > MaxHeaderBytes || err == bufio.ErrBufferFull {
			return &TooLargeError{What: "response trailers", Limit: MaxHeaderBytes}
		}
		if err != nil {
			return bodyEOF(err)
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

// userAgent is the User-Agent sent when a request's headers give none.
func (s *Source) userAgent(req *Request) string {
	if req.UserAgent != "" {
		return req.UserAgent
	}
	return s.t.opts.UserAgent
}

// writeRequest writes h as an HTTP/1.1 request; to a proxy (not nil) in
// absolute form, with the proxy's credentials.
func writeRequest(w *bufio.Writer, h *hop, userAgent string, proxy *url.URL) error {
	w.WriteString(h.method)
	w.WriteByte(' ')
	if proxy != nil && h.url.Opaque == "" {
		w.WriteString(h.url.Scheme)
		w.WriteString("://")
		w.WriteString(h.url.Host)
	}
	if h.url.Opaque != "" {
		w.WriteString(h.url.Opaque)
	} else if p := h.url.EscapedPath(); p != "" {
		w.WriteString(p)
	} else {
		w.WriteByte('/')
	}
	if h.url.RawQuery != "" || h.url.ForceQuery {
		w.WriteByte('?')
		w.WriteString(h.url.RawQuery)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	host := h.host
	if host == "" {
		host = h.url.Host
	}
	w.WriteString(host)
	w.WriteString("\r\n")
	if proxy != nil {
		if auth := proxyAuth(proxy); auth != "" {
			w.WriteString("Proxy-Authorization: ")
			w.WriteString(auth)
			w.WriteString("\r\n")
		}
	}
	ua := false
	for k, vs := range h.header { // checked by Request.Check
		switch {
		case asciiEqualFold(k, "Host"), asciiEqualFold(k, "Content-Length"), asciiEqualFold(k, "Transfer-Encoding"):
			continue
		case asciiEqualFold(k, "User-Agent"):
			ua = true
		case h.cookie != "" && asciiEqualFold(k, "Cookie"):
			continue // written below, with the jar's
		}
		for _, v := range vs {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if h.cookie != "" {
		w.WriteString("Cookie: ")
		w.WriteString(h.cookie)
		w.WriteString("\r\n")
	}
	if !ua {
		w.WriteString("User-Agent: ")
		w.WriteString(userAgent)
		w.WriteString("\r\n")
	}
	if len(h.body) > 0 || h.method == http.MethodPost || h.method == http.MethodPut || h.method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(h.body)), 10))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	_, err := w.Write(h.body)
	return err
}

// validName reports whether k is an HTTP token (RFC 9110 §5.1).
func validName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validValue reports whether v may be sent as a field value: no CR, LF
// or NUL, which would let a value write headers of its own.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// dialError gives a failed connection attempt its meaning.
func dialError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// exchangeError gives a failed exchange the meaning the error counters
// use: the context's error when it ended the request, the socket's own
// error when there was one (a reset, a timeout), the limit or protocol
// error as it is, and an end of file as the server closing first.
func exchangeError(ctx context.Context, c *conn, err error) error {
	var tooLarge *TooLargeError
	var proto *ProtocolError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &tooLarge), errors.As(err, &proto):
		return err
	case c.sock.firstErr() != nil && !errors.Is(c.sock.firstErr(), io.EOF):
		return c.sock.firstErr()
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout):
		return fmt.Errorf("%w: %v", os.ErrDeadlineExceeded, err)
	case err == io.EOF:
		return fmt.Errorf("%w: the server closed the connection before answering", io.EOF)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the server closed the connection in the middle of its answer", io.ErrUnexpectedEOF)
	}
	var tlsErr *TLSError
	if k := Classify(err); k == metrics.KindTLS && !errors.As(err, &tlsErr) {
		// An alert after the client's side of the handshake (TLS 1.3
		// sends a refused client certificate's with the first answer).
		return &TLSError{Err: err, NoClientCert: c.certAsked}
	} else if k != metrics.KindOther {
		return err // the like
	}
	return &ProtocolError{err}
}
