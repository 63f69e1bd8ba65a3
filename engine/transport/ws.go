package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// WSRequest opens a WebSocket (ws.request, ws.connect; spec §4.2).
type WSRequest struct {
	URL          *url.URL // ws:// or wss://
	Header       http.Header
	Subprotocols []string
	// TLS and Insecure configure wss:// (nil TLS: the transport's
	// default configuration).
	TLS      *TLSProfile
	Insecure bool
	// Resolve and Resolver find the host's address as HTTP's do.
	Resolve  map[string]string
	Resolver *Resolver
	// Timeout bounds the opening handshake; 0 means none.
	Timeout time.Duration
	// Start is when the opening counts as started; zero means now.
	Start time.Time
	// MaxMessage bounds a message received (0: DefaultMaxResponse).
	MaxMessage int64
	// Jar, when set, gives the opening handshake the user's cookies for
	// the URL (as https:// for wss://, so Secure cookies go only there)
	// and keeps the cookies its answer sets, as a browser does.
	Jar http.CookieJar
}

// WSOpen is how the opening went.
type WSOpen struct {
	Start   time.Time
	Latency time.Duration
	// Status is the handshake's HTTP status (101 when it worked; 0 when
	// no answer came).
	Status int
	Err    error
}

// WSConn is an open WebSocket. One goroutine reads messages ahead of
// Recv, so that a Recv that gives up waiting leaves the connection
// usable; Close ends it. Only one goroutine may call Send, Recv, Counts
// and Close.
type WSConn struct {
	c           *websocket.Conn
	sock        *socket
	wire        *wsWire
	limit       int64
	Subprotocol string

	msgs    chan wsMessage
	readErr error // set before msgs is closed
	stop    context.CancelFunc
	closed  atomic.Bool
	// the byte counts already reported by Counts
	sent, recv int64
}

type wsMessage struct {
	data []byte
	at   time.Time
}

// WSConnect opens a WebSocket from s. It returns the connection (nil
// when the opening failed: open.Err says why) and the bytes the opening
// sent and received, counted on the socket (TLS records included).
func (s *Source) WSConnect(ctx context.Context, req *WSRequest) (conn *WSConn, open *WSOpen, sent, received int64) {
	start := req.Start
	if start.IsZero() {
		start = time.Now()
	}
	open = &WSOpen{Start: start}
	defer func() { open.Latency = time.Since(start) }()
	dctx := ctx
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, start.Add(req.Timeout))
		defer cancel()
	}
	secure := req.URL.Scheme == "wss"
	// The connection is made here, on this goroutine, and handed to
	// net/http ready: net/http's own dial goroutine outlives a cancelled
	// request (it is stopped only by CloseIdleConnections), so it must
	// never touch what this function reads afterwards.
	sock, wire, nc, err := s.wsDial(dctx, req, secure)
	counts := func() (int64, int64) {
		if sock == nil {
			return 0, 0
		}
		return wire.sent.Load(), sock.recv.Load()
	}
	if err != nil {
		open.Err = wsDialError(dctx, err, 0)
		sent, received = counts()
		return nil, open, sent, received
	}
	var handed atomic.Bool
	give := func(context.Context, string, string) (net.Conn, error) {
		if !handed.CompareAndSwap(false, true) {
			return nil, errors.New("WebSocket opening: its one connection is already used")
		}
		return nc, nil
	}
	// A transport of its own: the upgraded connection is the
	// WebSocket's, never kept for another request, and HTTP/2 is not
	// offered (the upgrade is HTTP/1.1's).
	tr := &http.Transport{DialContext: give, DialTLSContext: give, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxResponseHeaderBytes: MaxHeaderBytes}
	defer tr.CloseIdleConnections()
	u := *req.URL
	u.Scheme = map[bool]string{true: "https", false: "http"}[secure]
	header := req.Header
	if req.Jar != nil {
		if line := cookieLine(header, req.Jar.Cookies(&u)); line != "" {
			header = header.Clone()
			header.Set("Cookie", line)
		}
	}
	c, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		HTTPHeader: header, Subprotocols: req.Subprotocols,
	})
	if resp != nil {
		open.Status = resp.StatusCode
		if set := resp.Cookies(); req.Jar != nil && len(set) > 0 {
			req.Jar.SetCookies(&u, set)
		}
	}
	if err != nil {
		sock.Close()
		open.Err = wsDialError(dctx, err, open.Status)
		sent, received = counts()
		return nil, open, sent, received
	}
	limit := req.MaxMessage
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	c.SetReadLimit(limit)
	rctx, stop := context.WithCancel(context.Background())
	w := &WSConn{c: c, sock: sock, wire: wire, limit: limit, Subprotocol: c.Subprotocol(), msgs: make(chan wsMessage), stop: stop}
	go w.read(rctx)
	w.sent, w.recv = counts()
	return w, open, w.sent, w.recv
}

// wsDial connects to the WebSocket's host from s's address and, for
// wss://, completes the TLS handshake. The socket and its counting wire
// are returned even when the handshake failed (closed then), so that the
// bytes it cost are counted.
func (s *Source) wsDial(ctx context.Context, req *WSRequest, secure bool) (*socket, *wsWire, net.Conn, error) {
	port := req.URL.Port()
	if port == "" {
		port = "80"
		if secure {
			port = "443"
		}
	}
	addr, _, err := dialAddr(ctx, req.Resolver, req.Resolve, s.addr, req.URL.Hostname(), port)
	if err != nil {
		return nil, nil, nil, err
	}
	d := s.dialer()
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, nil, err
	}
	sock := s.t.conns.track(nc)
	wire := &wsWire{Conn: sock}
	if !secure {
		return sock, wire, wire, nil
	}
	tc := tls.Client(wire, s.wsTLSConfig(req))
	if err := tc.HandshakeContext(ctx); err != nil {
		sock.Close()
		switch Classify(err) {
		case metrics.KindTimeout, metrics.KindCancelled, metrics.KindReset, metrics.KindFDLimit:
			return sock, wire, nil, err
		}
		return sock, wire, nil, &TLSError{Err: err}
	}
	return sock, wire, tc, nil
}

// wsDialError gives a failed opening its meaning: a handshake answered
// with another status than 101 is counted by that status.
func wsDialError(ctx context.Context, err error, status int) error {
	var tlsErr *TLSError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &tlsErr):
		return tlsErr
	case status >= 400:
		return &WSStatusError{Status: status}
	case status != 0:
		return &ProtocolError{Err: fmt.Errorf("WebSocket handshake answered %d, not 101", status)}
	}
	return err
}

// WSStatusError is an opening handshake the server refused with an
// HTTP status: counted as status_4xx or status_5xx.
type WSStatusError struct{ Status int }

func (e *WSStatusError) Error() string {
	return fmt.Sprintf("WebSocket handshake answered status %d, not 101", e.Status)
}

// wsTLSConfig is the TLS configuration of a wss:// URL.
func (s *Source) wsTLSConfig(req *WSRequest) *tls.Config {
	cfg := &tls.Config{}
	switch {
	case req.TLS != nil:
		cfg = req.TLS.config.Clone()
	case s.t.opts.TLS != nil:
		cfg = s.t.opts.TLS.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = req.URL.Hostname()
	}
	cfg.NextProtos = []string{"http/1.1"}
	cfg.InsecureSkipVerify = req.Insecure //nolint:gosec // the scenario asked for it
	return cfg
}

// read reads messages ahead of Recv, one at a time, until the
// connection fails or Close.
func (w *WSConn) read(ctx context.Context) {
	defer close(w.msgs)
	for {
		_, data, err := w.c.Read(ctx)
		if err != nil {
			w.readErr = err
			return
		}
		select {
		case w.msgs <- wsMessage{data: data, at: time.Now()}:
		case <-ctx.Done():
			w.readErr = ctx.Err()
			return
		}
	}
}

// Send sends text as one text message.
func (w *WSConn) Send(ctx context.Context, text string, timeout time.Duration) error {
	if w.closed.Load() {
		return net.ErrClosed
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := w.c.Write(ctx, websocket.MessageText, []byte(text))
	if err != nil {
		return w.failure(ctx, err)
	}
	return nil
}

// Recv waits up to timeout for the next message and returns it with
// when it arrived. A wait that times out leaves the connection open.
func (w *WSConn) Recv(ctx context.Context, timeout time.Duration) ([]byte, time.Time, error) {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case m, ok := <-w.msgs:
		if !ok {
			return nil, time.Time{}, w.failure(ctx, w.readErr)
		}
		return m.data, m.at, nil
	case <-expired:
		return nil, time.Time{}, &WSWaitError{Timeout: timeout}
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
}

// WSWaitError is a Recv that gave up waiting: a timeout, after which
// the connection stays usable.
type WSWaitError struct{ Timeout time.Duration }

func (e *WSWaitError) Error() string {
	return fmt.Sprintf("no WebSocket message within %v", e.Timeout)
}

// Unwrap makes the error a deadline exceeded: error kind timeout.
func (e *WSWaitError) Unwrap() error { return os.ErrDeadlineExceeded }

// failure gives a failed read or write its meaning.
func (w *WSConn) failure(ctx context.Context, err error) error {
	var ce websocket.CloseError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, websocket.ErrMessageTooBig):
		return &TooLargeError{What: "WebSocket message", Limit: w.limit}
	case errors.As(err, &ce):
		return fmt.Errorf("%w: the server closed the WebSocket (status %d %s)", io.EOF, int(ce.Code), ce.Reason)
	case w.sock != nil && w.sock.firstErr() != nil && !errors.Is(w.sock.firstErr(), io.EOF):
		return w.sock.firstErr()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return fmt.Errorf("%w: the WebSocket connection closed", io.ErrUnexpectedEOF)
	}
	return err
}

// Counts returns the bytes sent and received since the last call.
func (w *WSConn) Counts() (sent, recv int64) {
	if w.sock == nil {
		return 0, 0
	}
	s, r := w.wire.sent.Load(), w.sock.recv.Load()
	sent, recv = s-w.sent, r-w.recv
	w.sent, w.recv = s, r
	return sent, recv
}

// wsCloseWait bounds the closing handshake: a server that never answers
// the close frame does not hold the user.
const wsCloseWait = time.Second

// Close sends a close frame, waits briefly for the server's, and closes
// the connection; the reading goroutine is gone when it returns. Calling
// it again does nothing.
func (w *WSConn) Close() {
	if !w.closed.CompareAndSwap(false, true) {
		return
	}
	if w.sock != nil {
		_ = w.sock.SetDeadline(time.Now().Add(wsCloseWait))
	}
	_ = w.c.Close(websocket.StatusNormalClosure, "")
	w.stop()
	for range w.msgs { // drain: the reader ends once the connection is closed
	}
	if w.sock != nil {
		w.sock.Close()
	}
}

// wsWire counts the bytes written to a WebSocket's socket as each write
// begins. The opening handshake is written by net/http's own goroutine,
// which may count it only after the answer has come and the opening has
// been measured; counted first, its bytes belong to the opening.
type wsWire struct {
	net.Conn
	sent atomic.Int64
}

func (c *wsWire) Write(p []byte) (int, error) {
	c.sent.Add(int64(len(p)))
	n, err := c.Conn.Write(p)
	if n < len(p) {
		c.sent.Add(int64(n - len(p)))
	}
	return n, err
}
