// Package target is ntx's built-in demo target: an HTTP server (and, when
// asked, the same over HTTPS with a self-signed certificate), a TCP
// line-echo port and a UDP echo port on loopback, which record what they
// see so that tests can check the traffic ntx really sent.
//
// HTTP endpoints:
//
//	GET  /health       {"status": "ok"}
//	GET  /asset        JSON naming the caller's address
//	POST /asset        echoes the request body (and its content type)
//	ANY  /status/CODE  answers with that status code
//	ANY  /delay/MS     answers after MS milliseconds
//	ANY  /ip           the caller's source address, as text
//	ANY  /reset        resets the connection (TCP RST) without answering
//	ANY  /garbage      answers with bytes that are not HTTP, then closes
//
// Fault injection, for a client's limits:
//
//	ANY  /hdr/N                answers 200 with a header block of exactly N bytes
//	ANY  /endless              answers 200 with a chunked body that never ends
//	ANY  /reset-after/N        sends the first N bytes of a response, then resets
//	ANY  /reset-after/headers  sends a response's header block, then resets
//
// The TCP port echoes each line; the line "flood" instead streams bytes
// (no newline) until the client closes. The UDP port echoes datagrams.
package target

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config says where the target listens. An empty address disables that
// listener; port 0 picks a free port.
type Config struct {
	HTTP string
	// HTTPS serves the same endpoints over TLS, with a self-signed
	// certificate made at start (see Server.CertPool).
	HTTPS string
	TCP   string
	UDP   string
	// Record keeps a log of every request for Seen; off for long runs.
	Record bool
}

// DefaultConfig listens on the ports the demo scenarios use.
func DefaultConfig() Config {
	return Config{HTTP: "127.0.0.1:18080", TCP: "127.0.0.1:18081", UDP: "127.0.0.1:18082", Record: true}
}

// Seen is one request the target received.
type Seen struct {
	Proto  string // http, tcp or udp
	Method string
	Path   string
	Query  string
	Source string // the caller's IP address
	Body   string
	Header http.Header
	At     time.Time
}

// Server is a running target.
type Server struct {
	cfg     Config
	httpSrv *http.Server
	tlsSrv  *http.Server
	tlsLn   net.Listener
	certs   *x509.CertPool
	httpLn  net.Listener
	tcpLn   net.Listener
	udp     net.PacketConn
	wg      sync.WaitGroup

	mu   sync.Mutex
	seen []Seen
}

// Start starts the listeners cfg names.
func Start(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg}
	var err error
	if cfg.HTTP != "" {
		if s.httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
			return nil, fmt.Errorf("target: http listener: %w", err)
		}
		s.httpSrv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = s.httpSrv.Serve(s.httpLn) }()
	}
	if cfg.HTTPS != "" {
		cert, pool, err := selfSigned()
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("target: https certificate: %w", err)
		}
		ln, err := net.Listen("tcp", cfg.HTTPS)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("target: https listener: %w", err)
		}
		s.certs = pool
		s.tlsLn = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		s.tlsSrv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = s.tlsSrv.Serve(s.tlsLn) }()
	}
	if cfg.TCP != "" {
		if s.tcpLn, err = net.Listen("tcp", cfg.TCP); err != nil {
			s.Close()
			return nil, fmt.Errorf("target: tcp listener: %w", err)
		}
		s.wg.Add(1)
		go s.serveTCP()
	}
	if cfg.UDP != "" {
		if s.udp, err = net.ListenPacket("udp", cfg.UDP); err != nil {
			s.Close()
			return nil, fmt.Errorf("target: udp listener: %w", err)
		}
		s.wg.Add(1)
		go s.serveUDP()
	}
	return s, nil
}

// StartEphemeral starts every listener on a free loopback port, with
// recording on: the target tests use.
func StartEphemeral() (*Server, error) {
	return Start(Config{HTTP: "127.0.0.1:0", HTTPS: "127.0.0.1:0", TCP: "127.0.0.1:0", UDP: "127.0.0.1:0", Record: true})
}

// Env names the target's addresses in the environment variables the
// scenarios under testdata/ read: NTX_TARGET_HTTP, _TCP and _UDP.
func (s *Server) Env() map[string]string {
	return map[string]string{"NTX_TARGET_HTTP": s.HTTPAddr(), "NTX_TARGET_HTTPS": s.HTTPSAddr(), "NTX_TARGET_TCP": s.TCPAddr(), "NTX_TARGET_UDP": s.UDPAddr()}
}

// HTTPSAddr returns the HTTPS address ("" if off).
func (s *Server) HTTPSAddr() string { return addrOf(s.tlsLn) }

// CertPool returns a pool that trusts the HTTPS certificate, or nil.
func (s *Server) CertPool() *x509.CertPool { return s.certs }

// selfSigned makes an ECDSA certificate for 127.0.0.1, ::1 and localhost,
// valid for a day, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "ntx target"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// HTTPAddr, TCPAddr and UDPAddr return the bound addresses ("" if off).
func (s *Server) HTTPAddr() string { return addrOf(s.httpLn) }

// TCPAddr returns the TCP echo address.
func (s *Server) TCPAddr() string { return addrOf(s.tcpLn) }

// UDPAddr returns the UDP echo address.
func (s *Server) UDPAddr() string {
	if s.udp == nil {
		return ""
	}
	return s.udp.LocalAddr().String()
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// Close stops every listener and waits for the servers to return.
func (s *Server) Close() {
	if s.tlsSrv != nil {
		_ = s.tlsSrv.Close()
	}
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.httpSrv.Shutdown(ctx)
		cancel()
		_ = s.httpSrv.Close()
	}
	if s.tcpLn != nil {
		_ = s.tcpLn.Close()
	}
	if s.udp != nil {
		_ = s.udp.Close()
	}
	s.wg.Wait()
}

// Seen returns a copy of what the target has received, in arrival order.
func (s *Server) Seen() []Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Seen(nil), s.seen...)
}

// Reset forgets what the target has seen.
func (s *Server) Reset() {
	s.mu.Lock()
	s.seen = nil
	s.mu.Unlock()
}

func (s *Server) record(v Seen) {
	if !s.cfg.Record {
		return
	}
	v.At = time.Now()
	s.mu.Lock()
	s.seen = append(s.seen, v)
	s.mu.Unlock()
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("/asset", func(w http.ResponseWriter, r *http.Request) {
		src := hostOf(r.RemoteAddr)
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			writeJSON(w, 200, map[string]any{
				"id": "asset-1", "source_ip": src, "status": "ok",
				"items": []map[string]any{{"id": 1, "name": "first"}, {"id": 2, "name": "second"}},
			})
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
			w.Header().Set("X-Source-Ip", src)
			_, _ = w.Write(bodyOf(r))
		default:
			w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH")
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		if err != nil || code < 100 || code > 599 {
			http.Error(w, "status code must be 100-599", http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "%d %s\n", code, http.StatusText(code))
	})
	mux.HandleFunc("/delay/", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/delay/"))
		if err != nil || ms < 0 || ms > 600_000 {
			http.Error(w, "delay must be 0-600000 ms", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		writeJSON(w, 200, map[string]any{"delayed_ms": ms})
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		conn := hijack(w)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST, not FIN
		}
		if conn != nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) {
		if conn := hijack(w); conn != nil {
			_, _ = io.WriteString(conn, "\x00\x01 this is not HTTP at all\r\n\r\n")
			conn.Close()
		}
	})
	mux.HandleFunc("/hdr/", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hdr/"))
		if err != nil || n < minHeaderBlock || n > 64<<20 {
			http.Error(w, fmt.Sprintf("header size must be %d-%d bytes", minHeaderBlock, 64<<20), http.StatusBadRequest)
			return
		}
		if conn := hijack(w); conn != nil {
			defer conn.Close()
			_, _ = conn.Write(headerBlock(n))
		}
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("endless ", 4096))
		rc := http.NewResponseController(w)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/reset-after/", func(w http.ResponseWriter, r *http.Request) {
		arg := strings.TrimPrefix(r.URL.Path, "/reset-after/")
		const body = 1 << 20
		resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", body))
		n := len(resp)
		if arg != "headers" {
			var err error
			if n, err = strconv.Atoi(arg); err != nil || n < 0 || n > len(resp)+body {
				http.Error(w, "reset-after takes a byte count or \"headers\"", http.StatusBadRequest)
				return
			}
		}
		resp = append(resp, make([]byte, max(0, n-len(resp)))...)
		conn := hijack(w)
		if conn == nil {
			return
		}
		_, _ = conn.Write(resp[:n])
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST, not FIN
		}
		conn.Close()
	})
	mux.HandleFunc("/ip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, hostOf(r.RemoteAddr))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.record(Seen{Proto: "http", Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Source: hostOf(r.RemoteAddr), Body: string(body), Header: r.Header.Clone()})
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
		mux.ServeHTTP(w, r)
	})
}

// minHeaderBlock is the smallest block /hdr/N makes: the status line, an
// empty body's length and the blank line.
const minHeaderBlock = len("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n") + len("X-Fill: \r\n") + len("\r\n")

// headerBlock returns a 200 response with an empty body whose header
// block is exactly n bytes, filled with X-Fill headers of up to 4 KiB.
func headerBlock(n int) []byte {
	b := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
	const fill = "X-Fill: \r\n"
	for left := n - len(b) - len("\r\n"); left > 0; {
		v := min(left-len(fill), 4096)
		if rest := left - len(fill) - v; rest > 0 && rest < len(fill) {
			v -= len(fill) // leave room for one more whole line
		}
		b = append(b, "X-Fill: "...)
		b = append(b, strings.Repeat("f", v)...)
		b = append(b, "\r\n"...)
		left -= len(fill) + v
	}
	return append(b, "\r\n"...)
}

// hijack takes the raw connection from the HTTP server, or nil.
func hijack(w http.ResponseWriter) net.Conn {
	h, ok := w.(http.Hijacker)
	if !ok {
		return nil
	}
	conn, _, err := h.Hijack()
	if err != nil {
		return nil
	}
	return conn
}

type bodyKey struct{}

func bodyOf(r *http.Request) []byte {
	b, _ := r.Context().Value(bodyKey{}).([]byte)
	return b
}

// serveTCP echoes each line back to the sender, until it closes.
func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcpLn.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
				line, err := r.ReadString('\n')
				if strings.TrimRight(line, "\r\n") == "flood" {
					s.record(Seen{Proto: "tcp", Source: hostOf(c.RemoteAddr().String()), Body: line})
					flood(c)
					return
				}
				if line != "" {
					s.record(Seen{Proto: "tcp", Source: hostOf(c.RemoteAddr().String()), Body: line})
					if _, werr := io.WriteString(c, line); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// flood writes bytes without a newline to c until it fails.
func flood(c net.Conn) {
	chunk := []byte(strings.Repeat("flood ", 8192))
	for {
		_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// serveUDP echoes each datagram back to its sender.
func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.record(Seen{Proto: "udp", Source: hostOf(from.String()), Body: string(buf[:n])})
		_, _ = s.udp.WriteTo(buf[:n], from)
	}
}
