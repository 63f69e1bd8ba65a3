package transport_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// silentListener accepts connections on loopback and never answers
// them (a TLS handshake waits forever); they close when the test ends.
func silentListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln
}

// TestWSOpeningTimesOutInTLS: a wss:// opening whose server accepts the
// connection and never answers the TLS handshake ends at its timeout as
// kind timeout, and (under -race) the socket is not shared with a dial
// goroutine that outlives the opening.
func TestWSOpeningTimesOutInTLS(t *testing.T) {
	ln := silentListener(t)
	tr := newTransport(t, transport.Options{})
	for i := 0; i < 3; i++ {
		conn, open, _, _ := tr.Source(unbound).WSConnect(context.Background(), &transport.WSRequest{
			URL: mustURL(t, "wss://"+ln.Addr().String()+"/ws"), Timeout: 100 * time.Millisecond, Insecure: true,
		})
		if conn != nil {
			conn.Close()
			t.Fatal("the opening worked against a server that never answers")
		}
		if k := transport.Classify(open.Err); k != metrics.KindTimeout {
			t.Errorf("opening %d: kind %s (%v), want timeout", i, k, open.Err)
		}
	}
}
