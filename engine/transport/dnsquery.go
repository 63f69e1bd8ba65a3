package transport

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/miekg/dns"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// DNSRequest is one DNS query (dns.query, spec §4.2).
type DNSRequest struct {
	Server string // host:port
	Name   string // asked about; made fully qualified
	Type   uint16 // dns.TypeA ...
	// Net is "udp", "tcp" or "tls" (DNS over TLS).
	Net string
	// TCPFallback asks again over TCP when a UDP answer is truncated.
	TCPFallback bool
	// TLS and Insecure configure Net "tls" (nil TLS: the transport's
	// default configuration).
	TLS      *TLSProfile
	Insecure bool
	// Timeout bounds the whole query, a fallback included; 0 means none.
	Timeout time.Duration
	// Start is when the query counts as started; zero means now.
	Start time.Time
}

// DNSReply is the outcome of a DNS query.
type DNSReply struct {
	Start   time.Time
	Latency time.Duration
	// Msg is the answer (nil when none came); Net the transport that
	// brought it ("tcp" after a fallback).
	Msg *dns.Msg
	Net string
	Err error
	// Sent and Received count the bytes that crossed the sockets (TLS
	// records and TCP length prefixes included).
	Sent, Received int64
}

// EDNSSize is the UDP payload size dns.query advertises (EDNS0): the
// size the DNS flag day of 2020 settled on, below common path MTUs.
const EDNSSize = 1232

// DNS sends one query from s to req.Server and reads the answer.
func (s *Source) DNS(ctx context.Context, req *DNSRequest) *DNSReply {
	start := req.Start
	if start.IsZero() {
		start = time.Now()
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(req.Timeout))
		defer cancel()
	}
	out := &DNSReply{Start: start, Net: req.Net}
	defer func() { out.Latency = time.Since(start) }()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(req.Name), req.Type)
	if req.Net == "udp" {
		q.SetEdns0(EDNSSize, false)
	}
	out.Msg, out.Err = s.exchangeDNS(ctx, req, req.Net, q, out)
	if out.Err == nil && out.Msg.Truncated && req.Net == "udp" && req.TCPFallback {
		out.Net = "tcp"
		q.Id = dns.Id()
		q.Extra = nil // EDNS0 sizes are for UDP
		out.Msg, out.Err = s.exchangeDNS(ctx, req, "tcp", q, out)
	}
	if out.Err != nil {
		out.Msg = nil
		out.Err = ctxErr(ctx, out.Err)
	}
	return out
}

// exchangeDNS sends q over network and reads the answer, adding the
// bytes that crossed the socket to out.
func (s *Source) exchangeDNS(ctx context.Context, req *DNSRequest, network string, q *dns.Msg, out *DNSReply) (*dns.Msg, error) {
	packed, err := q.Pack()
	if err != nil {
		return nil, fmt.Errorf("dns query for %q: %w", req.Name, err)
	}
	var nc net.Conn
	if network == "udp" {
		d := &net.Dialer{}
		if s.addr.IsValid() {
			d.LocalAddr = &net.UDPAddr{IP: s.addr.AsSlice()}
		}
		nc, err = d.DialContext(ctx, "udp", req.Server)
	} else {
		d := s.dialer()
		nc, err = d.DialContext(ctx, "tcp", req.Server)
	}
	if err != nil {
		return nil, err
	}
	sock := s.t.conns.track(nc)
	defer sock.Close()
	defer func() { out.Sent += sock.sent.Load(); out.Received += sock.recv.Load() }()
	stop := context.AfterFunc(ctx, func() { _ = sock.SetDeadline(aLongTimeAgo) })
	defer stop()
	var c net.Conn = sock
	if network == "tls" {
		tc := tls.Client(sock, s.dotConfig(req))
		if err := tc.HandshakeContext(ctx); err != nil {
			switch Classify(err) {
			case metrics.KindTimeout, metrics.KindCancelled, metrics.KindReset, metrics.KindFDLimit:
				return nil, err
			}
			return nil, &TLSError{Err: err}
		}
		c = tc
	}
	if network == "udp" {
		return readUDPAnswer(c, packed, q)
	}
	return readStreamAnswer(c, packed, q)
}

// dotConfig is the TLS configuration of a DNS over TLS query.
func (s *Source) dotConfig(req *DNSRequest) *tls.Config {
	cfg := &tls.Config{}
	switch {
	case req.TLS != nil:
		cfg = req.TLS.config.Clone()
	case s.t.opts.TLS != nil:
		cfg = s.t.opts.TLS.Clone()
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(req.Server); err == nil {
			cfg.ServerName = host
		}
	}
	cfg.NextProtos = []string{"dot"}
	cfg.InsecureSkipVerify = req.Insecure //nolint:gosec // the scenario asked for it
	return cfg
}

// readUDPAnswer sends the query as one datagram and reads datagrams
// until one answers it: a datagram with another id or question (a late
// answer, a spoof) is not the answer, and the wait goes on.
func readUDPAnswer(c net.Conn, packed []byte, q *dns.Msg) (*dns.Msg, error) {
	if _, err := c.Write(packed); err != nil {
		return nil, err
	}
	bp := udpBuffers.Get().(*[]byte)
	defer udpBuffers.Put(bp)
	for {
		n, err := c.Read(*bp)
		if err != nil {
			return nil, err
		}
		m := new(dns.Msg)
		if err := m.Unpack((*bp)[:n]); err != nil {
			if m.Id == q.Id && m.Truncated {
				// A truncated answer may be cut mid-record; its header
				// still says what happened.
				return m, nil
			}
			continue
		}
		if answers(m, q) {
			return m, nil
		}
	}
}

// readStreamAnswer sends the query with its two-byte length (TCP and
// TLS) and reads the answer framed the same way.
func readStreamAnswer(c net.Conn, packed []byte, q *dns.Msg) (*dns.Msg, error) {
	buf := make([]byte, 2+len(packed))
	binary.BigEndian.PutUint16(buf, uint16(len(packed)))
	copy(buf[2:], packed)
	if _, err := c.Write(buf); err != nil {
		return nil, err
	}
	for {
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return nil, streamEOF(err)
		}
		body := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, body); err != nil {
			return nil, streamEOF(err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(body); err != nil {
			return nil, &ProtocolError{Err: fmt.Errorf("DNS answer: %w", err)}
		}
		if answers(m, q) {
			return m, nil
		}
	}
}

// streamEOF says what an end of file in a DNS stream means.
func streamEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the server closed the connection before answering", io.ErrUnexpectedEOF)
	}
	return err
}

// answers reports whether m is the answer to q.
func answers(m, q *dns.Msg) bool {
	if !m.Response || m.Id != q.Id {
		return false
	}
	if len(m.Question) == 0 {
		return true // a FORMERR may carry no question
	}
	return len(m.Question) == 1 && m.Question[0].Qtype == q.Question[0].Qtype &&
		dns.CanonicalName(m.Question[0].Name) == dns.CanonicalName(q.Question[0].Name)
}
