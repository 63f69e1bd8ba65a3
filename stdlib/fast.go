package stdlib

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// fastTransport is the http.RoundTripper under go-retryablehttp for plain
// HTTP from one source address. It reads and writes on the calling
// goroutine, with fasthttp serialising requests and parsing responses:
// net/http's Transport hands every request to two goroutines per
// connection (writeLoop, readLoop) and back, and those hand-offs were the
// largest cost of a request after the system calls themselves.
//
// Connections are kept here, not in fasthttp's client, so that a request
// can be cancelled through its context, and so that a connection reset
// is told apart from a connection closed. Buffers are pooled and held
// only during a request: an idle user costs no buffer memory.
type fastTransport struct {
	dialer  *net.Dialer
	maxIdle int
	conns   *connSet

	mu   sync.Mutex
	idle []idleConns // by destination; a load test has few
}

// idleConns are the idle connections to one host:port, most recently
// used last.
type idleConns struct {
	addr  string
	conns []*fastConn
}

func newFastTransport(src netip.Addr, maxIdle int, conns *connSet) *fastTransport {
	return &fastTransport{dialer: Dialer(src), maxIdle: maxIdle, conns: conns}
}

// idleFor returns the idle list for addr, adding it if asked. t.mu is held.
func (t *fastTransport) idleFor(addr string, add bool) *idleConns {
	for i := range t.idle {
		if t.idle[i].addr == addr {
			return &t.idle[i]
		}
	}
	if !add {
		return nil
	}
	t.idle = append(t.idle, idleConns{addr: addr})
	return &t.idle[len(t.idle)-1]
}

// maxBody bounds a response body held in memory.
const maxBody = 64 << 20

// aLongTimeAgo is a deadline in the past: it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// fastConn is a kept-alive connection that remembers why a read or write
// failed, because fasthttp reports every failure before the first byte
// of a response as a plain end of file.
type fastConn struct {
	net.Conn
	err error
}

func (c *fastConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *fastConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// RoundTrip implements http.RoundTripper.
func (t *fastTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	freq := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(freq)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := fillRequest(freq, req); err != nil {
		return nil, err
	}
	resp.SkipBody = req.Method == http.MethodHead
	addr := hostPort(req.URL)
	// A kept-alive connection the server has closed meanwhile fails
	// before anything is read: the request is sent once more on a new
	// connection, as net/http does.
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(ctx, addr)
		if err != nil {
			return nil, err
		}
		err = t.exchange(ctx, c, freq, resp)
		if err == nil {
			if resp.ConnectionClose() {
				t.discard(c)
			} else {
				t.put(addr, c)
			}
			return toHTTP(req, resp, eagerHeaders(ctx)), nil
		}
		t.discard(c)
		if reused && attempt == 0 && ctx.Err() == nil && nothingRead(err) {
			resp.Reset()
			resp.SkipBody = req.Method == http.MethodHead
			continue
		}
		return nil, connError(ctx, c, err)
	}
}

// exchange writes the request and reads the response on c.
func (t *fastTransport) exchange(ctx context.Context, c *fastConn, freq *fasthttp.Request, resp *fasthttp.Response) error {
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
	defer stop()
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(c)
	err := freq.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	if err != nil {
		return err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(c)
	err = resp.ReadLimitBody(br, maxBody)
	if br.Buffered() > 0 && err == nil {
		err = &protocolError{errors.New("the server sent more than one response")}
	}
	br.Reset(nil)
	readers.Put(br)
	return err
}

func fillRequest(freq *fasthttp.Request, req *http.Request) error {
	freq.SetRequestURI(req.URL.String())
	freq.Header.DisableNormalizing()
	freq.Header.SetMethod(req.Method)
	for k, vs := range req.Header {
		for _, v := range vs {
			freq.Header.Add(k, v)
		}
	}
	if len(freq.Header.UserAgent()) == 0 {
		freq.Header.SetUserAgent("ntx")
	}
	if req.Host != "" {
		freq.UseHostHeader = true
		freq.Header.SetHost(req.Host)
	}
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return err
		}
		freq.SetBodyRaw(b)
	}
	return nil
}

// toHTTP converts a response for go-retryablehttp. Unless eager, the
// headers travel unparsed in the body (see Result.header): most scripts
// never read them, and parsing them was a tenth of a request's cost.
func toHTTP(req *http.Request, resp *fasthttp.Response, eager bool) *http.Response {
	code := resp.StatusCode()
	hr := &http.Response{
		Status:     strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode: code,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Request: req,
	}
	body := &bytesBody{b: append([]byte(nil), resp.Body()...)}
	if eager {
		hr.Header = make(http.Header, resp.Header.Len())
		for k, v := range resp.Header.All() {
			key := http.CanonicalHeaderKey(string(k))
			hr.Header[key] = append(hr.Header[key], string(v))
		}
	} else {
		body.rawHeader = append([]byte(nil), resp.Header.Header()...)
	}
	hr.Body, hr.ContentLength = body, int64(len(body.b))
	return hr
}

// eagerHeaders reports whether a request's response headers are needed
// as such: when it may be retried, the retry policy reads Retry-After.
func eagerHeaders(ctx context.Context) bool {
	a, _ := ctx.Value(attemptsKey{}).(*attempts)
	return a != nil && a.max > 0
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// get returns an idle connection to addr, or dials a new one.
func (t *fastTransport) get(ctx context.Context, addr string) (c *fastConn, reused bool, err error) {
	t.mu.Lock()
	if l := t.idleFor(addr, false); l != nil && len(l.conns) > 0 {
		c = l.conns[len(l.conns)-1]
		l.conns[len(l.conns)-1] = nil
		l.conns = l.conns[:len(l.conns)-1]
	}
	t.mu.Unlock()
	if c != nil {
		return c, true, nil
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &fastConn{Conn: t.conns.track(nc)}, false, nil
}

func (t *fastTransport) put(addr string, c *fastConn) {
	_ = c.SetDeadline(time.Time{})
	t.mu.Lock()
	if l := t.idleFor(addr, true); len(l.conns) < t.maxIdle {
		l.conns = append(l.conns, c)
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (t *fastTransport) discard(c *fastConn) { c.Close() }

// closeIdle closes every idle connection.
func (t *fastTransport) closeIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, l := range idle {
		for _, c := range l.conns {
			c.Close()
		}
	}
}

// nothingRead reports whether a request failed before any byte of a
// response arrived.
func nothingRead(err error) bool {
	var nr fasthttp.ErrNothingRead
	return errors.Is(err, io.EOF) || errors.As(err, &nr) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// connError gives a failed exchange the meaning the error counters use:
// the context's error when it ended the request, the connection's own
// error when there was one (a reset, a timeout), else a protocol error.
func connError(ctx context.Context, c *fastConn, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case c.err != nil && !errors.Is(c.err, io.EOF):
		return c.err
	case errors.Is(err, fasthttp.ErrTimeout):
		return fmt.Errorf("%w: %v", os.ErrDeadlineExceeded, err)
	case nothingRead(err):
		return fmt.Errorf("%w: the server closed the connection before answering", io.ErrUnexpectedEOF)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return &protocolError{err}
}

// protocolError is a response that is not valid HTTP.
type protocolError struct{ err error }

func (e *protocolError) Error() string { return "invalid HTTP response: " + e.err.Error() }
func (e *protocolError) Unwrap() error { return e.err }

// bytesBody is a response body already read into memory; doHTTP takes
// the bytes without copying them again.
type bytesBody struct {
	b         []byte
	off       int
	rawHeader []byte // the response's header block, unparsed
}

func (b *bytesBody) Read(p []byte) (int, error) {
	if b.off >= len(b.b) {
		return 0, io.EOF
	}
	n := copy(p, b.b[b.off:])
	b.off += n
	return n, nil
}

func (b *bytesBody) Close() error { return nil }

// readBody reads a response body, taking an in-memory one as it is, and
// returns the unparsed header block that came with it, if any.
func readBody(r io.ReadCloser) (body, rawHeader []byte, err error) {
	defer r.Close()
	if b, ok := r.(*bytesBody); ok && b.off == 0 {
		b.off = len(b.b)
		return b.b, b.rawHeader, nil
	}
	body, err = io.ReadAll(r)
	return body, nil, err
}

// connSet tracks open connections so that the end of a run can cut
// requests in flight: fasthttp takes deadlines, not contexts.
type connSet struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}

func (s *connSet) track(c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return tc
	}
	if s.conns == nil {
		s.conns = map[*trackedConn]struct{}{}
	}
	s.conns[tc] = struct{}{}
	return tc
}

// closeAll closes every tracked connection, now and from now on.
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

// schemeTransport sends plain HTTP through the fast transport and HTTPS
// through net/http (TLS options belong to net/http's Transport), made
// when first needed.
type schemeTransport struct {
	plain  http.RoundTripper
	secure func() http.RoundTripper

	once sync.Once
	tls  http.RoundTripper
}

func (t *schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.EqualFold(req.URL.Scheme, "http") {
		return t.plain.RoundTrip(req)
	}
	t.once.Do(func() { t.tls = t.secure() })
	return t.tls.RoundTrip(req)
}
