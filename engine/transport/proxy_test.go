package transport_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// TestProxyEndlessHeaders: a proxy that answers CONNECT with 200 and
// then header lines without end is cut at MaxHeaderBytes (kind
// too_large), and the error names the proxy and the tunnel asked for.
func TestProxyEndlessHeaders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line := []byte("X-Filler: " + strings.Repeat("a", 1000) + "\r\n")
				if _, err := c.Write([]byte("HTTP/1.1 200 Connection established\r\n")); err != nil {
					return
				}
				for { // until the client goes away
					if _, err := c.Write(line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	proxy, err := transport.ParseProxy("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(t, transport.Options{})
	resp := tr.Source(unbound).Do(context.Background(), &transport.Request{Method: "GET", URL: mustURL(t, "https://example.test:443/"),
		Proxy: proxy, Timeout: 30 * time.Second})
	if k := transport.Classify(resp.Err); k != metrics.KindTooLarge {
		t.Fatalf("kind %s (%v), want too_large", k, resp.Err)
	}
	if msg := resp.Err.Error(); !strings.Contains(msg, "proxy "+ln.Addr().String()) || !strings.Contains(msg, "CONNECT example.test:443") {
		t.Errorf("error %q does not name the proxy and the tunnel", msg)
	}
}

// TestParseProxyHidesPassword: a proxy URL that is wrong, or does not
// parse, is reported without its password.
func TestParseProxyHidesPassword(t *testing.T) {
	for _, s := range []string{
		"https://bob:s3cretpw@127.0.0.1:8080",
		"http://bob:s3cretpw@127.0.0.1",
		"http://bob:s3cretpw@127.0.0.1:80/path",
		"http://bob:s3cretpw@127.0.0.1:8x0",
		"http://bob:s3cretpw@[::1:80",
		"http://bob:s3cretpw@127.0.0.1:80/%zz",
	} {
		_, err := transport.ParseProxy(s)
		if err == nil {
			t.Errorf("%s: accepted", s)
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("%s: the error shows the password: %v", s, err)
		}
	}
}
