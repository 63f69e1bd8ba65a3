package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// TestHTTP2 speaks HTTP/2 to the built-in target three ways (h2 by ALPN
// with version auto, h2 required, h2c by prior knowledge): the user's
// requests ride one connection, say HTTP/2.0, carry their headers,
// cookies and body, and are timed and counted as HTTP/1.1's are.
func TestHTTP2(t *testing.T) {
	srv := startTarget(t)
	tr := newTransport(t, transport.Options{TLS: &tls.Config{RootCAs: srv.CAPool()}})
	for _, tc := range []struct {
		name, base string
		version    transport.Version
		alpn       string
	}{
		{"auto", "https://" + srv.HTTPSAddr(), transport.VersionAuto, "h2"},
		{"forced", "https://" + srv.HTTPSAddr(), transport.Version2, "h2"},
		{"h2c", "http://" + srv.HTTPAddr(), transport.Version2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := transport.NewConns()
			defer conns.Close()
			jar, _ := cookiejar.New(nil)
			src := tr.Source(mustAddr("127.0.0.9"))
			do := func(method, path string, body []byte, hdr http.Header) *transport.Response {
				t.Helper()
				r := src.Do(context.Background(), &transport.Request{Method: method, URL: mustURL(t, tc.base+path), Body: body, Header: hdr,
					Version: tc.version, Conns: conns, Jar: jar, Timeout: 5 * time.Second})
				if r.Err != nil || r.Proto != "HTTP/2.0" {
					t.Fatalf("%s %s: %v, %q", method, path, r.Err, r.Proto)
				}
				return r
			}
			for i := range 3 {
				r := do("GET", "/asset?user="+tc.name, nil, http.Header{"X-Test": {"one", "two"}})
				if r.Status != 200 || !strings.Contains(string(r.Body), "127.0.0.9") || r.BodySize != int64(len(r.Body)) {
					t.Errorf("#%d: %d %q", i, r.Status, r.Body)
				}
				if h := transport.ParseHeader(r.RawHeader); h.Get("Content-Type") != "application/json" || !strings.HasPrefix(string(r.RawHeader), "HTTP/2.0 200 OK\r\n") {
					t.Errorf("#%d: header block %q", i, r.RawHeader)
				}
				ph := r.Timings
				setup := ph[metrics.PhaseConnect] > 0 && (tc.alpn == "") == (ph[metrics.PhaseTLS] == 0)
				if i == 0 && !setup || i > 0 && ph[metrics.PhaseConnect]+ph[metrics.PhaseTLS] != 0 || ph[metrics.PhaseWait] <= 0 {
					t.Errorf("#%d: phases %v", i, ph)
				}
				if r.Sent == 0 || r.Received < int64(len(r.Body)) || i == 0 && tc.alpn != "" && r.Received < 500 {
					t.Errorf("#%d: sent %d, received %d", i, r.Sent, r.Received)
				}
			}
			r := do("POST", "/asset", []byte(`{"a":1}`), http.Header{"Content-Type": {"application/json"}})
			if string(r.Body) != `{"a":1}` || transport.ParseHeader(r.RawHeader).Get("Content-Type") != "application/json" {
				t.Errorf("echo: %q, %q", r.Body, r.RawHeader)
			}
			do("GET", "/cookies/set?flavour="+tc.name, nil, nil)
			if r := do("GET", "/cookies", nil, nil); !strings.Contains(string(r.Body), tc.name) {
				t.Errorf("the cookie set did not come back: %q", r.Body)
			}
			flows := map[string]bool{}
			for _, v := range h3Seen(t, srv, "/asset") {
				if v.Query != "user="+tc.name {
					continue
				}
				flows[v.Addr] = true
				if v.Version != "HTTP/2.0" || v.ALPN != tc.alpn || v.Source != "127.0.0.9" || strings.Join(v.Header.Values("X-Test"), ",") != "one,two" {
					t.Errorf("the target saw %+v", v)
				}
			}
			if len(flows) != 1 {
				t.Errorf("3 requests came on %d connections, want 1", len(flows))
			}
		})
	}
}

// TestHTTP2HeaderBlocks: requests on one connection whose headers repeat,
// change and come back (the encoder's table filling, its entries found
// and evicted, a repeated block sent again as it was) each reach the
// server with exactly their own headers.
func TestHTTP2HeaderBlocks(t *testing.T) {
	srv := startTarget(t)
	tr := newTransport(t, transport.Options{})
	conns := transport.NewConns()
	defer conns.Close()
	big := strings.Repeat("v", 1500) // a few of these fill the 4 KiB table
	sets := []http.Header{
		{"X-A": {"1"}}, {"X-A": {"1"}}, {"X-A": {"1"}},
		{"X-A": {"2"}}, {"X-A": {"1"}}, {"X-A": {"1"}, "X-B": {big}},
		{"X-C": {big + "c"}}, {"X-D": {big + "d"}}, {"X-A": {"1"}}, {"X-A": {"1"}},
		{}, {}, {"X-A": {"1"}},
		// Several names, in whatever order the map gives them, and one
		// name's values in theirs.
		{"X-A": {"1"}, "X-E": {"e"}, "X-F": {"f2", "f1"}}, {"X-A": {"1"}, "X-E": {"e"}, "X-F": {"f2", "f1"}},
		{"X-A": {"1"}, "X-E": {"e"}, "X-F": {"f2", "f1"}}, {"X-E": {"e"}, "X-F": {"f1", "f2"}},
	}
	// One URL for all: a repeated block is the same block.
	u := mustURL(t, "http://"+srv.HTTPAddr()+"/asset")
	for i, hdr := range sets {
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: u, Header: hdr, Version: transport.Version2, Conns: conns, Timeout: 5 * time.Second})
		if r.Err != nil {
			t.Fatalf("request %d: %v", i, r.Err)
		}
	}
	seen := h3Seen(t, srv, "/asset") // in order: the requests were
	flows := map[string]bool{}
	for _, v := range seen {
		flows[v.Addr] = true
	}
	if len(seen) != len(sets) {
		t.Fatalf("the target saw %d requests, want %d", len(seen), len(sets))
	}
	for i, hdr := range sets {
		got := seen[i].Header
		for _, k := range []string{"X-A", "X-B", "X-C", "X-D", "X-E", "X-F"} {
			if strings.Join(got.Values(k), ",") != strings.Join(hdr.Values(k), ",") {
				t.Errorf("request %d: %s is %.20q, sent %.20q", i, k, got.Values(k), hdr.Values(k))
			}
		}
	}
	if len(flows) != 1 {
		t.Errorf("%d connections, want 1", len(flows))
	}
}

// TestHTTP2Connections: through a CONNECT proxy (h2 and h2c), the
// user's requests share one tunnelled connection; with keep-alive off
// each request has a connection of its own, closed after it.
func TestHTTP2Connections(t *testing.T) {
	srv := startTarget(t)
	proxy, err := transport.ParseProxy("http://" + srv.ProxyAddr())
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(t, transport.Options{TLS: &tls.Config{RootCAs: srv.CAPool()}})
	for _, tc := range []struct {
		name, base  string
		proxy       *url.URL
		noKeepAlive bool
		flows       int
	}{
		{"h2 by proxy", "https://" + srv.HTTPSAddr(), proxy, false, 1},
		{"h2c by proxy", "http://" + srv.HTTPAddr(), proxy, false, 1},
		{"h2 without keep-alive", "https://" + srv.HTTPSAddr(), nil, true, 3},
		{"h2c without keep-alive", "http://" + srv.HTTPAddr(), nil, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := transport.NewConns()
			defer conns.Close()
			for range 3 {
				r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, tc.base+"/asset?case="+url.QueryEscape(tc.name)),
					Version: transport.Version2, Proxy: tc.proxy, NoKeepAlive: tc.noKeepAlive, Conns: conns, Timeout: 5 * time.Second})
				if r.Err != nil || r.Proto != "HTTP/2.0" || r.Status != 200 {
					t.Fatalf("%v %q %d", r.Err, r.Proto, r.Status)
				}
				if tc.noKeepAlive && r.Timings[metrics.PhaseConnect] <= 0 {
					t.Errorf("keep-alive off, and no connect phase: %v", r.Timings)
				}
			}
			flows := map[string]bool{}
			for _, v := range h3Seen(t, srv, "/asset") {
				if v.Query == "case="+url.QueryEscape(tc.name) {
					flows[v.Addr] = true
				}
			}
			if len(flows) != tc.flows {
				t.Errorf("3 requests came on %d connections, want %d", len(flows), tc.flows)
			}
		})
	}
	if tr.Idle() != 0 {
		t.Errorf("%d idle connections kept by the transport: HTTP/2 ones are the user's", tr.Idle())
	}
}

// TestHTTP2FlowControl sends and receives bodies larger than the
// protocol's initial 64 KiB windows, and than this client's own stream
// window, to a net/http server: both sides wait for and give back
// window as they go, and every byte arrives.
func TestHTTP2FlowControl(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr := newTransport(t, transport.Options{})
	conns := transport.NewConns()
	defer conns.Close()
	for _, tc := range []struct {
		size    int
		discard bool
	}{{70 << 10, false}, {3 << 20, false}, {3 << 20, true}, {5, false}} {
		body := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{Method: "POST", URL: mustURL(t, srv.URL), Body: body,
			Insecure: true, Version: transport.Version2, Conns: conns, DiscardBody: tc.discard, Timeout: 20 * time.Second})
		if r.Err != nil || r.Proto != "HTTP/2.0" || r.BodySize != int64(tc.size) {
			t.Fatalf("%d bytes: %v %q, %d bytes back", tc.size, r.Err, r.Proto, r.BodySize)
		}
		if !tc.discard && !bytes.Equal(r.Body, body) || tc.discard && r.Body != nil {
			t.Errorf("%d bytes (discard %v): %d bytes kept, not the ones sent", tc.size, tc.discard, len(r.Body))
		}
		if r.Sent < int64(tc.size) || r.Received < int64(tc.size) {
			t.Errorf("%d bytes: sent %d, received %d", tc.size, r.Sent, r.Received)
		}
	}
}

// TestHTTP2ClientFrames: the client's SETTINGS turn push off and give
// each stream a window far above the protocol's 64 KiB, and the window
// of a 3 MiB answer read in 16 KiB frames is given back in a few
// WINDOW_UPDATEs, not one per frame.
func TestHTTP2ClientFrames(t *testing.T) {
	body := make([]byte, 3<<20)
	var updates map[uint32]int
	var srv *h2Server
	srv = startH2(t, false, &h2Server{onRequest: func(sc *h2ServerConn, r *h2ServerRequest) {
		if r.N == 1 {
			sc.respond(r.StreamID, 200, body)
			return
		}
		// The server reads in order: the first answer's updates came
		// before this request.
		srv.mu.Lock()
		updates = maps.Clone(srv.updates)
		srv.mu.Unlock()
		sc.respond(r.StreamID, 200, nil)
	}})
	tr := newTransport(t, transport.Options{})
	conns := transport.NewConns()
	defer conns.Close()
	for i := range 2 {
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, srv.url("/")), Version: transport.Version2,
			Conns: conns, DiscardBody: true, Timeout: 10 * time.Second})
		if r.Err != nil || i == 0 && r.BodySize != int64(len(body)) {
			t.Fatalf("request %d: %v, %d bytes", i+1, r.Err, r.BodySize)
		}
	}
	srv.mu.Lock()
	settings := map[http2.SettingID]uint32{}
	for _, set := range srv.clientSettings {
		settings[set.ID] = set.Val
	}
	srv.mu.Unlock()
	if v, ok := settings[http2.SettingEnablePush]; !ok || v != 0 || settings[http2.SettingInitialWindowSize] < 1<<20 {
		t.Errorf("the client's SETTINGS: %v", settings)
	}
	// 3 MiB in 16 KiB frames is 192 frames; a stream update per half
	// window, the connection's (first raised past 64 KiB at the start)
	// per half of its own.
	if n := updates[1]; n < 1 || n > 8 {
		t.Errorf("%d WINDOW_UPDATEs for the stream of a 3 MiB answer", n)
	}
	if n := updates[0]; n < 1 || n > 2 {
		t.Errorf("%d WINDOW_UPDATEs for the connection", n)
	}
}

// TestHTTP2SmallPeerWindow: a server that gives each stream a window of
// 1000 bytes and takes frames of 16 KiB gets a 100 KB body in pieces as
// it opens the window, whole.
func TestHTTP2SmallPeerWindow(t *testing.T) {
	srv := startH2(t, false, &h2Server{
		settings: []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1000}},
		onRequest: func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.respond(r.StreamID, 200, []byte(strconv.Itoa(len(r.Body))+" "+r.header("content-length")))
		},
	})
	tr := newTransport(t, transport.Options{})
	r := tr.Source(unbound).Do(context.Background(), &transport.Request{Method: "PUT", URL: mustURL(t, srv.url("/")), Body: make([]byte, 100_000),
		Version: transport.Version2, Timeout: 10 * time.Second})
	if r.Err != nil || string(r.Body) != "100000 100000" {
		t.Fatalf("%v, %q", r.Err, r.Body)
	}
}

// TestHTTP2LargeHeaders: a request header larger than a frame goes out
// in CONTINUATION frames; an answer's header block is held to
// MaxHeaderBytes whether it ends a little over the limit or never ends
// (too_large, having read little more than the limit); a request over
// the server's SETTINGS_MAX_HEADER_LIST_SIZE is not sent.
func TestHTTP2LargeHeaders(t *testing.T) {
	tgt := startTarget(t)
	tr := newTransport(t, transport.Options{TLS: &tls.Config{RootCAs: tgt.CAPool()}})
	big := strings.Repeat("b", 40<<10)
	r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, "https://"+tgt.HTTPSAddr()+"/asset?big"),
		Header: http.Header{"X-Big": {big}}, Version: transport.Version2, Timeout: 5 * time.Second})
	if r.Err != nil || r.Status != 200 {
		t.Fatalf("a 40 KiB request header: %v %d", r.Err, r.Status)
	}
	if seen := h3Seen(t, tgt, "/asset"); seen[len(seen)-1].Header.Get("X-Big") != big {
		t.Errorf("the target did not get the 40 KiB header")
	}

	field := func(n int) string { return strings.Repeat("f", n) }
	srv := startH2(t, false, &h2Server{
		settings: []http2.Setting{{ID: http2.SettingMaxHeaderListSize, Val: 4096}},
		onRequest: func(sc *h2ServerConn, r *h2ServerRequest) {
			n, _ := strconv.Atoi(strings.TrimPrefix(r.header(":path"), "/"))
			if n > 0 {
				fields := []string{":status", "200", "content-length", "0"}
				for ; n > 0; n -= 4096 {
					fields = append(fields, "x-fill", field(min(n, 4096)))
				}
				sc.hbuf.Reset()
				for i := 0; i < len(fields); i += 2 {
					_ = sc.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1], Sensitive: true})
				}
				block := sc.hbuf.Bytes()
				frag := block[:min(len(block), 16384)]
				block = block[len(frag):]
				_ = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: r.StreamID, BlockFragment: frag, EndStream: true, EndHeaders: len(block) == 0})
				for len(block) > 0 {
					frag = block[:min(len(block), 16384)]
					block = block[len(frag):]
					_ = sc.fr.WriteContinuation(r.StreamID, len(block) == 0, frag)
				}
				return
			}
			if r.header(":path") == "/empty" {
				// Without end, and without a byte of header: empty
				// CONTINUATION frames, until the client goes away.
				_ = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: r.StreamID, BlockFragment: []byte{0x88}})
				for sc.fr.WriteContinuation(r.StreamID, false, nil) == nil && sc.bw.Flush() == nil {
				}
				return
			}
			// Without end: one header field after another, until the
			// client goes away.
			sc.hbuf.Reset()
			_ = sc.enc.WriteField(hpack.HeaderField{Name: "x-fill", Value: field(1000), Sensitive: true})
			frag := bytes.Repeat(sc.hbuf.Bytes(), 16)
			_ = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: r.StreamID, BlockFragment: frag})
			for sc.fr.WriteContinuation(r.StreamID, false, frag) == nil && sc.bw.Flush() == nil {
			}
		},
	})
	conns := transport.NewConns()
	defer conns.Close()
	for _, tc := range []struct {
		path string
		hdr  int
		want metrics.Kind
	}{
		{"/1", 100, metrics.KindNone},
		{"/1", 5000, metrics.KindProtocol}, // over the server's 4096, known from its SETTINGS
		{"/40000", 0, metrics.KindNone},
		{"/70000", 0, metrics.KindTooLarge},
		{"/endless", 0, metrics.KindTooLarge},
		{"/empty", 0, metrics.KindTooLarge}, // each frame's 9 bytes count: not a timeout
	} {
		var hdr http.Header
		if tc.hdr > 0 {
			hdr = http.Header{"X-Big": {field(tc.hdr)}}
		}
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, srv.url(tc.path)), Header: hdr,
			Version: transport.Version2, Conns: conns, Timeout: 10 * time.Second})
		if k := transport.Classify(r.Err); k != tc.want {
			t.Errorf("%s with a %d-byte header: %v (%s), want %s", tc.path, tc.hdr, r.Err, k, tc.want)
		}
		if r.Received > transport.MaxHeaderBytes+256<<10 {
			t.Errorf("%s: read %d bytes for a limit of %d", tc.path, r.Received, transport.MaxHeaderBytes)
		}
		if tc.want == metrics.KindNone && tc.path == "/40000" && len(r.RawHeader) < 40000 {
			t.Errorf("%s: a header block of %d bytes", tc.path, len(r.RawHeader))
		}
	}
}

// TestHTTP2Endless: an answer without end is cut at max_response (kind
// too_large), having read and kept no more than the limit and a frame;
// the connection it came on carries the user's next request once the
// server has stopped the stream.
func TestHTTP2Endless(t *testing.T) {
	tgt := startTarget(t)
	tr := newTransport(t, transport.Options{TLS: &tls.Config{RootCAs: tgt.CAPool()}})
	conns := transport.NewConns()
	defer conns.Close()
	src := tr.Source(mustAddr("127.0.0.10"))
	for _, discard := range []bool{false, true} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, "https://"+tgt.HTTPSAddr()+"/endless"), MaxResponse: 1 << 20,
			DiscardBody: discard, Version: transport.Version2, Conns: conns, Timeout: 10 * time.Second})
		runtime.ReadMemStats(&after)
		if transport.Classify(r.Err) != metrics.KindTooLarge || r.Body != nil || r.BodySize > 1<<20+16<<10 {
			t.Errorf("discard %v: %v, %d bytes kept, %d read", discard, r.Err, len(r.Body), r.BodySize)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
			t.Errorf("discard %v: %d bytes allocated for a limit of 1 MiB", discard, n)
		}
		r = src.Do(context.Background(), &transport.Request{URL: mustURL(t, "https://"+tgt.HTTPSAddr()+"/asset?after-endless"),
			Version: transport.Version2, Conns: conns, Timeout: 10 * time.Second})
		if r.Err != nil || len(r.Earlier) != 0 || r.Timings[metrics.PhaseConnect] != 0 {
			t.Errorf("the next request: %v, %d earlier, phases %v (a new connection?)", r.Err, len(r.Earlier), r.Timings)
		}
	}
}

// TestHTTP2Hostile: each way a server can break HTTP/2 is counted under
// its kind, a request the server did not process is sent again on a new
// connection whatever its method, and a failure of one stream leaves the
// connection to the user's next request.
func TestHTTP2Hostile(t *testing.T) {
	ok := func(sc *h2ServerConn, r *h2ServerRequest) { sc.respond(r.StreamID, 200, []byte("ok")) }
	// first does f to the first request of the first connection, and
	// answers the others.
	first := func(f func(sc *h2ServerConn, r *h2ServerRequest)) func(sc *h2ServerConn, r *h2ServerRequest) {
		return func(sc *h2ServerConn, r *h2ServerRequest) {
			if sc.num == 1 && r.N == 1 {
				f(sc, r)
				return
			}
			ok(sc, r)
		}
	}
	frame := func(typ http2.FrameType, flags http2.Flags, stream uint32, payload []byte) []byte {
		n := len(payload)
		return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), byte(typ), byte(flags),
			byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}, payload...)
	}
	for _, tc := range []struct {
		name   string
		method string
		do     func(sc *h2ServerConn, r *h2ServerRequest)
		want   []string // each request's exchanges: kinds(resp)
		conns  int      // connections the server saw
	}{
		{"answers", "GET", ok, []string{"200", "200"}, 1},
		{"stream reset", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WriteRSTStream(r.StreamID, http2.ErrCodeInternal)
		}), []string{"reset", "200"}, 1},
		{"stream refused", "POST", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WriteRSTStream(r.StreamID, http2.ErrCodeRefusedStream)
		}), []string{"reset 200", "200"}, 1},
		{"goaway before answering", "POST", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WriteGoAway(0, http2.ErrCodeNo, []byte("shutting down"))
		}), []string{"eof 200", "200"}, 2},
		{"goaway after answering", "GET", func(sc *h2ServerConn, r *h2ServerRequest) {
			ok(sc, r)
			_ = sc.fr.WriteGoAway(r.StreamID, http2.ErrCodeNo, nil)
		}, []string{"200", "200"}, 2},
		{"goaway, then the stream answered", "GET", func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WriteGoAway(r.StreamID, http2.ErrCodeNo, nil)
			ok(sc, r)
		}, []string{"200", "200"}, 2},
		{"closed before answering", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.c.(*net.TCPConn).CloseWrite() // a FIN, not a reset for what it did not read
		}), []string{"eof", "200"}, 2},
		{"not HTTP/2", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.raw([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
		}), []string{"protocol", "200"}, 2},
		{"frame too large", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.raw(frame(http2.FrameData, 0, r.StreamID, make([]byte, 1<<20)))
		}), []string{"protocol", "200"}, 2},
		{"DATA on stream 0", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.raw(frame(http2.FrameData, 0, 0, []byte("x")))
		}), []string{"protocol", "200"}, 2},
		{"DATA before HEADERS", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WriteData(r.StreamID, true, []byte("x"))
		}), []string{"protocol", "200"}, 2},
		{"HEADERS on a stream never opened", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.headers(r.StreamID+1, true, ":status", "200")
		}), []string{"protocol", "200"}, 2},
		{"PUSH_PROMISE", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WritePushPromise(http2.PushPromiseParam{StreamID: r.StreamID, PromiseID: 2, BlockFragment: []byte{0x82}, EndHeaders: true})
		}), []string{"protocol", "200"}, 2},
		{"not HPACK", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: r.StreamID, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff}, EndHeaders: true})
		}), []string{"protocol", "200"}, 2},
		{"window overflow", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			_ = sc.fr.WriteWindowUpdate(0, 1<<31-1)
		}), []string{"protocol", "200"}, 2},
		{"no :status", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.headers(r.StreamID, true, "content-type", "text/plain")
		}), []string{"protocol", "200"}, 1},
		{"a header name in upper case", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.headers(r.StreamID, true, ":status", "200", "X-Upper", "1")
		}), []string{"protocol", "200"}, 1},
		{"a pseudo-header field after a regular one", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.headers(r.StreamID, true, "x-a", "1", ":status", "200")
		}), []string{"protocol", "200"}, 1},
		{"body shorter than content-length", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.headers(r.StreamID, false, ":status", "200", "content-length", "10")
			_ = sc.fr.WriteData(r.StreamID, true, []byte("short"))
		}), []string{"eof", "200"}, 1},
		{"body longer than content-length", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.headers(r.StreamID, false, ":status", "200", "content-length", "2")
			_ = sc.fr.WriteData(r.StreamID, true, []byte("longer"))
		}), []string{"protocol", "200"}, 1},
		{"a flood of PINGs", "GET", first(func(sc *h2ServerConn, r *h2ServerRequest) {
			for sc.fr.WritePing(false, [8]byte{2}) == nil && sc.bw.Flush() == nil {
			}
		}), []string{"protocol", "200"}, 2},
		{"interim answers, trailers, a ping, an unknown frame", "GET", func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.headers(r.StreamID, false, ":status", "103", "link", "</style.css>")
			_ = sc.fr.WritePing(false, [8]byte{1})
			sc.raw(frame(0xfe, 0, 0, []byte("ignore me")))
			sc.headers(r.StreamID, false, ":status", "200")
			_ = sc.fr.WriteData(r.StreamID, false, []byte("o"))
			_ = sc.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20})
			_ = sc.fr.WriteData(r.StreamID, false, []byte("k"))
			sc.headers(r.StreamID, true, "x-trailer", "t")
		}, []string{"200", "200"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startH2(t, false, &h2Server{onRequest: tc.do})
			tr := newTransport(t, transport.Options{})
			conns := transport.NewConns()
			defer conns.Close()
			for i, want := range tc.want {
				r := tr.Source(unbound).Do(context.Background(), &transport.Request{Method: tc.method, URL: mustURL(t, srv.url("/")), Body: []byte("body"),
					Version: transport.Version2, Conns: conns, Timeout: 5 * time.Second})
				if got := kinds(r); got != want {
					t.Errorf("request %d: %s (%v), want %s", i+1, got, r.Err, want)
				}
				if r.Err == nil && string(r.Body) != "ok" {
					t.Errorf("request %d: body %q", i+1, r.Body)
				}
			}
			if n := srv.connections(); n != tc.conns {
				t.Errorf("%d connections, want %d", n, tc.conns)
			}
			if strings.Contains(tc.name, "ping") {
				waitFor(t, "the PINGs' acknowledgements", func() bool { return srv.acks() == len(tc.want) })
			}
		})
	}
}

// TestHTTP2IdleClose: a connection the server closed while it was idle,
// with a GOAWAY or without, is found closed before the next request is
// sent on it: that request goes on a new connection at once, not after
// a failed attempt.
func TestHTTP2IdleClose(t *testing.T) {
	for _, goAway := range []bool{false, true} {
		srv := startH2(t, false, &h2Server{onRequest: func(sc *h2ServerConn, r *h2ServerRequest) {
			sc.respond(r.StreamID, 200, []byte("ok"))
			sc.flush()
			time.Sleep(100 * time.Millisecond) // idle, then closed
			if goAway {
				_ = sc.fr.WriteGoAway(r.StreamID, http2.ErrCodeNo, nil)
				sc.flush()
			}
			_ = sc.c.(*net.TCPConn).CloseWrite()
		}})
		tr := newTransport(t, transport.Options{})
		conns := transport.NewConns()
		for i := range 2 {
			if i > 0 {
				time.Sleep(h2IdleCheck + 200*time.Millisecond)
			}
			r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, srv.url("/")), Version: transport.Version2, Conns: conns, Timeout: 5 * time.Second})
			if got := kinds(r); got != "200" {
				t.Errorf("goaway %v, request %d: %s (%v)", goAway, i+1, got, r.Err)
			}
		}
		conns.Close()
		if srv.connections() != 2 {
			t.Errorf("goaway %v: %d connections, want 2", goAway, srv.connections())
		}
	}
}

// TestHTTP2IdlePastDeadline: a healthy connection left idle past its
// last request's deadline (a user thinking longer than its timeout) is
// looked at and used again, not redialled.
func TestHTTP2IdlePastDeadline(t *testing.T) {
	srv := startH2(t, false, &h2Server{onRequest: func(sc *h2ServerConn, r *h2ServerRequest) {
		sc.respond(r.StreamID, 200, []byte("ok"))
		sc.flush()
	}})
	tr := newTransport(t, transport.Options{})
	conns := transport.NewConns()
	defer conns.Close()
	for i := range 2 {
		if i > 0 {
			time.Sleep(h2IdleCheck + 200*time.Millisecond) // past the 300 ms deadline, and looked at
		}
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, srv.url("/")), Version: transport.Version2, Conns: conns, Timeout: 300 * time.Millisecond})
		if got := kinds(r); got != "200" {
			t.Errorf("request %d: %s (%v)", i+1, got, r.Err)
		}
	}
	if srv.connections() != 1 {
		t.Errorf("%d connections, want 1: the idle connection was not used again", srv.connections())
	}
}

// h2IdleCheck is the transport's: how long a connection is idle before
// it is looked at before use.
const h2IdleCheck = transport.H2IdleCheck

// TestHTTP2NoServerPreface: a server whose first frame is not SETTINGS
// does not speak HTTP/2 (protocol), and each attempt has a connection of
// its own.
func TestHTTP2NoServerPreface(t *testing.T) {
	srv := startH2(t, false, &h2Server{noPreface: true})
	tr := newTransport(t, transport.Options{})
	conns := transport.NewConns()
	defer conns.Close()
	for i := range 2 {
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, srv.url("/")), Version: transport.Version2, Conns: conns, Timeout: 5 * time.Second})
		if got := kinds(r); got != "protocol" || !strings.Contains(r.Err.Error(), "SETTINGS") {
			t.Errorf("request %d: %s (%v)", i+1, got, r.Err)
		}
	}
	if srv.connections() != 2 {
		t.Errorf("%d connections, want 2", srv.connections())
	}
}

// TestHTTP2Timeout: a server that never answers is a timeout at the
// request's deadline, and its connection is not used again.
func TestHTTP2Timeout(t *testing.T) {
	srv := startH2(t, false, &h2Server{onRequest: func(sc *h2ServerConn, r *h2ServerRequest) {
		if sc.num > 1 {
			sc.respond(r.StreamID, 200, nil)
		}
	}})
	tr := newTransport(t, transport.Options{})
	conns := transport.NewConns()
	defer conns.Close()
	for i, want := range []metrics.Kind{metrics.KindTimeout, metrics.KindNone} {
		r := tr.Source(unbound).Do(context.Background(), &transport.Request{URL: mustURL(t, srv.url("/")),
			Version: transport.Version2, Conns: conns, Timeout: 300 * time.Millisecond})
		if k := transport.Classify(r.Err); k != want {
			t.Errorf("request %d: %v (%s), want %s", i+1, r.Err, k, want)
		}
	}
	if srv.connections() != 2 {
		t.Errorf("%d connections, want 2: a timed-out connection is not reused", srv.connections())
	}
}
