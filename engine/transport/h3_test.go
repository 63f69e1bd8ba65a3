package transport_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/target"
	"github.com/ntx-dev/ntx/engine/transport"
)

// h3Profile is a TLS profile that trusts srv's certificate.
func h3Profile(t *testing.T, srv *target.Server, s transport.TLSSettings) *transport.TLSProfile {
	t.Helper()
	s.CA = "ca.pem"
	p, err := transport.NewTLSProfile(s, func(string) ([]byte, error) { return srv.CAPEM(), nil })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// h3Seen returns the HTTP requests the target saw with path, after
// giving its recorder a moment to catch up with the last answer.
func h3Seen(t *testing.T, srv *target.Server, path string) []target.Seen {
	t.Helper()
	var out []target.Seen
	waitFor(t, "the target to record "+path, func() bool {
		out = out[:0]
		for _, s := range srv.Seen() {
			if s.Proto == "http" && s.Path == path {
				out = append(out, s)
			}
		}
		return len(out) > 0
	})
	return out
}

// TestHTTP3 sends requests over HTTP/3 from two bound addresses: each
// source's requests ride one QUIC connection of its own, which the
// target sees over UDP from that address, with ALPN h3 and TLS 1.3; the
// response says HTTP/3.0 and its bytes are counted on the socket, the
// first request's with the handshake.
func TestHTTP3(t *testing.T) {
	srv := startTarget(t)
	tr := newTransport(t, transport.Options{})
	prof := h3Profile(t, srv, transport.TLSSettings{})
	u := mustURL(t, "https://"+srv.HTTPSAddr()+"/asset")
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		conns := transport.NewConns()
		s := tr.Source(mustAddr(src))
		for i := range 3 {
			resp := s.Do(context.Background(), &transport.Request{URL: u, Version: transport.Version3, TLS: prof, Conns: conns, Timeout: 5 * time.Second})
			if resp.Err != nil || resp.Status != 200 || resp.Proto != "HTTP/3.0" {
				t.Fatalf("%s #%d: %v %d %q", src, i, resp.Err, resp.Status, resp.Proto)
			}
			if !strings.Contains(string(resp.Body), src) {
				t.Errorf("%s: body %q does not name the source", src, resp.Body)
			}
			// QUIC pads a client's first flight to 1200 bytes: the
			// handshake is in the first exchange's count. (A later one
			// may carry a path MTU probe: its size says nothing.)
			if i == 0 && (resp.Sent < 1200 || resp.Received < 1000) || resp.Sent == 0 || resp.Received == 0 {
				t.Errorf("%s #%d: sent %d, received %d bytes", src, i, resp.Sent, resp.Received)
			}
			// The QUIC handshake is the first exchange's connect phase
			// (it makes the connection and TLS at once); a reused
			// connection has none.
			ph := resp.Timings
			if i == 0 && ph[metrics.PhaseConnect] <= 0 || i > 0 && ph[metrics.PhaseConnect] != 0 ||
				ph[metrics.PhaseTLS] != 0 || ph[metrics.PhaseDNS] != 0 || ph[metrics.PhaseWait] <= 0 {
				t.Errorf("%s #%d: phases %v", src, i, ph)
			}
			if h := transport.ParseHeader(resp.RawHeader); h.Get("Content-Type") == "" {
				t.Errorf("%s: header block %q", src, resp.RawHeader)
			}
		}
		conns.Close()
	}
	seen := h3Seen(t, srv, "/asset")
	addrs := map[string]string{} // source address -> the one flow it used
	for _, v := range seen {
		if v.Version != "HTTP/3.0" || v.Network != "udp" || v.ALPN != "h3" || v.TLSVersion != "1.3" {
			t.Errorf("the target saw %+v; want HTTP/3.0 over udp, ALPN h3, TLS 1.3", v)
		}
		if prev, ok := addrs[v.Source]; ok && prev != v.Addr {
			t.Errorf("%s used two flows: %s and %s", v.Source, prev, v.Addr)
		}
		addrs[v.Source] = v.Addr
	}
	if len(seen) != 6 || len(addrs) != 2 || addrs["127.0.0.2"] == "" || addrs["127.0.0.3"] == "" {
		t.Errorf("the target saw %d requests from %v; want 3 on one flow from each of 127.0.0.2 and 127.0.0.3", len(seen), addrs)
	}
}

// TestHTTP3KeepAliveOff: without keep-alive, every request has a QUIC
// connection (and handshake) of its own.
func TestHTTP3KeepAliveOff(t *testing.T) {
	srv := startTarget(t)
	tr := newTransport(t, transport.Options{})
	prof := h3Profile(t, srv, transport.TLSSettings{})
	conns := transport.NewConns()
	defer conns.Close()
	u := mustURL(t, "https://"+srv.HTTPSAddr()+"/health")
	for range 3 {
		resp := tr.Source(mustAddr("127.0.0.4")).Do(context.Background(), &transport.Request{URL: u, Version: transport.Version3,
			TLS: prof, Conns: conns, NoKeepAlive: true, Timeout: 5 * time.Second})
		if resp.Err != nil || resp.Proto != "HTTP/3.0" || resp.Sent < 1200 {
			t.Fatalf("%v %q, sent %d", resp.Err, resp.Proto, resp.Sent)
		}
	}
	flows := map[string]bool{}
	for _, v := range h3Seen(t, srv, "/health") {
		flows[v.Addr] = true
	}
	if len(flows) != 3 {
		t.Errorf("3 requests came on %d flows, want 3", len(flows))
	}
}

// TestHTTP3Failures: each way an HTTP/3 call fails is counted under its
// kind, and a failed stream leaves the connection to the next request.
func TestHTTP3Failures(t *testing.T) {
	srv := startTarget(t)
	tr := newTransport(t, transport.Options{})
	prof := h3Profile(t, srv, transport.TLSSettings{})
	base := "https://" + srv.HTTPSAddr()
	s := tr.Source(mustAddr("127.0.0.5"))
	conns := transport.NewConns()
	defer conns.Close()
	do := func(path string, mod func(*transport.Request)) *transport.Response {
		req := &transport.Request{URL: mustURL(t, base+path), Version: transport.Version3, TLS: prof, Conns: conns, Timeout: 5 * time.Second}
		if mod != nil {
			mod(req)
		}
		return s.Do(context.Background(), req)
	}
	cases := []struct {
		name, path string
		mod        func(*transport.Request)
		want       metrics.Kind
	}{
		{"body over max_response", "/gzip?size=100000", func(r *transport.Request) { r.MaxResponse = 1000 }, metrics.KindTooLarge},
		{"endless body", "/endless", func(r *transport.Request) { r.MaxResponse = 100 << 10 }, metrics.KindTooLarge},
		{"stream reset", "/reset", nil, metrics.KindReset},
		{"timeout", "/delay/3000", func(r *transport.Request) { r.Timeout = 200 * time.Millisecond }, metrics.KindTimeout},
		{"unknown authority", "/health", func(r *transport.Request) { r.TLS = nil; r.Conns = nil }, metrics.KindTLS},
		{"status 503", "/status/503", nil, metrics.KindNone},
	}
	for _, c := range cases {
		resp := do(c.path, c.mod)
		if k := transport.Classify(resp.Err); k != c.want {
			t.Errorf("%s: kind %s (%v), want %s", c.name, k, resp.Err, c.want)
		}
		if c.want == metrics.KindTLS && !strings.Contains(resp.Err.Error(), "unknown authority") {
			t.Errorf("%s: %v does not say why", c.name, resp.Err)
		}
		if c.want == metrics.KindNone && resp.Status != 503 {
			t.Errorf("%s: status %d", c.name, resp.Status)
		}
	}
	// Every failure above but the handshake's was one stream's: the
	// user's connection carried them all, and carries the next.
	if resp := do("/health", nil); resp.Err != nil {
		t.Errorf("after the failures: %v", resp.Err)
	}
	flows := map[string]bool{}
	for _, v := range h3Seen(t, srv, "/health") {
		flows[v.Addr] = true
	}
	if len(flows) != 1 {
		t.Errorf("the user's requests came on %d flows, want 1", len(flows))
	}
}

// TestHTTP3NoServer: a port where nothing answers QUIC fails as a
// timeout: the socket is not connected, so no ICMP error reaches it.
func TestHTTP3NoServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a port that reads nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tr := newTransport(t, transport.Options{})
	resp := tr.Source(mustAddr("127.0.0.6")).Do(context.Background(), &transport.Request{URL: mustURL(t, "https://"+pc.LocalAddr().String()+"/"),
		Version: transport.Version3, Timeout: 300 * time.Millisecond})
	if k := transport.Classify(resp.Err); k != metrics.KindTimeout {
		t.Errorf("kind %s (%v), want timeout", k, resp.Err)
	}
	if resp.Sent < 1200 {
		t.Errorf("sent %d bytes, want the client's first flight (1200 or more)", resp.Sent)
	}
}

// TestHTTP3IPv6 speaks HTTP/3 from ::1 to a target on [::1].
func TestHTTP3IPv6(t *testing.T) {
	cfg := target.EphemeralConfig()
	cfg.HTTPS, cfg.DoT, cfg.Proxy = "[::1]:0", "", ""
	srv, err := target.Start(cfg)
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(srv.Close)
	tr := newTransport(t, transport.Options{})
	prof := h3Profile(t, srv, transport.TLSSettings{})
	resp := tr.Source(netip.IPv6Loopback()).Do(context.Background(), &transport.Request{URL: mustURL(t, "https://"+srv.HTTPSAddr()+"/ip"),
		Version: transport.Version3, TLS: prof, Timeout: 5 * time.Second})
	if resp.Err != nil || resp.Proto != "HTTP/3.0" || !strings.Contains(string(resp.Body), "::1") {
		t.Fatalf("%v %q %q", resp.Err, resp.Proto, resp.Body)
	}
	if v := h3Seen(t, srv, "/ip"); v[0].Network != "udp" || v[0].Source != "::1" {
		t.Errorf("the target saw %+v", v[0])
	}
}

// TestHTTP3TLSVersions: QUIC runs on TLS 1.3 whatever min_version says.
func TestHTTP3TLSVersions(t *testing.T) {
	srv := startTarget(t)
	tr := newTransport(t, transport.Options{})
	prof := h3Profile(t, srv, transport.TLSSettings{MinVersion: tls.VersionTLS10})
	resp := tr.Source(mustAddr("127.0.0.7")).Do(context.Background(), &transport.Request{URL: mustURL(t, "https://"+srv.HTTPSAddr()+"/health"),
		Version: transport.Version3, TLS: prof, Timeout: 5 * time.Second})
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	if v := h3Seen(t, srv, "/health"); v[0].TLSVersion != "1.3" {
		t.Errorf("TLS %s", v[0].TLSVersion)
	}
}

// BenchmarkHTTPSVersions is one kept-alive GET /health to the built-in
// target over HTTP/2 and over HTTP/3 from one user's connection: the
// client's and the target's cost together, on loopback, so a rough
// comparison of the two stacks, not a measure of either alone.
func BenchmarkHTTPSVersions(b *testing.B) {
	srv, err := target.StartEphemeral()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	pool := srv.CAPool()
	tr := transport.New(transport.Options{TLS: &tls.Config{RootCAs: pool}})
	defer tr.Close()
	u, err := url.Parse("https://" + srv.HTTPSAddr() + "/health")
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		v    transport.Version
	}{{"h2", transport.Version2}, {"h3", transport.Version3}} {
		b.Run(v.name, func(b *testing.B) {
			conns := transport.NewConns()
			defer conns.Close()
			req := &transport.Request{URL: u, Version: v.v, Conns: conns, Timeout: 10 * time.Second, DiscardBody: true}
			src := tr.Source(netip.MustParseAddr("127.0.0.1"))
			if r := src.Do(context.Background(), req); r.Err != nil { // the handshake, outside the loop
				b.Fatal(r.Err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if r := src.Do(context.Background(), req); r.Err != nil {
					b.Fatal(r.Err)
				}
			}
		})
	}
}

// TestHTTP3IdleConnection: a user's QUIC connection that ended while
// idle (its idle timeout) is found closed before the next request is
// sent on it: that request goes on a new connection at once, not after
// a failed exchange and a resend.
func TestHTTP3IdleConnection(t *testing.T) {
	srv := startTarget(t)
	tr := newTransport(t, transport.Options{IdleTimeout: 200 * time.Millisecond})
	prof := h3Profile(t, srv, transport.TLSSettings{})
	conns := transport.NewConns()
	defer conns.Close()
	u := mustURL(t, "https://"+srv.HTTPSAddr()+"/health")
	s := tr.Source(mustAddr("127.0.0.8"))
	for i := range 2 {
		if i > 0 {
			time.Sleep(time.Second) // past the idle timeout (at least 3 PTOs, a few ms on loopback)
		}
		resp := s.Do(context.Background(), &transport.Request{URL: u, Version: transport.Version3, TLS: prof, Conns: conns, Timeout: 5 * time.Second})
		if resp.Err != nil || len(resp.Earlier) != 0 {
			t.Fatalf("#%d: %v, %d exchanges before the last", i, resp.Err, len(resp.Earlier))
		}
	}
}
