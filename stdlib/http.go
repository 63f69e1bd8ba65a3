package stdlib

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// httpModule is the `http` value: request and one shorthand per method,
// as the catalog lists them.
func httpModule() *starlarkstruct.Module {
	members := starlark.StringDict{}
	for _, c := range catalog.Calls {
		if c.Kind == catalog.HTTP && c.Name == c.Func {
			members[strings.TrimPrefix(c.Func, "http.")] = starlark.NewBuiltin(c.Func, httpBuiltin(c.Method, httpParams[c.Func]))
		}
	}
	return &starlarkstruct.Module{Name: "http", Members: members}
}

// httpFields says where each keyword argument of an HTTP call is stored.
var httpFields = map[string]func(*httpArgs) any{
	"url":           func(a *httpArgs) any { return &a.url },
	"method":        func(a *httpArgs) any { return &a.method },
	"headers":       func(a *httpArgs) any { return &a.headers },
	"query":         func(a *httpArgs) any { return &a.query },
	"body":          func(a *httpArgs) any { return &a.body },
	"json":          func(a *httpArgs) any { return &a.json },
	"form":          func(a *httpArgs) any { return &a.form },
	"timeout":       func(a *httpArgs) any { return &a.timeout },
	"bind_ip":       func(a *httpArgs) any { return &a.bindIP },
	"retries":       func(a *httpArgs) any { return &a.retries },
	"tls_verify":    func(a *httpArgs) any { return &a.tlsVerify },
	"expect_status": func(a *httpArgs) any { return &a.expect },
	"name":          func(a *httpArgs) any { return &a.name },
	"export":        func(a *httpArgs) any { return &a.export },
	"max_response":  func(a *httpArgs) any { return &a.maxResponse },
	"redirects":     func(a *httpArgs) any { return &a.redirects },
	"discard_body":  func(a *httpArgs) any { return &a.discardBody },
	"tls":           func(a *httpArgs) any { return &a.tls },
	"keep_alive":    func(a *httpArgs) any { return &a.keepAlive },
	"version":       func(a *httpArgs) any { return &a.version },
	"resolve":       func(a *httpArgs) any { return &a.resolve },
	"user_agent":    func(a *httpArgs) any { return &a.userAgent },
	"cookies":       func(a *httpArgs) any { return &a.cookies },
	"auth":          func(a *httpArgs) any { return &a.auth },
	"multipart":     func(a *httpArgs) any { return &a.multipart },
	"compression":   func(a *httpArgs) any { return &a.compression },
	"proxy":         func(a *httpArgs) any { return &a.proxy },
}

// httpParams are the parameters of each HTTP function, by its name.
var httpParams = func() map[string]*params[httpArgs] {
	out := map[string]*params[httpArgs]{}
	var names []string
	for _, c := range catalog.Calls {
		if c.Kind == catalog.HTTP && c.Name == c.Func {
			p := bindParams(c.Func, httpFields)
			out[c.Func] = &p
			names = append(names, c.Func)
		}
	}
	checkFieldsUsed(httpFields, names...)
	return out
}()

// httpArgs are the keyword arguments of an HTTP call.
type httpArgs struct {
	url, method, name       string
	headers, query          starlark.Value
	body, json, form        starlark.Value
	timeout, bindIP, expect starlark.Value
	export, maxResponse     starlark.Value
	retries, redirects      int
	tlsVerify, tls, version starlark.Value
	resolve, cookies        starlark.Value
	auth, multipart         starlark.Value
	compression, proxy      starlark.Value
	keepAlive               bool
	userAgent               string
	discardBody             bool
	// conf is the run's http: section the call's arguments override.
	conf *HTTPConfig
}

// calls are the working states of HTTP calls in progress.
var calls = sync.Pool{New: func() any { return new(httpCall) }}

// endCall gives the call's working state back to the pool, emptied: it
// must not keep what the call returned (the Result's memory) alive.
func (s *Session) endCall() {
	c := s.call
	s.call = nil
	earlier := c.resp.Earlier
	clear(earlier)
	*c = httpCall{}
	c.resp.Earlier = earlier[:0]
	calls.Put(c)
}

func httpBuiltin(fixedMethod string, p *params[httpArgs]) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		// The run's http: section gives the defaults; the call's own
		// arguments override them (tls merges key by key in prepare).
		sess, serr := session(thread, b.Name())
		var conf *HTTPConfig
		var a *httpArgs
		if serr == nil {
			// Working state from a pool: no allocation per call, and
			// none held by a user between calls.
			sess.call = calls.Get().(*httpCall)
			defer sess.endCall()
			conf, a = sess.HTTP, &sess.call.args
		} else {
			a = new(httpArgs)
		}
		if conf == nil {
			conf = DefaultHTTP()
		}
		*a = httpArgs{method: fixedMethod, redirects: conf.Redirects, keepAlive: conf.KeepAlive, userAgent: conf.UserAgent, conf: conf}
		if err := p.unpack(b.Name(), args, kwargs, a); err != nil {
			return nil, err
		}
		if serr != nil {
			return nil, serr
		}
		if a.method == "" {
			a.method = "GET"
		}
		a.method = upperASCII(a.method)
		return doHTTP(sess, b.Name(), a)
	}
}

// prepared is an HTTP request ready to send, built from httpArgs.
type prepared struct {
	url         *url.URL
	body        []byte
	contentType string
	headers     http.Header
	host        string
	timeout     time.Duration
	bind        netip.Addr
	expect      []int
	exports     []exportSpec
	maxResponse int64
	tls         *transport.TLSProfile
	insecure    bool
	version     transport.Version
	resolve     map[string]string
	cookies     CookieMode
	decompress  bool     // compression: gzip
	proxy       *url.URL // nil: direct

	// sharedHeaders: headers are one of bodyHeaders, which setHeader
	// copies before changing.
	sharedHeaders bool
}

// bodyHeaders are the headers of a call whose only header is the
// Content-Type of its json or form body: made once, shared by those
// calls and never changed (the transport only reads a request's
// headers).
var bodyHeaders = map[string]http.Header{
	"application/json":                  {"Content-Type": {"application/json"}},
	"application/x-www-form-urlencoded": {"Content-Type": {"application/x-www-form-urlencoded"}},
}

// upperASCII is strings.ToUpper without a new string when s is upper
// case already, as methods nearly always are.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' || c >= 0x80 {
			return strings.ToUpper(s)
		}
	}
	return s
}

// urlSeed hashes URLs to their slot in HTTPConfig.urls.
var urlSeed = maphash.MakeSeed()

// prepare turns a call's arguments into p, which it overwrites. The run
// keeps URLs parsed: its users send the same few again and again.
func prepare(fn string, a *httpArgs, p *prepared) error {
	*p = prepared{}
	var u *url.URL
	var err error
	slot := &a.conf.urls[maphash.String(urlSeed, a.url)%uint64(len(a.conf.urls))]
	if last := slot.Load(); last != nil && last.text == a.url {
		u = last.url // never modified: see the query below
	} else {
		u, err = url.Parse(a.url)
		if err != nil || u.Host == "" || !catalog.HTTP.AcceptsScheme(u.Scheme) {
			return fmt.Errorf("%s: url %q is not an absolute http(s) URL", fn, a.url)
		}
		slot.Store(&parsedURL{a.url, u})
	}
	p.url = u
	if a.query != nil && a.query != starlark.None {
		d, ok := a.query.(*starlark.Dict)
		if !ok {
			return fmt.Errorf("%s: query must be a dict, not %s", fn, a.query.Type())
		}
		cp := *u // the parsed URL may be the session's: changed in a copy
		u = &cp
		p.url = u
		q := u.Query()
		for _, kv := range d.Items() {
			if l, ok := kv[1].(*starlark.List); ok {
				for i := 0; i < l.Len(); i++ {
					q.Add(str(kv[0]), str(l.Index(i)))
				}
				continue
			}
			q.Set(str(kv[0]), str(kv[1]))
		}
		u.RawQuery = q.Encode()
	}
	given := 0
	for _, v := range []starlark.Value{a.body, a.json, a.form, a.multipart} {
		if v != nil && v != starlark.None {
			given++
		}
	}
	if given > 1 {
		return fmt.Errorf("%s: give at most one of body, json, form and multipart", fn)
	}
	switch {
	case a.multipart != nil && a.multipart != starlark.None:
		if p.body, p.contentType, err = multipartBody(fn, a.multipart, a.conf.file); err != nil {
			return err
		}
	case a.form != nil && a.form != starlark.None:
		d, ok := a.form.(*starlark.Dict)
		if !ok {
			return fmt.Errorf("%s: form must be a dict, not %s", fn, a.form.Type())
		}
		vals := url.Values{}
		for _, kv := range d.Items() {
			vals.Add(str(kv[0]), str(kv[1]))
		}
		p.body, p.contentType = []byte(vals.Encode()), "application/x-www-form-urlencoded"
	case a.json != nil && a.json != starlark.None:
		if p.body, err = encodeJSON(fn, a.json); err != nil {
			return err
		}
		p.contentType = "application/json"
	case a.body != nil && a.body != starlark.None:
		switch b := a.body.(type) {
		case starlark.String:
			p.body = []byte(b)
		case starlark.Bytes:
			p.body = []byte(b)
		default: // a map or list is sent as JSON (spec §4)
			if p.body, err = encodeJSON(fn, b); err != nil {
				return err
			}
			p.contentType = "application/json"
		}
	}
	if a.headers != nil && a.headers != starlark.None {
		d, ok := a.headers.(*starlark.Dict)
		if !ok {
			return fmt.Errorf("%s: headers must be a dict, not %s", fn, a.headers.Type())
		}
		for _, kv := range d.Items() {
			k := str(kv[0])
			if strings.EqualFold(k, "Host") {
				p.host = str(kv[1])
				continue
			}
			if p.headers == nil {
				p.headers = http.Header{}
			}
			p.headers.Set(k, str(kv[1]))
		}
	}
	if p.contentType != "" && p.headers.Get("Content-Type") == "" {
		if shared := bodyHeaders[p.contentType]; p.headers == nil && shared != nil {
			p.headers, p.sharedHeaders = shared, true
		} else {
			p.setHeader("Content-Type", p.contentType)
		}
	}
	if err := p.more(fn, a); err != nil {
		return err
	}
	// A header that could write headers of its own is the script's
	// mistake, raised at the call, not a failed request.
	if err := transport.CheckHeader(p.url, p.headers, p.host); err != nil {
		return fmt.Errorf("%s: %v", fn, err)
	}
	defTimeout := catalog.DefaultTimeout
	if a.conf != nil && a.conf.Timeout > 0 {
		defTimeout = a.conf.Timeout
	}
	if p.timeout, err = durationArg(fn, "timeout", a.timeout, defTimeout); err != nil {
		return err
	}
	if p.bind, err = bindArg(fn, a.bindIP); err != nil {
		return err
	}
	if p.expect, err = expectArg(fn, a.expect); err != nil {
		return err
	}
	if p.exports, err = parseExports(fn, a.export); err != nil {
		return err
	}
	if a.retries < 0 {
		return fmt.Errorf("%s: retries must not be negative", fn)
	}
	if a.redirects < 0 {
		return fmt.Errorf("%s: redirects must not be negative", fn)
	}
	if p.maxResponse, err = sizeArg(fn, "max_response", a.maxResponse); err != nil {
		return err
	}
	conf := a.conf
	if conf == nil {
		conf = DefaultHTTP()
	}
	if p.maxResponse == 0 {
		p.maxResponse = conf.MaxResponse
	}
	if p.version, err = versionArg(fn, a.version, conf.Version); err != nil {
		return err
	}
	if p.resolve, err = resolveArg(fn, a.resolve, conf.Resolve); err != nil {
		return err
	}
	if p.cookies, err = cookiesArg(fn, a.cookies, conf.Cookies); err != nil {
		return err
	}
	if err := checkHTTP3(p.version, p.url, conf.TLS, p.proxy); err != nil {
		return fmt.Errorf("%s: %v", fn, err)
	}
	if (a.tls == nil || a.tls == starlark.None) && (a.tlsVerify == nil || a.tlsVerify == starlark.None) {
		// The run's own TLS settings: their profile is made once.
		p.insecure = conf.TLS.Insecure()
		if p.tls, err = conf.baseProfile(); err != nil {
			return fmt.Errorf("%s: %v", fn, err)
		}
		return nil
	}
	own, err := tlsArg(fn, a.tls)
	if err != nil {
		return err
	}
	settings := conf.TLS.Merge(own)
	if a.tlsVerify != nil && a.tlsVerify != starlark.None {
		b, ok := a.tlsVerify.(starlark.Bool)
		if !ok {
			return fmt.Errorf("%s: tls_verify must be True or False, not %s", fn, a.tlsVerify.Type())
		}
		verify := bool(b)
		settings.Verify = &verify
	}
	if err := checkHTTP3(p.version, p.url, settings, p.proxy); err != nil {
		return fmt.Errorf("%s: %v", fn, err)
	}
	p.insecure = settings.Insecure()
	// Made for http:// too: a redirect may lead to https://.
	if p.tls, err = conf.profile(settings); err != nil {
		return fmt.Errorf("%s: %v", fn, err)
	}
	return nil
}

// hasBytes reports whether v holds bytes in its lists, tuples or dicts
// (v nests at most MaxNesting deep: the caller checked).
func hasBytes(v starlark.Value, depth int) bool {
	if depth > MaxNesting {
		return false
	}
	switch v := v.(type) {
	case starlark.Bytes:
		return true
	case *starlark.List:
		for i := 0; i < v.Len(); i++ {
			if hasBytes(v.Index(i), depth+1) {
				return true
			}
		}
	case starlark.Tuple:
		for _, x := range v {
			if hasBytes(x, depth+1) {
				return true
			}
		}
	case *starlark.Dict:
		for _, kv := range v.Items() {
			if hasBytes(kv[1], depth+1) {
				return true
			}
		}
	}
	return false
}

// encodeJSON encodes a request's json body with what json.encode is,
// go.starlark.net's encoder: a script that prints json.encode(x) sees
// the bytes json = x sends. Values nested past MaxNesting are refused.
func encodeJSON(fn string, v starlark.Value) ([]byte, error) {
	if tooDeep(v) {
		return nil, errTooDeep(fn, v)
	}
	out, err := callJSON(jsonEncode, v)
	if err != nil {
		if hasBytes(v, 0) {
			// The encoder walks bytes as an object of methods: say what it meant.
			return nil, fmt.Errorf("%s: json body: bytes cannot be encoded as JSON (make them a string first)", fn)
		}
		return nil, fmt.Errorf("%s: json body: %v", fn, err)
	}
	return []byte(out.(starlark.String)), nil
}

func bindArg(fn string, v starlark.Value) (netip.Addr, error) {
	s, err := optString(fn, "bind_ip", v)
	if err != nil || s == "" {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: bind_ip %q is not an IP address", fn, s)
	}
	return a, nil
}

func expectArg(fn string, v starlark.Value) ([]int, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	var vals []starlark.Value
	if l, ok := v.(starlark.Indexable); ok {
		for i := 0; i < l.Len(); i++ {
			vals = append(vals, l.Index(i))
		}
	} else {
		vals = []starlark.Value{v}
	}
	out := make([]int, 0, len(vals))
	for _, x := range vals {
		var code int
		if err := starlark.AsInt(x, &code); err != nil {
			return nil, fmt.Errorf("%s: expect_status must be a status code or a list of them", fn)
		}
		out = append(out, code)
	}
	return out, nil
}

func statusOK(code int, expect []int) bool {
	if len(expect) == 0 {
		return code < 400
	}
	for _, c := range expect {
		if c == code {
			return true
		}
	}
	return false
}

// sizeArg reads a size in bytes given as a number or as "64MiB"; None
// means the transport's default (0).
func sizeArg(fn, name string, v starlark.Value) (int64, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return 0, nil
	case starlark.Int:
		n, ok := v.Int64()
		if !ok || n < 1 {
			return 0, fmt.Errorf("%s: %s must be a positive number of bytes", fn, name)
		}
		return n, nil
	case starlark.String:
		n, err := catalog.ParseSize(string(v))
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %v", fn, name, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: %s must be a number of bytes or a size such as \"1MiB\", not %s", fn, name, v.Type())
}

func doHTTP(sess *Session, fn string, a *httpArgs) (starlark.Value, error) {
	p := &sess.call.prep
	if err := prepare(fn, a, p); err != nil {
		return nil, err
	}
	name := a.name
	if name == "" {
		name = a.method + " " + p.url.Path
	}
	res := &Result{Name: name, url: p.url}
	src, release, ok, err := sess.acquire(res, "http", p.bind)
	if !ok {
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	defer release()
	req, resp := &sess.call.req, &sess.call.resp
	*req = transport.Request{
		Method: a.method, URL: p.url, Header: p.headers, Host: p.host, Body: p.body,
		Timeout: p.timeout, Start: sess.startClock(), MaxResponse: p.maxResponse,
		Redirects: a.redirects, Retries: a.retries, Insecure: p.insecure, DiscardBody: a.discardBody,
		TLS: p.tls, NoKeepAlive: !a.keepAlive, UserAgent: a.userAgent,
		Version: p.version, Conns: sess.Conns,
		Resolve: p.resolve, Resolver: a.conf.Resolver,
		Buf: res.buf[:0], // small answers travel in the result's own memory
	}
	req.Decompress, req.Proxy = p.decompress, p.proxy
	if jar := sess.jar(p.cookies); jar != nil {
		req.Jar = jar
	}
	sess.source(src).DoInto(sess.Ctx, req, resp)
	req.Buf = nil
	// Redirect hops and retried attempts are requests of their own,
	// measured under the same name.
	for i := range resp.Earlier {
		x := &resp.Earlier[i]
		s := &metrics.Sample{Name: name, Kind: "http", Source: src, Start: x.Start, Latency: x.Latency,
			Status: x.Status, BytesSent: x.Sent, BytesRecv: x.Received}
		switch {
		case x.Err != nil:
			s.ErrKind, s.Err = sess.errKind(x.Err), transport.Describe(x.Err, src)
		case x.Status >= 400:
			s.ErrKind, s.Err = metrics.StatusKind(x.Status), fmt.Sprintf("status %d", x.Status)
		default:
			s.OK = true
			s.Timed, s.Timings = true, x.Timings
		}
		sess.Sink.Record(s)
	}
	res.LatencyMS = float64(resp.Latency) / float64(time.Millisecond)
	s := &sess.call.sample
	*s = metrics.Sample{Name: name, Kind: "http", Source: src, Start: resp.Start, Latency: resp.Latency,
		Status: resp.Status, BytesSent: resp.Sent, BytesRecv: resp.Received}
	res.url, res.redirects = resp.URL, resp.Redirects
	if resp.Status != 0 {
		res.StatusVal, res.rawHeader, res.Body, res.proto = resp.Status, resp.RawHeader, resp.Body, resp.Proto
		res.discarded = a.discardBody
	}
	switch {
	case resp.Err != nil:
		s.ErrKind = sess.errKind(resp.Err)
		res.Err = transport.Describe(resp.Err, src)
	case !statusOK(resp.Status, p.expect):
		if len(p.expect) > 0 {
			s.ErrKind = metrics.KindStatus
			res.Err = fmt.Sprintf("status %d, want %v", resp.Status, p.expect)
		} else {
			s.ErrKind = metrics.StatusKind(resp.Status)
			res.Err = fmt.Sprintf("status %d", resp.Status)
		}
	default:
		res.OK = true
	}
	if len(p.exports) > 0 {
		if msg := applyExports(sess, res, p.exports, res.parsed); msg != "" && res.OK {
			res.OK, res.Err, s.ErrKind = false, msg, metrics.KindAssert
		}
	}
	s.OK = res.OK
	s.Err = res.Err
	if resp.Err == nil {
		// Timed whenever the whole answer came, even if its status or an
		// assertion fails it: the collector keeps phases of successes only.
		s.Timed, s.Timings = true, resp.Timings
	}
	sess.Sink.Record(s)
	return res, nil
}
