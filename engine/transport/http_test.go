package transport_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// what a rawServer does with a request.
type what int

const (
	answer  what = iota // 200 with a short body, kept alive
	closeIt             // close the connection without answering (FIN)
	resetIt             // reset the connection without answering (RST)
)

// rawServer is an HTTP/1.1 server on loopback whose answer to the n-th
// request of a connection (from 1) is decided by do. It counts every
// request it read, by method.
type rawServer struct {
	ln   net.Listener
	do   func(n int) what
	mu   sync.Mutex
	seen map[string]int
}

func startRaw(t testing.TB, do func(n int) what) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, do: do, seen: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		s.mu.Lock()
		s.seen[req.Method]++
		s.mu.Unlock()
		switch s.do(n) {
		case closeIt:
			return
		case resetIt:
			_ = c.(*net.TCPConn).SetLinger(0)
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

func (s *rawServer) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[method]
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() + "/" }

// exchanges returns every exchange of a response, earlier ones first.
func exchanges(r *transport.Response) []transport.Exchange {
	return append(append([]transport.Exchange(nil), r.Earlier...), r.Exchange)
}

func kinds(r *transport.Response) string {
	var out []string
	for _, x := range exchanges(r) {
		if x.Err != nil {
			out = append(out, string(transport.Classify(x.Err)))
		} else {
			out = append(out, fmt.Sprint(x.Status))
		}
	}
	return strings.Join(out, " ")
}

func TestConnectionReuse(t *testing.T) {
	srv, cc := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	tr := newTransport(t, transport.Options{})
	src := tr.Source(unbound)
	for i := 0; i < 5; i++ {
		r := get(t, src, srv.URL+"/x")
		if r.Err != nil || r.Status != 200 || string(r.Body) != "hello" {
			t.Fatalf("request %d: %+v", i, r)
		}
		if len(r.Earlier) != 0 {
			t.Errorf("request %d had earlier exchanges: %+v", i, r.Earlier)
		}
	}
	if opened, _ := cc.counts(); opened != 1 {
		t.Errorf("5 requests opened %d connections, want 1", opened)
	}
	// A source address never shares a connection with another.
	other := tr.Source(mustAddr("127.0.0.9"))
	if r := get(t, other, srv.URL+"/x"); r.Err != nil {
		t.Fatal(r.Err)
	}
	if opened, _ := cc.counts(); opened != 2 {
		t.Errorf("a second source address opened %d connections in all, want 2", opened)
	}
}

// TestStaleConnectionIsNotUsed: a server that closed a kept-alive
// connection while it was idle costs no failed request: the transport
// sees the close before writing and dials again.
func TestStaleConnectionIsNotUsed(t *testing.T) {
	srv, cc := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}), func(s *http.Server) { s.IdleTimeout = time.Millisecond })
	tr := newTransport(t, transport.Options{})
	src := tr.Source(unbound)
	if r := get(t, src, srv.URL); r.Err != nil {
		t.Fatal(r.Err)
	}
	waitFor(t, "the server to close the idle connection", func() bool { _, closed := cc.counts(); return closed == 1 })
	r := get(t, src, srv.URL)
	if r.Err != nil || len(r.Earlier) != 0 {
		t.Fatalf("after an idle close: %s, %v", kinds(r), r.Err)
	}
	if opened, _ := cc.counts(); opened != 2 {
		t.Errorf("opened %d connections, want 2", opened)
	}
}

// TestStaleConnectionResend: a kept-alive connection that breaks as a
// request goes out, before any answer, is retried once on a new
// connection for an idempotent method only; every request the server
// read is counted, once.
func TestStaleConnectionResend(t *testing.T) {
	for _, tc := range []struct {
		method string
		fault  what
		want   string // the exchanges, as kinds or statuses
	}{
		{"GET", closeIt, "200 eof 200"},
		{"GET", resetIt, "200 reset 200"},
		{"PUT", resetIt, "200 reset 200"},
		{"POST", closeIt, "200 eof"},
		{"POST", resetIt, "200 reset"},
	} {
		t.Run(tc.method+" "+map[what]string{closeIt: "close", resetIt: "reset"}[tc.fault], func(t *testing.T) {
			// The second request of every connection meets the fault.
			srv := startRaw(t, func(n int) what {
				if n == 2 {
					return tc.fault
				}
				return answer
			})
			tr := newTransport(t, transport.Options{})
			src := tr.Source(unbound)
			var all []string
			samples := 0
			for i := 0; i < 2; i++ {
				r := src.Do(context.Background(), &transport.Request{Method: tc.method, URL: mustURL(t, srv.url()), Body: []byte("b"), Timeout: 5 * time.Second})
				all = append(all, kinds(r))
				samples += len(exchanges(r))
			}
			if got := strings.Join(all, " "); got != tc.want {
				t.Errorf("exchanges = %q, want %q", got, tc.want)
			}
			if seen := srv.count(tc.method); seen != samples {
				t.Errorf("the server read %d requests, the transport counted %d", seen, samples)
			}
		})
	}
}

// TestResetVersusClose tells a reset connection from one the server
// closed, and both from an answer that is not HTTP.
func TestResetVersusClose(t *testing.T) {
	tgt := startTarget(t)
	closing := startRaw(t, func(int) what { return closeIt })
	tr := newTransport(t, transport.Options{})
	src := tr.Source(unbound)
	for _, tc := range []struct {
		url  string
		want metrics.Kind
	}{
		{"http://" + tgt.HTTPAddr() + "/reset", metrics.KindReset},
		{closing.url(), metrics.KindEOF},
		{"http://" + tgt.HTTPAddr() + "/garbage", metrics.KindProtocol},
		{"http://" + tgt.HTTPAddr() + "/reset-after/headers", metrics.KindReset},
		{"http://" + tgt.HTTPAddr() + "/reset-after/100", metrics.KindReset},
	} {
		r := get(t, src, tc.url)
		if got := transport.Classify(r.Err); got != tc.want {
			t.Errorf("%s: %v (%s), want %s", tc.url, r.Err, got, tc.want)
		}
		// A fresh connection that fails is not sent again.
		if len(r.Earlier) != 0 {
			t.Errorf("%s: re-sent on a fresh connection: %s", tc.url, kinds(r))
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if r := get(t, src, "http://"+addr+"/"); transport.Classify(r.Err) != metrics.KindRefused {
		t.Errorf("closed port: %v, want refused", r.Err)
	}
}

func TestTimeout(t *testing.T) {
	tgt := startTarget(t)
	tr := newTransport(t, transport.Options{})
	src := tr.Source(unbound)
	r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, "http://"+tgt.HTTPAddr()+"/delay/5000"), Timeout: 50 * time.Millisecond})
	if transport.Classify(r.Err) != metrics.KindTimeout {
		t.Fatalf("err = %v, want a timeout", r.Err)
	}
	if r.Latency < 50*time.Millisecond {
		t.Errorf("latency %v is shorter than the timeout", r.Latency)
	}
	if tr.Idle() != 0 {
		t.Errorf("a timed-out connection was kept for reuse")
	}
	// The end of the run ends a call at once, as cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	r = src.Do(ctx, &transport.Request{URL: mustURL(t, "http://"+tgt.HTTPAddr()+"/delay/5000"), Timeout: time.Minute})
	if !errors.Is(r.Err, context.Canceled) || transport.Classify(r.Err) != metrics.KindCancelled {
		t.Errorf("cancelled call: %v", r.Err)
	}
}

func TestHTTPSWithATestCertificate(t *testing.T) {
	var mu sync.Mutex
	var agents []string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.Proto+" "+r.UserAgent())
		mu.Unlock()
		fmt.Fprint(w, "secret")
	})
	srv, cc, pool := startTLS(t, handler)
	plain, _ := startHTTP(t, handler)

	tr := newTransport(t, transport.Options{TLS: &tls.Config{RootCAs: pool}})
	src := tr.Source(unbound)
	for i := 0; i < 3; i++ {
		r := get(t, src, srv.URL+"/s")
		if r.Err != nil || r.Status != 200 || string(r.Body) != "secret" || r.Proto != "HTTP/1.1" {
			t.Fatalf("https: %+v", r)
		}
		if i == 0 && r.Received < 500 {
			t.Errorf("the first exchange received %d bytes: the handshake is not counted", r.Received)
		}
	}
	if opened, _ := cc.counts(); opened != 1 {
		t.Errorf("3 HTTPS requests opened %d connections, want 1", opened)
	}
	if r := get(t, src, plain.URL+"/s"); r.Err != nil {
		t.Fatal(r.Err)
	}
	mu.Lock()
	if len(agents) != 4 || agents[0] != agents[3] || !strings.HasPrefix(agents[0], "HTTP/1.1 ntx/") {
		t.Errorf("HTTPS and HTTP requests differ: %q", agents)
	}
	mu.Unlock()

	// Without the test's root, the certificate is refused, unless the
	// request says not to verify it.
	bare := newTransport(t, transport.Options{}).Source(unbound)
	if r := get(t, bare, srv.URL); transport.Classify(r.Err) != metrics.KindTLS {
		t.Errorf("unknown certificate: %v (%s), want tls", r.Err, transport.Classify(r.Err))
	}
	r := bare.Do(context.Background(), &transport.Request{URL: mustURL(t, srv.URL), Insecure: true, Timeout: 5 * time.Second})
	if r.Err != nil || string(r.Body) != "secret" {
		t.Errorf("insecure: %v", r.Err)
	}
}

// TestCountedOnce: one call without retries is one exchange, however
// many calls; with retries, each attempt is one exchange and the server
// saw exactly as many.
func TestCountedOnce(t *testing.T) {
	tgt := startTarget(t)
	tr := newTransport(t, transport.Options{})
	src := tr.Source(unbound)
	n := 0
	for i := 0; i < 20; i++ {
		n += len(exchanges(get(t, src, "http://"+tgt.HTTPAddr()+"/health")))
	}
	r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, "http://"+tgt.HTTPAddr()+"/status/502"), Retries: 2, Timeout: 5 * time.Second})
	if got := kinds(r); got != "502 502 502" {
		t.Errorf("retried 502: %s", got)
	}
	n += len(exchanges(r))
	if seen := len(tgt.Seen()); seen != n || n != 23 {
		t.Errorf("the target saw %d requests, the transport counted %d, want 23", seen, n)
	}
}

func TestRedirects(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+string(body))
		mu.Unlock()
		var n int
		fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
		switch {
		case n == 0:
			fmt.Fprint(w, "landed")
		case n == 1:
			http.Redirect(w, r, "/hop/0", http.StatusSeeOther)
		default:
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusTemporaryRedirect)
		}
	})
	srv, _ := startHTTP(t, mux)
	src := newTransport(t, transport.Options{}).Source(unbound)
	r := src.Do(context.Background(), &transport.Request{Method: "POST", URL: mustURL(t, srv.URL+"/hop/3"), Body: []byte("data"), Redirects: 10, Timeout: 5 * time.Second})
	if r.Err != nil || string(r.Body) != "landed" || r.Redirects != 3 || r.URL.Path != "/hop/0" {
		t.Fatalf("followed: %v %q redirects=%d url=%v", r.Err, r.Body, r.Redirects, r.URL)
	}
	if got := kinds(r); got != "307 307 303 200" {
		t.Errorf("hops = %s", got)
	}
	mu.Lock()
	// 307 repeats the POST with its body; 303 turns it into a GET.
	if got := strings.Join(seen, "|"); got != "POST /hop/3 data|POST /hop/2 data|POST /hop/1 data|GET /hop/0 " {
		t.Errorf("server saw %s", got)
	}
	mu.Unlock()
	r = src.Do(context.Background(), &transport.Request{URL: mustURL(t, srv.URL+"/hop/3"), Timeout: 5 * time.Second})
	if r.Err != nil || r.Status != 307 || r.Redirects != 0 || len(r.Earlier) != 0 {
		t.Errorf("redirects 0: %d, %d hops", r.Status, r.Redirects)
	}
	r = src.Do(context.Background(), &transport.Request{URL: mustURL(t, srv.URL+"/hop/3"), Redirects: 1, Timeout: 5 * time.Second})
	if r.Status != 307 || r.Redirects != 1 || r.URL.Path != "/hop/2" {
		t.Errorf("redirects 1: %d after %d hops at %v", r.Status, r.Redirects, r.URL)
	}
}

// TestBytesOnTheSocket counts headers, not only bodies.
func TestBytesOnTheSocket(t *testing.T) {
	tgt := startTarget(t)
	src := newTransport(t, transport.Options{}).Source(unbound)
	get(t, src, "http://"+tgt.HTTPAddr()+"/health") // the connection is made
	r := get(t, src, "http://"+tgt.HTTPAddr()+"/health")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	// GET /health HTTP/1.1, Host and User-Agent; the answer's status
	// line, headers and body.
	want := int64(len("GET /health HTTP/1.1\r\nHost: " + tgt.HTTPAddr() + "\r\nUser-Agent: " + transport.UserAgent + "\r\n\r\n"))
	if r.Sent != want {
		t.Errorf("sent %d bytes, want %d", r.Sent, want)
	}
	if r.Received != int64(len(r.RawHeader))+r.BodySize || r.BodySize == 0 {
		t.Errorf("received %d bytes, want %d of headers and %d of body", r.Received, len(r.RawHeader), r.BodySize)
	}
}

func TestIdleConnectionsCloseAndAreCapped(t *testing.T) {
	srv, cc := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tr := newTransport(t, transport.Options{IdleTimeout: 20 * time.Millisecond})
	if r := get(t, tr.Source(unbound), srv.URL); r.Err != nil {
		t.Fatal(r.Err)
	}
	waitFor(t, "the idle connection to close", func() bool { _, closed := cc.counts(); return closed == 1 })
	if tr.Idle() != 0 {
		t.Errorf("%d idle connections left", tr.Idle())
	}

	capped := newTransport(t, transport.Options{MaxIdle: 2})
	for i := 1; i <= 5; i++ {
		if r := get(t, capped.Source(mustAddr(fmt.Sprintf("127.0.0.%d", i))), srv.URL); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if capped.Idle() != 2 {
		t.Errorf("%d idle connections, want the cap of 2", capped.Idle())
	}
	waitFor(t, "the connections over the cap to close", func() bool { _, closed := cc.counts(); return closed == 1+3 })
}

func TestInvalidHeaderIsNotSent(t *testing.T) {
	tgt := startTarget(t)
	src := newTransport(t, transport.Options{}).Source(unbound)
	r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, "http://"+tgt.HTTPAddr()+"/health"),
		Header: http.Header{"X-Bad": {"a\r\nX-Injected: 1"}}, Timeout: 5 * time.Second})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "invalid value") {
		t.Errorf("err = %v", r.Err)
	}
	for _, s := range tgt.Seen() {
		if s.Header.Get("X-Injected") != "" {
			t.Errorf("a header was injected")
		}
	}
}

// TestRetriesOfNetworkErrors: each attempt against a closed port is an
// exchange of its own, and the last one's error is the call's.
func TestRetriesOfNetworkErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	src := newTransport(t, transport.Options{}).Source(unbound)
	r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, "http://"+addr+"/"), Retries: 2, Timeout: 10 * time.Second})
	if got := kinds(r); got != "refused refused refused" {
		t.Errorf("exchanges = %q, want three refused attempts", got)
	}
	for _, x := range exchanges(r) {
		if x.Start.IsZero() || x.Latency <= 0 {
			t.Errorf("an attempt without its own timing: %+v", x)
		}
	}
}
