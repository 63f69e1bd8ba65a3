package stdlib

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// nullSink drops samples.
type nullSink struct{}

func (nullSink) Record(*metrics.Sample) {}
func (nullSink) Check(string, bool)     {}

// BenchmarkHTTPBuiltinCookies is http.get as a script calls it, over
// loopback to a net/http server (whose allocations count too): a user
// that is never sent a cookie (it has no jar, and must pay nothing for
// jars), and one whose session cookie the jar adds to every request.
func BenchmarkHTTPBuiltinCookies(b *testing.B) {
	for _, setCookie := range []bool{false, true} {
		name := "no-cookies"
		if setCookie {
			name = "session-cookie"
		}
		b.Run(name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if setCookie && r.Header.Get("Cookie") == "" {
					http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc", Path: "/"})
				}
				w.Write([]byte("ok"))
			}))
			defer srv.Close()
			tr := transport.New(transport.Options{})
			defer tr.Close()
			sess := &Session{Shared: &Shared{Ctx: context.Background(), Net: tr, Sink: nullSink{}}, User: NewUser(1, nil), Conns: transport.NewConns(),
				Source: SourceFunc(func(netip.Addr) (netip.Addr, func(), error) { return netip.Addr{}, func() {}, nil })}
			thread := &starlark.Thread{}
			sess.Attach(thread)
			fn := httpModule().Members["get"]
			args := starlark.Tuple{starlark.String(srv.URL + "/x")}
			kw := []starlark.Tuple{{starlark.String("discard_body"), starlark.True}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := starlark.Call(thread, fn, args, kw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
