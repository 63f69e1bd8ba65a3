package target

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

func TestHTTP3OnTheHTTPSPortOverUDP(t *testing.T) {
	srv := start(t, nil)
	// The client's QUIC flow goes out from a UDP socket bound to
	// 127.0.0.2, as a user's bound address would.
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	qt := &quic.Transport{Conn: pc}
	defer qt.Close()
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: srv.CAPool()},
		Dial: func(ctx context.Context, addr string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			return qt.DialEarly(ctx, ua, tc, qc)
		},
	}
	defer tr.Close()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "https://localhost:" + portOf(t, srv.HTTPSAddr())
	for _, path := range []string{"/health", "/redirect/0"} {
		resp, err := c.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s over HTTP/3: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Proto != "HTTP/3.0" || resp.StatusCode != 200 {
			t.Fatalf("%s: %s %d", path, resp.Proto, resp.StatusCode)
		}
	}
	for _, v := range only(t, srv, "http", 2) {
		if v.Version != "HTTP/3.0" || v.Network != "udp" || v.Addr != pc.LocalAddr().String() || v.Source != "127.0.0.2" ||
			v.ALPN != "h3" || v.SNI != "localhost" || v.TLSVersion != "1.3" {
			t.Errorf("recorded %+v; want HTTP/3.0 over udp from %s, ALPN h3, SNI localhost", v, pc.LocalAddr())
		}
	}
}
