package transport_test

import (
	"context"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/transport"
)

// BenchmarkGet is one kept-alive GET and its answer over loopback, the
// client's side and a minimal server's together: the transport's cost
// per request next to the system calls it cannot avoid.
func BenchmarkGet(b *testing.B) {
	t := &testing.T{}
	srv := startRaw(t, func(int) what { return answer })
	tr := transport.New(transport.Options{})
	defer tr.Close()
	src := tr.Source(unbound)
	req := &transport.Request{Method: "GET", URL: mustURL(t, srv.url()), Timeout: 10 * time.Second, Redirects: 10}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if r := src.Do(ctx, req); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
