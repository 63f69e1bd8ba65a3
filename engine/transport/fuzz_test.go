package transport_test

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// fuzzMaxResponse is a small body limit, so that fuzzed answers reach it.
const fuzzMaxResponse = 4 << 10

// FuzzHTTPResponse feeds arbitrary bytes, as a server's whole answer, to
// the HTTP response reader, over a real loopback connection that the
// server closes after writing them. Whatever arrives, the call returns a
// response or an error with a kind, never panics or hangs, and never
// holds more than the limits: the body at max_response, the header block
// at MaxHeaderBytes.
func FuzzHTTPResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\": [1, 2]}",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("x", 5000),
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
		"HTTP/1.0 200 OK\r\n\r\n" + strings.Repeat("y", 5000),
		"HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("h", 70000) + "\r\n\r\n",
		"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 abc\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"\r\n\r\n",
		"",
		"SSH-2.0-OpenSSH\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
		"HTTP/1.1 200 OK\r\n: empty name\r\nA:\r\n  folded\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	answers := make(chan []byte)
	go serveAnswers(ln, answers)
	u, err := url.Parse("http://" + ln.Addr().String() + "/fuzz")
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, answer []byte) {
		tr := transport.New(transport.Options{})
		defer tr.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			select {
			case answers <- answer:
			case <-ctx.Done():
			}
		}()
		resp := tr.Source(netip.Addr{}).Do(ctx, &transport.Request{URL: u, Timeout: 10 * time.Second, MaxResponse: fuzzMaxResponse})
		cancel()
		<-sent
		if resp.Err != nil {
			kind := transport.Classify(resp.Err)
			switch kind {
			case metrics.KindNone:
				t.Fatalf("error %v has no kind", resp.Err)
			case metrics.KindTimeout:
				t.Fatalf("the reader hung until the timeout: %v", resp.Err)
			}
			return
		}
		if resp.Status < 100 || resp.Status > 999 {
			t.Fatalf("status %d accepted", resp.Status)
		}
		if len(resp.Body) > fuzzMaxResponse || resp.BodySize > fuzzMaxResponse {
			t.Fatalf("a body of %d bytes (%d kept) passed the limit of %d", resp.BodySize, len(resp.Body), fuzzMaxResponse)
		}
		if len(resp.RawHeader) > transport.MaxHeaderBytes {
			t.Fatalf("a header block of %d bytes passed the limit of %d", len(resp.RawHeader), transport.MaxHeaderBytes)
		}
		transport.ParseHeader(resp.RawHeader) // what a script reads as headers
	})
}

// serveAnswers answers each connection with the next answer, then closes
// it: the reader sees exactly those bytes and the end of the stream.
func serveAnswers(ln net.Listener, answers <-chan []byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		answer := <-answers
		// Read the request's head first, so that closing does not reset
		// a connection with unread data.
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		_, _ = c.Write(answer)
		c.Close()
	}
}
