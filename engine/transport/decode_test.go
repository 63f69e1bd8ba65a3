package transport_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/target/targettest"
	"github.com/ntx-dev/ntx/engine/transport"
)

// TestGzipDecoding: a gzipped answer is decoded into Body (kept or
// discarded), a body that inflates past max_response fails as too_large
// while only its compressed bytes crossed the socket, and a corrupt one
// fails with kind decode.
func TestGzipDecoding(t *testing.T) {
	srv := targettest.Start(t)
	tr := transport.New(transport.Options{})
	defer tr.Close()
	src := tr.Source(unbound)
	for _, v := range []transport.Version{transport.Version11, transport.Version2} { // h2c for "2"
		get := func(path string, maxResponse int64, discard bool) *transport.Response {
			return src.Do(context.Background(), &transport.Request{
				URL: mustURL(t, "http://"+srv.HTTPAddr()+path), Header: http.Header{"Accept-Encoding": {"gzip"}}, Version: v,
				Timeout: 10 * time.Second, MaxResponse: maxResponse, Decompress: true, DiscardBody: discard})
		}
		r := get("/gzip?size=100000", 0, false)
		if r.Err != nil || !strings.Contains(string(r.Body), strings.Repeat("a", 100000)) || r.Received > 10000 {
			t.Errorf("%s decoded: err %v, %d bytes decoded from %d received", r.Proto, r.Err, len(r.Body), r.Received)
		}
		if r := get("/gzip?size=100000", 0, true); r.Err != nil || r.Body != nil {
			t.Errorf("%s discarded: err %v, body of %d bytes", r.Proto, r.Err, len(r.Body))
		}
		r = get("/gzip?size=100000", 50000, false)
		if k := transport.Classify(r.Err); k != metrics.KindTooLarge || r.Received > 10000 {
			t.Errorf("%s inflating past max_response: %v (%s), %d bytes received", r.Proto, r.Err, k, r.Received)
		}
		for _, discard := range []bool{false, true} {
			r = get("/gzip?corrupt=1", 0, discard)
			if k := transport.Classify(r.Err); k != metrics.KindDecode || !strings.Contains(r.Err.Error(), "gzip") {
				t.Errorf("%s corrupt (discard %v): %v (%s)", r.Proto, discard, r.Err, k)
			}
		}
	}
}

// TestCorruptGzipEveryVersion: a corrupt gzip body whose caller discards
// it is still decoded and fails as kind decode over HTTP/1.1, HTTP/2 and
// HTTP/3 alike.
func TestCorruptGzipEveryVersion(t *testing.T) {
	srv := targettest.Start(t)
	tr := newTransport(t, transport.Options{})
	prof := h3Profile(t, srv, transport.TLSSettings{})
	for _, v := range []transport.Version{transport.Version11, transport.Version2, transport.Version3} {
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{
			URL: mustURL(t, "https://"+srv.HTTPSAddr()+"/gzip?corrupt=1"), Header: http.Header{"Accept-Encoding": {"gzip"}},
			Version: v, TLS: prof, Timeout: 10 * time.Second, Decompress: true, DiscardBody: true})
		if k := transport.Classify(r.Err); k != metrics.KindDecode {
			t.Errorf("version %v (%s): %v (%s), want decode", v, r.Proto, r.Err, k)
		}
	}
}

// TestCorruptGzip5xx: a 5xx answer with a corrupt gzip body is counted
// by its status (no error), while a 200 with the same body is decode.
func TestCorruptGzip5xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		if r.URL.Path == "/500" {
			w.WriteHeader(500)
		}
		w.Write([]byte("this is not gzip at all"))
	}))
	defer srv.Close()
	tr := newTransport(t, transport.Options{})
	for path, want := range map[string]metrics.Kind{"/500": metrics.KindNone, "/200": metrics.KindDecode} {
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, srv.URL+path),
			Header: http.Header{"Accept-Encoding": {"gzip"}}, Timeout: 10 * time.Second, Decompress: true})
		if k := transport.Classify(r.Err); k != want {
			t.Errorf("%s: %v (%s), want %q", path, r.Err, k, want)
		}
	}
}
