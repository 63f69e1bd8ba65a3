package transport

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// Request is one HTTP call: what the built-in was asked to send, and how.
// It is the only representation of a request in ntx; the transport
// writes it to the wire itself.
type Request struct {
	Method string   // upper case; "" is GET
	URL    *url.URL // absolute, http or https
	// Header is sent as given, except Host, Content-Length,
	// Transfer-Encoding, which the transport writes itself.
	Header http.Header
	// Host, when set, is sent as the Host header instead of the URL's.
	Host string
	Body []byte
	// Timeout bounds the whole call, redirects and retries included; 0
	// means none.
	Timeout time.Duration
	// Start is when the call counts as started, for the latency of its
	// first exchange (an open model's intended start); zero means now.
	Start time.Time
	// MaxResponse bounds a response body (0: DefaultMaxResponse).
	MaxResponse int64
	// Redirects is how many redirect hops to follow; with 0 a 3xx answer
	// is the response.
	Redirects int
	// Retries is how many times a failed attempt (a network error, 429,
	// or 5xx other than 501) is tried again, by go-retryablehttp.
	Retries int
	// Insecure skips the verification of the server's certificate.
	Insecure bool
	// TLS is the TLS profile of an https:// request (CAs, client
	// certificate, SNI, versions, ciphers, resumption); nil is the
	// transport's default.
	TLS *TLSProfile
	// NoKeepAlive makes a new connection for the request and closes it
	// after: one connection, and one TLS handshake, per request.
	NoKeepAlive bool
	// Resolve are fixed answers, by host name (lower case): no query is
	// made for them (like curl --resolve).
	Resolve map[string]string
	// Resolver resolves other names, with the run's cache; nil leaves
	// them to the system at every new connection.
	Resolver *Resolver
	// Version is the HTTP version to speak (auto: h2 or HTTP/1.1 by ALPN).
	Version Version
	// Conns are the calling user's HTTP/2 connections, reused by its
	// later requests; nil closes an HTTP/2 connection after its request.
	Conns *Conns
	// UserAgent, when set, is sent instead of the transport's when the
	// header gives none.
	UserAgent string
	// DiscardBody reads the response body and counts it without keeping
	// it: for answers no script reads.
	DiscardBody bool
	// Decompress decodes a gzip-encoded answer (Content-Encoding: gzip)
	// into Body; the byte counters keep the size on the wire. The caller
	// sends Accept-Encoding itself.
	Decompress bool
	// Proxy is the HTTP proxy to go through (http://[USER:PASSWORD@]HOST:PORT):
	// a CONNECT tunnel for https:// and h2c, absolute-form requests for
	// plain http://; nil connects directly.
	Proxy *url.URL
	// Jar, when set, gives the cookies sent with each exchange (redirect
	// hops and retries too), merged into the Cookie header, and keeps the
	// cookies each answer sets; nil neither sends nor keeps any.
	Jar http.CookieJar
	// Buf, when it has room, holds the response's header block and kept
	// body instead of new memory: a caller that allocates its result
	// anyway can carry the bytes in the same allocation. The response's
	// RawHeader and Body may point into it.
	Buf []byte
}

// Exchange is one request on the wire and its answer, measured: every
// exchange that reached the wire is counted once.
type Exchange struct {
	Method  string
	URL     *url.URL
	Start   time.Time
	Latency time.Duration
	// Timings are the exchange's phases; they are filled for an
	// exchange that got its whole answer.
	Timings Timings
	Status  int   // 0 when no answer arrived
	Err     error // nil when an answer arrived whole
	// Sent and Received count the bytes that crossed the socket, headers
	// and TLS records included (a new connection's handshake too).
	Sent, Received int64
}

// Response is the outcome of a call: its last exchange and what came
// with it. Err is set when the call failed.
type Response struct {
	Exchange
	Proto string // what was spoken: "HTTP/1.1", "HTTP/1.0", "HTTP/2.0" or "HTTP/3.0"
	// RawHeader is the response's header block as received, from the
	// status line to the blank line; see ParseHeader.
	RawHeader []byte
	// Body is the response body; nil when discarded.
	Body []byte
	// BodySize is how many body bytes arrived, kept or not.
	BodySize int64
	// Redirects is how many redirect hops were followed.
	Redirects int
	// Earlier are the exchanges before the last, in order: each redirect
	// hop, each retried attempt, each request re-sent after its
	// kept-alive connection broke.
	Earlier []Exchange
}

// hop is one request of a call: the first, or one a redirect asked for.
type hop struct {
	method string
	url    *url.URL
	header http.Header
	host   string
	body   []byte
	start  time.Time
	// cookie is the Cookie header to send instead of header's: its own
	// and the jar's cookies ("" when the jar gives none).
	cookie string
}

// Do makes the call req from s. It always returns a Response; its Err
// says whether the last exchange failed. ctx ends the call early (the
// end of a run); req.Timeout bounds it.
func (s *Source) Do(ctx context.Context, req *Request) *Response {
	resp := &Response{}
	s.DoInto(ctx, req, resp)
	return resp
}

// DoInto is Do into a Response the caller holds, which it overwrites
// (reusing the backing array of its Earlier): a caller that sends many
// requests one after the other keeps one Response.
func (s *Source) DoInto(ctx context.Context, req *Request, resp *Response) {
	*resp = Response{Earlier: resp.Earlier[:0]}
	now := time.Now()
	h := hop{method: req.Method, url: req.URL, header: req.Header, host: req.Host, body: req.Body, start: req.Start}
	if h.method == "" {
		h.method = http.MethodGet
	}
	if h.start.IsZero() {
		h.start = now
	}
	var deadline time.Time
	if req.Timeout > 0 {
		deadline = now.Add(req.Timeout)
	}
	if err := req.Check(); err != nil {
		resp.Exchange = Exchange{Method: h.method, URL: h.url, Start: h.start, Err: err}
		return
	}
	for {
		if req.Retries > 0 {
			// The retry layer keeps the hop in closures: its own copy,
			// so that h stays on the stack of a call without retries.
			hp := new(hop)
			*hp = h
			s.retrying(ctx, req, hp, deadline, resp)
			h = *hp
		} else {
			s.exchange(ctx, req, &h, deadline, resp)
		}
		if resp.Err != nil || resp.Redirects >= req.Redirects || !h.redirect(req, resp) {
			if req.Decompress && resp.Err == nil {
				// A 5xx answer is counted by its status (the server said
				// it failed), not by a body it may have botched.
				if err := decodeBody(req, resp); resp.Status < 500 {
					resp.Err = err
				}
			}
			return
		}
		resp.Earlier = append(resp.Earlier, resp.Exchange)
		resp.Redirects++
	}
}

// keepBody reports whether a response body is kept in memory: when the
// caller wants it, or to be decoded (decodeBody reports a corrupt gzip
// body as kind decode even when the caller discards it). The same for
// every protocol.
func keepBody(req *Request) bool { return !req.DiscardBody || req.Decompress }

// Check reports a request that cannot be sent: a URL that is not
// absolute http(s), or a header that would write headers of its own.
// Built-ins check their requests before they measure anything.
func (r *Request) Check() error { return CheckHeader(r.URL, r.Header, r.Host) }

// CheckHeader is Request.Check for the request's URL, header and Host.
func CheckHeader(u *url.URL, header http.Header, host string) error {
	if u == nil || u.Host == "" || !catalog.HTTP.AcceptsScheme(u.Scheme) {
		return fmt.Errorf("%v is not an absolute http(s) URL", u)
	}
	if !validValue(host) {
		return fmt.Errorf("invalid Host %q", host)
	}
	for k, vs := range header {
		if !validName(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range vs {
			if !validValue(v) {
				return fmt.Errorf("invalid value for header %s: %q (CR, LF and NUL are not allowed)", k, v)
			}
		}
	}
	return nil
}

// redirect turns h into the request resp's redirect asks for. It reports
// false when resp is not a redirect that can be followed.
func (h *hop) redirect(req *Request, resp *Response) bool {
	switch resp.Status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return false
	}
	loc := headerValue(resp.RawHeader, "Location")
	if loc == "" {
		return false
	}
	next, err := h.url.Parse(loc)
	if err != nil || !catalog.HTTP.AcceptsScheme(next.Scheme) || next.Host == "" {
		return false
	}
	next.Fragment, next.RawFragment = "", ""
	// As browsers and net/http do: 301, 302 and 303 turn a request with
	// a body into a GET without one; 307 and 308 repeat it as it was.
	dropBody := resp.Status <= http.StatusSeeOther && h.method != http.MethodGet && h.method != http.MethodHead
	if dropBody {
		h.method, h.body = http.MethodGet, nil
	}
	if !strings.EqualFold(next.Host, req.URL.Host) || dropBody {
		// Credentials go only to the host they were written for, and a
		// body's headers only with the body.
		hdr := h.header.Clone()
		if !strings.EqualFold(next.Host, req.URL.Host) {
			for _, k := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Www-Authenticate"} {
				hdr.Del(k)
			}
			h.host = ""
		}
		if dropBody {
			hdr.Del("Content-Type")
		}
		h.header = hdr
	}
	h.url, h.start = next, time.Now()
	return true
}

// retrying sends h through go-retryablehttp, which decides whether an
// attempt is tried again and how long to wait first. Each attempt is an
// exchange of s; all but the last go to resp.Earlier. It is used only
// when the call asks for retries.
func (s *Source) retrying(ctx context.Context, req *Request, h *hop, deadline time.Time, resp *Response) {
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline) // the backoff waits watch it
		defer cancel()
	}
	attempts := 0
	send := roundTripFunc(func(hr *http.Request) (*http.Response, error) {
		if attempts > 0 {
			resp.Earlier = append(resp.Earlier, resp.Exchange)
			h.start = time.Now()
		}
		attempts++
		s.exchange(ctx, req, h, deadline, resp)
		if resp.Err != nil {
			return nil, resp.Err
		}
		// What the retry policy reads: the status and Retry-After.
		return &http.Response{StatusCode: resp.Status, Header: ParseHeader(resp.RawHeader), Body: http.NoBody, Request: hr}, nil
	})
	client := &retryablehttp.Client{
		HTTPClient: &http.Client{Transport: send, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		RetryMax:   req.Retries,
		// A load test measures each attempt; retries come quickly rather
		// than backing off for seconds.
		RetryWaitMin: 10 * time.Millisecond,
		RetryWaitMax: 200 * time.Millisecond,
		CheckRetry:   retryablehttp.DefaultRetryPolicy,
		Backoff:      retryablehttp.DefaultBackoff,
		// The last attempt's answer is the call's, not a "giving up" error.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	hr, err := retryablehttp.NewRequestWithContext(ctx, h.method, h.url.String(), nil)
	if err != nil {
		resp.Exchange = Exchange{Method: h.method, URL: h.url, Start: h.start, Err: err}
		return
	}
	_, _ = client.Do(hr) // the outcome is in resp
	if attempts == 0 {   // cancelled before the first attempt
		resp.Exchange = Exchange{Method: h.method, URL: h.url, Start: h.start, Err: ctx.Err()}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// idempotent reports whether a request may be sent again without the
// server seeing a different outcome (RFC 9110 §9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// ParseHeader reads a raw HTTP/1.1 response header block: a status line,
// then "Name: value" lines.
func ParseHeader(raw []byte) http.Header {
	if raw == nil {
		return nil
	}
	h := http.Header{}
	lines := strings.Split(string(raw), "\n")
	for _, line := range lines[1:] {
		line = strings.TrimRight(line, "\r")
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			continue
		}
		key := http.CanonicalHeaderKey(strings.TrimSpace(name))
		h[key] = append(h[key], strings.TrimSpace(value))
	}
	return h
}

// headerValue returns the first value of header name in a raw header
// block, without parsing the rest.
func headerValue(raw []byte, name string) string {
	s := string(raw)
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
		line := s
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
}
