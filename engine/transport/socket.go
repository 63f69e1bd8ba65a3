package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// ReadKind is how a TCP exchange knows its reply is complete.
type ReadKind int

// The ways a TCP reply ends.
const (
	ReadLine  ReadKind = iota // at the first newline (included)
	ReadClose                 // when the server closes the connection
	ReadBytes                 // after N bytes
	ReadUntil                 // right after the string Until
)

// SocketRequest is one TCP or UDP exchange: connect, send, read a reply.
type SocketRequest struct {
	Address string // host:port
	Send    []byte
	// Read says when a TCP reply is complete.
	Read  ReadKind
	N     int    // with ReadBytes
	Until string // with ReadUntil
	// Reply says whether a UDP exchange waits for an answer.
	Reply bool
	// Timeout bounds the exchange; 0 means none.
	Timeout time.Duration
	// Start is when the exchange counts as started; zero means now.
	Start time.Time
	// MaxResponse bounds the reply (0: DefaultMaxResponse).
	MaxResponse int64
}

// SocketReply is the outcome of a TCP or UDP exchange.
type SocketReply struct {
	Start   time.Time
	Latency time.Duration
	Reply   []byte
	Err     error
	// Sent and Received count the bytes that crossed the socket.
	Sent, Received int64
}

func (r *SocketRequest) limit() int64 {
	if r.MaxResponse > 0 {
		return r.MaxResponse
	}
	return DefaultMaxResponse
}

// begin returns the exchange's start, a context bounded by its timeout
// and the function that releases it.
func (r *SocketRequest) begin(ctx context.Context) (time.Time, context.Context, context.CancelFunc) {
	start := r.Start
	if start.IsZero() {
		start = time.Now()
	}
	if r.Timeout > 0 {
		ctx, cancel := context.WithTimeout(ctx, r.Timeout)
		return start, ctx, cancel
	}
	return start, ctx, func() {}
}

// TCP connects to req.Address from s, sends req.Send and reads a reply.
func (s *Source) TCP(ctx context.Context, req *SocketRequest) *SocketReply {
	start, ctx, cancel := req.begin(ctx)
	defer cancel()
	out := &SocketReply{Start: start}
	defer func() { out.Latency = time.Since(start) }()
	d := s.dialer()
	nc, err := d.DialContext(ctx, "tcp", req.Address)
	if err != nil {
		out.Err = ctxErr(ctx, err)
		return out
	}
	c := s.t.conns.track(nc)
	defer c.Close()
	defer func() { out.Sent, out.Received = c.sent.Load(), c.recv.Load() }()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
	defer stop()
	if len(req.Send) > 0 {
		if _, err := c.Write(req.Send); err != nil {
			out.Err = ctxErr(ctx, err)
			return out
		}
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(c)
	defer func() { br.Reset(nil); readers.Put(br) }()
	limit := req.limit()
	switch req.Read {
	case ReadLine:
		out.Reply, err = readUntil(br, "\n", limit)
	case ReadUntil:
		out.Reply, err = readUntil(br, req.Until, limit)
	case ReadClose:
		out.Reply, _, err = readAll(br, limit, true, "reply")
		if err == io.ErrUnexpectedEOF {
			err = nil
		}
	case ReadBytes:
		if int64(req.N) > limit {
			err = &TooLargeError{What: "reply", Limit: limit}
			break
		}
		out.Reply = make([]byte, req.N)
		var n int
		n, err = io.ReadFull(br, out.Reply)
		out.Reply = out.Reply[:n]
	}
	out.Err = ctxErr(ctx, err)
	return out
}

// readUntil reads up to and including the first occurrence of delim,
// failing as soon as the reply grows past limit without it.
func readUntil(r *bufio.Reader, delim string, limit int64) ([]byte, error) {
	last := delim[len(delim)-1]
	var reply chunked
	for {
		chunk, err := r.ReadSlice(last)
		if reply.n+int64(len(chunk)) > limit {
			return nil, &TooLargeError{What: "reply", Limit: limit}
		}
		reply.write(chunk)
		switch {
		case err == nil && reply.hasSuffix(delim):
			return reply.bytes(), nil
		case err == nil, err == bufio.ErrBufferFull:
			continue
		}
		return reply.bytes(), err
	}
}

// udpBuffers hold one datagram: 64 KiB is more than UDP carries.
var udpBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// UDP sends req.Send from s to req.Address and, if req.Reply, waits for
// one datagram back.
func (s *Source) UDP(ctx context.Context, req *SocketRequest) *SocketReply {
	start, ctx, cancel := req.begin(ctx)
	defer cancel()
	out := &SocketReply{Start: start}
	defer func() { out.Latency = time.Since(start) }()
	d := &net.Dialer{}
	if s.addr.IsValid() {
		d.LocalAddr = &net.UDPAddr{IP: s.addr.AsSlice()}
	}
	nc, err := d.DialContext(ctx, "udp", req.Address)
	if err != nil {
		out.Err = ctxErr(ctx, err)
		return out
	}
	c := s.t.conns.track(nc)
	defer c.Close()
	defer func() { out.Sent, out.Received = c.sent.Load(), c.recv.Load() }()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
	defer stop()
	if _, err := c.Write(req.Send); err != nil {
		out.Err = ctxErr(ctx, err)
		return out
	}
	if !req.Reply {
		return out
	}
	bp := udpBuffers.Get().(*[]byte)
	defer udpBuffers.Put(bp)
	n, err := c.Read(*bp)
	if err != nil {
		out.Err = ctxErr(ctx, err)
		return out
	}
	if limit := req.limit(); int64(n) > limit {
		out.Err = &TooLargeError{What: "reply", Limit: limit}
		return out
	}
	out.Reply = bytes.Clone((*bp)[:n])
	return out
}

// ctxErr reports a deadline forced by the context as the context's error,
// so that it is classified as a timeout or a cancellation.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
