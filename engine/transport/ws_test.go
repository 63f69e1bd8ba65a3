package transport_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
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

// resetAfterUpgrade answers a WebSocket opening with 101 by hand and
// then resets the connection.
func resetAfterUpgrade(t *testing.T) net.Listener {
	t.Helper()
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
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				c.Close()
				continue
			}
			h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
				base64.StdEncoding.EncodeToString(h[:]))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln
}

// TestWSResetWhileSending: a WebSocket reset by its server fails both
// the read-ahead goroutine and the sender on the same socket; the first
// error is kept without a race (under -race) and the failure is a reset
// or the connection's end, never a crash.
func TestWSResetWhileSending(t *testing.T) {
	ln := resetAfterUpgrade(t)
	tr := newTransport(t, transport.Options{})
	for i := 0; i < 20; i++ {
		conn, open, _, _ := tr.Source(unbound).WSConnect(context.Background(), &transport.WSRequest{
			URL: mustURL(t, "ws://"+ln.Addr().String()+"/ws"), Timeout: 5 * time.Second,
		})
		if open.Err != nil {
			t.Fatalf("opening: %v", open.Err)
		}
		var err error
		for j := 0; j < 1000 && err == nil; j++ {
			err = conn.Send(context.Background(), "x", 5*time.Second)
		}
		switch k := transport.Classify(err); k {
		case metrics.KindReset, metrics.KindEOF:
		default:
			t.Errorf("send after a reset: kind %s (%v), want reset or eof", k, err)
		}
		conn.Close()
	}
}
