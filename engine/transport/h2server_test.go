package transport_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Server is an HTTP/2 server on loopback that speaks frames, not
// handlers: a test decides exactly what goes on the wire (a GOAWAY, a
// frame out of order, a header block without end), which net/http's
// server would never send. It also serves the HTTP/2 benchmark, where
// its cost per request is a few frames' encoding and nothing else.
//
// Each connection is served on one goroutine: it reads the client's
// frames and calls on (if set) for each, then onRequest when a
// request's stream is half-closed by the client.
type h2Server struct {
	ln  net.Listener
	tls bool
	// settings are sent in the server's preface; noPreface sends none
	// (a server that does not speak HTTP/2 first).
	settings  []http2.Setting
	noPreface bool
	// onRequest answers a whole request; nil answers 200 "ok".
	onRequest func(sc *h2ServerConn, r *h2ServerRequest)
	// onConnect runs after the server's preface, before anything is
	// read; returning false closes the connection.
	onConnect func(sc *h2ServerConn) bool

	mu       sync.Mutex
	conns    int
	pingAcks int
	// settings are the client's SETTINGS, updates its WINDOW_UPDATE
	// frames (by stream, 0 for the connection).
	clientSettings []http2.Setting
	updates        map[uint32]int
}

// h2ServerRequest is a request as the server read it.
type h2ServerRequest struct {
	StreamID uint32
	Fields   []hpack.HeaderField
	Body     []byte
	N        int // the request's number on its connection, from 1
}

// header returns the value of the request field name (lower case).
func (r *h2ServerRequest) header(name string) string {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// h2ServerConn is one connection of an h2Server: the framer writes to
// a buffer flushed after each frame the test writes.
type h2ServerConn struct {
	num  int // the connection's number on its server, from 1
	c    net.Conn
	bw   *bufio.Writer
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

// startH2 serves HTTP/2 on an ephemeral loopback port: with TLS (ALPN
// h2, a test certificate the client must be told to skip) or h2c.
func startH2(t testing.TB, useTLS bool, s *h2Server) *h2Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		cert, _ := testCert(t)
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	}
	s.ln, s.tls = ln, useTLS
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			num := s.conns
			s.mu.Unlock()
			go s.serve(c, num)
		}
	}()
	return s
}

// url is the server's URL for path.
func (s *h2Server) url(path string) string {
	if s.tls {
		return "https://" + s.ln.Addr().String() + path
	}
	return "http://" + s.ln.Addr().String() + path
}

// connections is how many connections the server accepted.
func (s *h2Server) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *h2Server) serve(c net.Conn, num int) {
	defer c.Close()
	br := bufio.NewReader(c)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	sc := &h2ServerConn{num: num, c: c, bw: bufio.NewWriter(c)}
	sc.fr = http2.NewFramer(sc.bw, br)
	sc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	sc.enc = hpack.NewEncoder(&sc.hbuf)
	if !s.noPreface && (sc.fr.WriteSettings(s.settings...) != nil || sc.bw.Flush() != nil) {
		return
	}
	if s.onConnect != nil && !s.onConnect(sc) {
		return
	}
	type open struct {
		fields []hpack.HeaderField
		body   bytes.Buffer
	}
	streams := map[uint32]*open{}
	n := 0
	for {
		f, err := sc.fr.ReadFrame()
		if err != nil {
			return
		}
		var done *h2ServerRequest
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				s.mu.Lock()
				_ = f.ForeachSetting(func(set http2.Setting) error { s.clientSettings = append(s.clientSettings, set); return nil })
				s.mu.Unlock()
				_ = sc.fr.WriteSettingsAck()
			}
		case *http2.WindowUpdateFrame:
			s.mu.Lock()
			if s.updates == nil {
				s.updates = map[uint32]int{}
			}
			s.updates[f.StreamID]++
			s.mu.Unlock()
		case *http2.PingFrame:
			if f.IsAck() {
				s.mu.Lock()
				s.pingAcks++
				s.mu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			o := &open{fields: f.Fields}
			streams[f.StreamID] = o
			if f.StreamEnded() {
				n++
				done = &h2ServerRequest{StreamID: f.StreamID, Fields: o.fields, N: n}
			}
		case *http2.DataFrame:
			o := streams[f.StreamID]
			if o == nil {
				continue
			}
			o.body.Write(f.Data())
			// The client's body is consumed as it comes: its window is
			// given back at once.
			if k := uint32(len(f.Data())); k > 0 {
				_ = sc.fr.WriteWindowUpdate(0, k)
				_ = sc.fr.WriteWindowUpdate(f.StreamID, k)
			}
			if f.StreamEnded() {
				n++
				done = &h2ServerRequest{StreamID: f.StreamID, Fields: o.fields, Body: o.body.Bytes(), N: n}
			}
		case *http2.RSTStreamFrame:
			delete(streams, f.StreamID)
		}
		if done != nil {
			delete(streams, done.StreamID)
			if s.onRequest != nil {
				s.onRequest(sc, done)
			} else {
				sc.respond(done.StreamID, 200, []byte("ok"))
			}
		}
		if sc.bw.Flush() != nil {
			return
		}
	}
}

// headers writes a HEADERS frame for stream id with the given fields
// (":status" first), ending the stream when end.
func (sc *h2ServerConn) headers(id uint32, end bool, fields ...string) {
	sc.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = sc.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	_ = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: sc.hbuf.Bytes(), EndStream: end, EndHeaders: true})
}

// respond answers stream id with status and body, in one DATA frame
// when the body is small and in frames of 16 KiB otherwise.
func (sc *h2ServerConn) respond(id uint32, status int, body []byte) {
	sc.headers(id, len(body) == 0, ":status", strconv.Itoa(status), "content-length", strconv.Itoa(len(body)))
	for len(body) > 0 {
		k := min(len(body), 16384)
		_ = sc.fr.WriteData(id, k == len(body), body[:k])
		body = body[k:]
	}
}

// flush sends what the test wrote.
func (sc *h2ServerConn) flush() { _ = sc.bw.Flush() }

// raw writes bytes as they are, after what the framer wrote.
func (sc *h2ServerConn) raw(b []byte) {
	_ = sc.bw.Flush()
	_, _ = sc.c.Write(b)
}

// acks is how many PING acknowledgements the server received.
func (s *h2Server) acks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pingAcks
}
