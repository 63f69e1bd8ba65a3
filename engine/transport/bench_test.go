package transport_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/transport"
)

// BenchmarkGet is one kept-alive GET and its answer over loopback, the
// client's side and a minimal server's together: the transport's cost
// per request next to the system calls it cannot avoid.
func BenchmarkGet(b *testing.B) {
	srv := startRaw(b, func(int) what { return answer })
	tr := transport.New(transport.Options{})
	defer tr.Close()
	src := tr.Source(unbound)
	req := &transport.Request{Method: "GET", URL: mustURL(b, srv.url()), Timeout: 10 * time.Second, Redirects: 10}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if r := src.Do(ctx, req); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

// noCookies is a jar that never holds a cookie, as a user's is until a
// server sets one.
type noCookies struct{}

func (noCookies) Cookies(*url.URL) []*http.Cookie     { return nil }
func (noCookies) SetCookies(*url.URL, []*http.Cookie) {}

// BenchmarkGetJar is BenchmarkGet with a cookie jar: empty (what a user
// that was never sent a cookie pays: the scan for Set-Cookie), and
// holding one cookie for the URL (the Cookie header added).
func BenchmarkGetJar(b *testing.B) {
	srv := startRaw(b, func(int) what { return answer })
	u := mustURL(b, srv.url())
	full, _ := cookiejar.New(nil)
	full.SetCookies(u, []*http.Cookie{{Name: "session", Value: "0123456789abcdef"}})
	for _, c := range []struct {
		name string
		jar  http.CookieJar
	}{{"empty", noCookies{}}, {"one-cookie", full}} {
		b.Run(c.name, func(b *testing.B) {
			tr := transport.New(transport.Options{})
			defer tr.Close()
			src := tr.Source(unbound)
			req := &transport.Request{Method: "GET", URL: u, Timeout: 10 * time.Second, Redirects: 10, Jar: c.jar}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if r := src.Do(ctx, req); r.Err != nil {
					b.Fatal(r.Err)
				}
			}
		})
	}
}

// BenchmarkGet2 is one GET and its answer on a kept HTTP/2 connection
// over loopback, h2c and h2 over TLS (and a POST of 1 KiB), against a
// server that speaks
// frames and nothing more: the client's cost of a request next to the
// system calls, the TLS records and the server's few frames.
func BenchmarkGet2(b *testing.B) {
	for _, tc := range []struct {
		name string
		tls  bool
		body []byte // sent with POST when set
	}{{"h2c", false, nil}, {"h2", true, nil}, {"h2-post-1k", true, make([]byte, 1024)}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := startH2(b, tc.tls, &h2Server{})
			tr := transport.New(transport.Options{})
			defer tr.Close()
			// As in a run: the run's context closes the transport, and
			// requests need no watch of their own on it.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			defer tr.CloseWith(ctx)()
			conns := transport.NewConns()
			defer conns.Close()
			src := tr.Source(unbound)
			req := &transport.Request{Method: "GET", URL: mustURL(b, srv.url("/")), Version: transport.Version2, Insecure: true,
				Conns: conns, Timeout: 10 * time.Second, Redirects: 10}
			if tc.body != nil {
				req.Method, req.Body = "POST", tc.body
			}
			var resp transport.Response
			if src.DoInto(ctx, req, &resp); resp.Err != nil || resp.Proto != "HTTP/2.0" { // the handshake, outside the loop
				b.Fatal(resp.Err, resp.Proto)
			}
			b.ReportAllocs()
			for b.Loop() {
				if src.DoInto(ctx, req, &resp); resp.Err != nil {
					b.Fatal(resp.Err)
				}
			}
		})
	}
}
