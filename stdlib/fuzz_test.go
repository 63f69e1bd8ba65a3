package stdlib

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"go.starlark.net/starlark"
)

// FuzzHTTPResponse feeds arbitrary bytes, as a server's whole answer, to
// the HTTP response reader (the plain-HTTP transport), over a real
// loopback connection that the server closes after writing them. Whatever
// arrives, the reader returns a response or an error, never panics, never
// holds more than the body limit, and every error has a kind; what a
// script reads of the response (status, headers, body, json()) works.
func FuzzHTTPResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\": [1, 2]}",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
		"HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.0 200\r\nX: " + string(make([]byte, 5000)) + "\r\n\r\n",
		"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 abc\r\n\r\n",
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
	url := "http://" + ln.Addr().String() + "/fuzz"

	f.Fuzz(func(t *testing.T, answer []byte) {
		conns := &connSet{conns: map[*trackedConn]struct{}{}}
		tr := newFastTransport(netip.Addr{}, 1, conns)
		defer conns.closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			select {
			case answers <- answer:
			case <-ctx.Done():
			}
		}()
		resp, err := tr.RoundTrip(req)
		cancel()
		<-done
		if err != nil {
			if kind := classify(err); kind == "" {
				t.Fatalf("error %v has no kind", err)
			}
			if ctx.Err() == context.DeadlineExceeded {
				t.Fatalf("the reader hung on %q", answer)
			}
			return
		}
		body, raw, err := readBody(resp.Body)
		if err != nil {
			t.Fatalf("reading a body already read: %v", err)
		}
		if len(body) > maxBody {
			t.Fatalf("a body of %d bytes, over the %d limit", len(body), maxBody)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			t.Fatalf("status %d accepted", resp.StatusCode)
		}
		// What a script reads of the response.
		r := &Result{Name: "fuzz", StatusVal: resp.StatusCode, Headers: resp.Header, rawHeader: raw, Body: body}
		for _, name := range r.AttrNames() {
			v, err := r.Attr(name)
			if err != nil {
				continue
			}
			if name == "json" {
				if _, err := starlark.Call(&starlark.Thread{}, v, nil, nil); err != nil {
					t.Fatalf("json(): %v", err)
				}
			}
		}
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
		answer, ok := <-answers
		if !ok {
			c.Close()
			return
		}
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
