package stdlib

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

func wsModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "ws", Members: starlark.StringDict{
		"request": starlark.NewBuiltin("ws.request", wsRequest),
		"connect": starlark.NewBuiltin("ws.connect", wsConnect),
	}}
}

// wsArgs are the keyword arguments of ws.request and ws.connect.
type wsArgs struct {
	url, name                    string
	send, receive, expect        starlark.Value
	headers, subprotocols, tls   starlark.Value
	timeout, bindIP, maxResponse starlark.Value
	export                       starlark.Value
}

var wsArgFields = map[string]func(*wsArgs) any{
	"url":          func(a *wsArgs) any { return &a.url },
	"send":         func(a *wsArgs) any { return &a.send },
	"receive":      func(a *wsArgs) any { return &a.receive },
	"expect":       func(a *wsArgs) any { return &a.expect },
	"headers":      func(a *wsArgs) any { return &a.headers },
	"subprotocols": func(a *wsArgs) any { return &a.subprotocols },
	"tls":          func(a *wsArgs) any { return &a.tls },
	"timeout":      func(a *wsArgs) any { return &a.timeout },
	"bind_ip":      func(a *wsArgs) any { return &a.bindIP },
	"max_response": func(a *wsArgs) any { return &a.maxResponse },
	"name":         func(a *wsArgs) any { return &a.name },
	"export":       func(a *wsArgs) any { return &a.export },
}

var (
	wsRequestParams = bindParams("ws.request", wsArgFields)
	wsConnectParams = bindParams("ws.connect", wsArgFields)
)

func init() { checkFieldsUsed(wsArgFields, "ws.request", "ws.connect") }

// wsPrepared is a WebSocket opening ready to make.
type wsPrepared struct {
	req     *transport.WSRequest
	name    string
	timeout time.Duration
	bind    netip.Addr
}

func prepareWS(sess *Session, fn string, a *wsArgs) (*wsPrepared, error) {
	u, err := url.Parse(a.url)
	if err != nil || u.Host == "" || !catalog.WS.AcceptsScheme(u.Scheme) {
		return nil, fmt.Errorf("%s: url %q is not an absolute ws:// or wss:// URL", fn, a.url)
	}
	conf := sess.HTTP
	if conf == nil {
		conf = DefaultHTTP()
	}
	p := &wsPrepared{req: &transport.WSRequest{URL: u, Header: http.Header{}, Resolve: conf.Resolve, Resolver: conf.Resolver}}
	if a.headers != nil && a.headers != starlark.None {
		d, ok := a.headers.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: headers must be a dict, not %s", fn, a.headers.Type())
		}
		for _, kv := range d.Items() {
			k, v := str(kv[0]), str(kv[1])
			if err := (&transport.Request{URL: &url.URL{Scheme: "http", Host: u.Host}, Header: http.Header{k: {v}}}).Check(); err != nil {
				return nil, fmt.Errorf("%s: %v", fn, err)
			}
			p.req.Header.Set(k, v)
		}
	}
	if a.subprotocols != nil && a.subprotocols != starlark.None {
		l, ok := a.subprotocols.(starlark.Indexable)
		if _, isStr := a.subprotocols.(starlark.String); !ok || isStr {
			return nil, fmt.Errorf("%s: subprotocols must be a list of strings, not %s", fn, a.subprotocols.Type())
		}
		for i := 0; i < l.Len(); i++ {
			s, ok := starlark.AsString(l.Index(i))
			if !ok || s == "" {
				return nil, fmt.Errorf("%s: subprotocols must be a list of non-empty strings", fn)
			}
			p.req.Subprotocols = append(p.req.Subprotocols, s)
		}
	}
	defTimeout := catalog.DefaultTimeout
	if conf.Timeout > 0 {
		defTimeout = conf.Timeout
	}
	if p.timeout, err = durationArg(fn, "timeout", a.timeout, defTimeout); err != nil {
		return nil, err
	}
	p.req.Timeout = p.timeout
	if p.bind, err = bindArg(fn, a.bindIP); err != nil {
		return nil, err
	}
	if p.req.MaxMessage, err = sizeArg(fn, "max_response", a.maxResponse); err != nil {
		return nil, err
	}
	if p.req.MaxMessage == 0 {
		p.req.MaxMessage = conf.MaxResponse
	}
	own, err := tlsArg(fn, a.tls)
	if err != nil {
		return nil, err
	}
	settings := conf.TLS.Merge(own)
	p.req.Insecure = settings.Insecure()
	if u.Scheme == "wss" {
		if p.req.TLS, err = conf.profile(settings); err != nil {
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
	}
	p.name = a.name
	if p.name == "" {
		path := u.Path
		if path == "" {
			path = "/"
		}
		p.name = "WS " + path
	}
	return p, nil
}

// wsSession is an open WebSocket as a script holds it: the value
// ws.connect returns. The iteration's end closes it if the flow did not.
type wsSession struct {
	sess    *Session
	name    string
	conn    *transport.WSConn // nil when the opening failed
	src     netip.Addr
	release func()
	timeout time.Duration
	// pending are the times of the sends no message has answered yet.
	pending []time.Time
	latency time.Duration // of the opening
	err     string        // why the session failed; "" while it has not
	closed  bool
	// hold keeps the sample of the last message received in held instead
	// of recording it: ws.request's exports may still fail it.
	hold bool
	held *metrics.Sample
}

// record records s, or holds it when the session holds its last sample
// (recording the one held before).
func (w *wsSession) record(s *metrics.Sample) {
	if !w.hold {
		w.sess.Sink.Record(s)
		return
	}
	if w.held != nil {
		w.sess.Sink.Record(w.held)
	}
	w.held = s
}

var _ starlark.HasAttrs = (*wsSession)(nil)

func (w *wsSession) String() string {
	state := "open"
	switch {
	case w.err != "":
		state = "failed: " + w.err
	case w.closed:
		state = "closed"
	}
	return fmt.Sprintf("<websocket %s: %s>", w.name, state)
}
func (w *wsSession) Type() string          { return "websocket" }
func (w *wsSession) Freeze()               {}
func (w *wsSession) Truth() starlark.Bool  { return starlark.Bool(w.err == "") }
func (w *wsSession) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: websocket") }

var wsSessionAttrNames = catalog.AttrNames(catalog.WSSessionAttrs)

// AttrNames implements starlark.HasAttrs.
func (w *wsSession) AttrNames() []string { return wsSessionAttrNames }

// Attr implements starlark.HasAttrs.
func (w *wsSession) Attr(name string) (starlark.Value, error) {
	switch name {
	case "ok":
		return starlark.Bool(w.err == ""), nil
	case "error":
		if w.err == "" {
			return starlark.None, nil
		}
		return starlark.String(w.err), nil
	case "latency_ms":
		return starlark.Float(float64(w.latency) / float64(time.Millisecond)), nil
	case "source_ip":
		if !w.src.IsValid() {
			return starlark.None, nil
		}
		return starlark.String(w.src.String()), nil
	case "subprotocol":
		if w.conn == nil || w.conn.Subprotocol == "" {
			return starlark.None, nil
		}
		return starlark.String(w.conn.Subprotocol), nil
	case "send":
		return starlark.NewBuiltin("send", w.sendMethod), nil
	case "recv":
		return starlark.NewBuiltin("recv", w.recvMethod), nil
	case "close":
		return starlark.NewBuiltin("close", w.closeMethod), nil
	}
	return nil, nil
}

// usable reports whether the session can carry a call made from sess.
func (w *wsSession) usable(fn string, sess *Session) error {
	if sess != w.sess {
		return fmt.Errorf("%s: this WebSocket belongs to another user", fn)
	}
	return nil
}

func (w *wsSession) sendMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text); err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	if err := w.usable(b.Name(), sess); err != nil {
		return nil, err
	}
	return starlark.Bool(w.send(text)), nil
}

// send sends one message; a failure is counted as a failed round trip
// and fails the session.
func (w *wsSession) send(text string) bool {
	if w.err != "" || w.closed {
		return false
	}
	start := time.Now()
	if err := w.conn.Send(w.sess.Ctx, text, w.timeout); err != nil {
		w.fail(err, start, time.Since(start))
		return false
	}
	w.pending = append(w.pending, start)
	return true
}

// fail records a failed round trip, fails the session and closes it.
func (w *wsSession) fail(err error, start time.Time, latency time.Duration) {
	sent, recv := w.conn.Counts()
	s := &metrics.Sample{Name: w.name, Kind: "ws", Source: w.src, Start: start, Latency: latency,
		BytesSent: sent, BytesRecv: recv, ErrKind: w.sess.errKind(err), Err: transport.Describe(err, w.src)}
	w.sess.Sink.Record(s)
	w.err = s.Err
	w.close()
}

type recvArgs struct{ timeout starlark.Value }

func (w *wsSession) recvMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a recvArgs
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &a.timeout); err != nil {
		return nil, err
	}
	timeout, err := durationArg(b.Name(), "timeout", a.timeout, w.timeout)
	if err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	if err := w.usable(b.Name(), sess); err != nil {
		return nil, err
	}
	return w.recv(timeout, ""), nil
}

// recv waits for the next message and measures it as a round trip: from
// the oldest send it has not been matched to, else from now. expect, when
// set, must be in the message.
func (w *wsSession) recv(timeout time.Duration, expect string) *Result {
	res := &Result{Name: w.name, SourceIP: w.sess.User.AllocatedIP}
	if w.src.IsValid() {
		res.SourceIP = w.src.String()
	}
	if w.err != "" || w.closed {
		res.Err = "the WebSocket is closed"
		if w.err != "" {
			res.Err = "the WebSocket failed: " + w.err
		}
		return res
	}
	called := time.Now()
	from := called
	if len(w.pending) > 0 {
		from = w.pending[0]
	}
	msg, at, err := w.conn.Recv(w.sess.Ctx, timeout)
	if err != nil {
		latency := time.Since(from)
		res.LatencyMS = float64(latency) / float64(time.Millisecond)
		var expired *transport.WSWaitError
		if errors.As(err, &expired) {
			// No message in time: counted, and the session stays open.
			sent, got := w.conn.Counts()
			res.Err = err.Error()
			w.sess.Sink.Record(&metrics.Sample{Name: w.name, Kind: "ws", Source: w.src, Start: from, Latency: latency,
				BytesSent: sent, BytesRecv: got, ErrKind: w.sess.errKind(err), Err: res.Err})
			return res
		}
		w.fail(err, from, latency)
		res.Err = w.err
		return res
	}
	if len(w.pending) > 0 {
		w.pending = w.pending[1:]
	}
	latency := at.Sub(from)
	if latency < 0 {
		latency = 0 // read ahead before recv was called
	}
	sent, got := w.conn.Counts()
	s := &metrics.Sample{Name: w.name, Kind: "ws", Source: w.src, Start: from, Latency: latency, BytesSent: sent, BytesRecv: got}
	res.Body, res.LatencyMS = msg, float64(latency)/float64(time.Millisecond)
	if expect != "" && !strings.Contains(string(msg), expect) {
		s.ErrKind = metrics.KindExpect
		res.Err = fmt.Sprintf("message %q does not contain %q", truncate(string(msg), 80), expect)
	} else {
		res.OK = true
	}
	s.OK, s.Err = res.OK, res.Err
	w.record(s)
	return res
}

func (w *wsSession) closeMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	if err := w.usable(b.Name(), sess); err != nil {
		return nil, err
	}
	w.close()
	return starlark.None, nil
}

// close closes the WebSocket and gives the source address back; calling
// it again does nothing.
func (w *wsSession) close() {
	if w.closed {
		return
	}
	w.closed = true
	if w.conn != nil {
		w.conn.Close()
		if w.held != nil {
			// ws.request's closing handshake counts with its last message.
			sent, got := w.conn.Counts()
			w.held.BytesSent += sent
			w.held.BytesRecv += got
		}
	}
	if w.release != nil {
		w.release()
	}
	w.sess.forget(w)
}

// open opens the WebSocket p describes from the user's address,
// recording the opening as NAME.connect. ok is false when the call was
// not made (no address: counted; or the run ending: err).
func openWS(sess *Session, p *wsPrepared) (w *wsSession, err error) {
	w = &wsSession{sess: sess, name: p.name, timeout: p.timeout}
	res := &Result{Name: p.name + ".connect"}
	src, release, ok, err := sess.acquire(res, "ws", p.bind)
	if !ok {
		if err != nil {
			return nil, err
		}
		w.err, w.closed = res.Err, true
		return w, nil
	}
	w.src, w.release = src, release
	p.req.Start = sess.startClock()
	// The opening is an HTTP request of the user's: it carries the
	// cookies the http: section's jar holds for its URL.
	mode := CookiesUser
	if sess.HTTP != nil {
		mode = sess.HTTP.Cookies
	}
	if jar := sess.jar(mode); jar != nil {
		p.req.Jar = jar
	}
	conn, open, sent, got := sess.source(src).WSConnect(sess.Ctx, p.req)
	w.latency = open.Latency
	s := &metrics.Sample{Name: res.Name, Kind: "ws", Source: src, Start: open.Start, Latency: open.Latency,
		Status: open.Status, BytesSent: sent, BytesRecv: got}
	var statusErr *transport.WSStatusError
	switch {
	case open.Err == nil:
		s.OK = true
		w.conn = conn
		sess.remember(w)
	case errors.As(open.Err, &statusErr):
		s.ErrKind, s.Err = metrics.StatusKind(statusErr.Status), open.Err.Error()
	default:
		s.ErrKind, s.Err = sess.errKind(open.Err), transport.Describe(open.Err, src)
	}
	sess.Sink.Record(s)
	if !s.OK {
		w.err, w.closed = s.Err, true
		release()
	}
	return w, nil
}

// wsConnect is ws.connect: an open session.
func wsConnect(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a wsArgs
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, wsConnectParams.pairs(&a)...); err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	p, err := prepareWS(sess, b.Name(), &a)
	if err != nil {
		return nil, err
	}
	w, err := openWS(sess, p)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// wsRequest is ws.request: open, send each message, read the answers,
// check them, close.
func wsRequest(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a wsArgs
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, wsRequestParams.pairs(&a)...); err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	fn := b.Name()
	p, err := prepareWS(sess, fn, &a)
	if err != nil {
		return nil, err
	}
	var sends []string
	switch v := a.send.(type) {
	case nil, starlark.NoneType:
	case starlark.String:
		sends = []string{string(v)}
	case starlark.Indexable:
		for i := 0; i < v.Len(); i++ {
			sends = append(sends, str(v.Index(i)))
		}
	default:
		return nil, fmt.Errorf("%s: send must be a string or a list of them, not %s", fn, v.Type())
	}
	receive := len(sends)
	if a.receive != nil && a.receive != starlark.None {
		if err := starlark.AsInt(a.receive, &receive); err != nil || receive < 0 {
			return nil, fmt.Errorf("%s: receive must be a number of messages, not %s", fn, a.receive.String())
		}
	}
	expect, err := optString(fn, "expect", a.expect)
	if err != nil {
		return nil, err
	}
	exports, err := parseExports(fn, a.export)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	w, err := openWS(sess, p)
	if err != nil {
		return nil, err
	}
	w.hold = true
	res := &Result{Name: p.name, URL: a.url}
	if w.src.IsValid() {
		res.SourceIP = w.src.String()
	}
	var got []starlark.Value
	failed := w.err
	read := func() bool {
		r := w.recv(w.timeout, expect)
		if r.Err != "" {
			failed = r.Err
			return false
		}
		got = append(got, starlark.String(r.Body))
		res.Body = r.Body
		return true
	}
	for i := 0; failed == "" && i < len(sends); i++ {
		if !w.send(sends[i]) {
			failed = w.err
			break
		}
		if i < receive && !read() {
			break
		}
	}
	for i := len(sends); failed == "" && i < receive; i++ {
		if !read() {
			break
		}
	}
	w.close()
	res.LatencyMS = float64(time.Since(start)) / float64(time.Millisecond)
	res.messages = starlark.NewList(got)
	res.messages.Freeze()
	res.Err = failed
	res.OK = failed == ""
	if len(exports) > 0 {
		if msg := applyExports(sess, res, exports, res.parsed); msg != "" && res.OK {
			res.OK, res.Err = false, msg
			if w.held != nil {
				// The last message's round trip carries the failure.
				w.held.OK, w.held.ErrKind, w.held.Err = false, metrics.KindAssert, msg
			}
		}
	}
	if w.held != nil {
		sess.Sink.Record(w.held)
	}
	return res, nil
}
