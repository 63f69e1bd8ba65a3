// Package target is ntx's built-in demo target: an HTTP server, a TCP
// line-echo port and a UDP echo port on loopback, HTTPS (HTTP/1.1 and
// HTTP/2) with HTTP/3 on the same port over UDP, and a DNS server for
// the zone ntx.test; each records what it sees so that tests can check
// the traffic ntx really sent. Help describes every endpoint.
//
// HTTP endpoints (over HTTP/1.1, h2c, HTTPS, h2 and HTTP/3 alike):
//
//	GET  /health       {"status": "ok"}
//	GET  /asset        JSON naming the caller's address
//	POST /asset        echoes the request body (and its content type)
//	ANY  /status/CODE  answers with that status code
//	ANY  /delay/MS     answers after MS milliseconds
//	ANY  /ip           the caller's source address, as text
//	ANY  /reset        resets the connection (TCP RST) without answering
//	ANY  /garbage      answers with bytes that are not HTTP, then closes
//	ANY  /redirect/N   N redirects (?code=301|302|303|307|308), then 200
//	ANY  /redirect-to  a redirect to ?url=URL
//	ANY  /cookies      echoes the cookies received
//	ANY  /cookies/set  sets a cookie for each query parameter
//	ANY  /ws           WebSocket echo (HTTP/1.1 upgrade)
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
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Config says where the target listens. An empty address disables that
// listener; port 0 picks a free port.
type Config struct {
	HTTP string // HTTP/1.1, and HTTP/2 with prior knowledge (h2c)
	TCP  string
	UDP  string
	// HTTPS serves HTTP/1.1 and HTTP/2 (by ALPN) over TLS; with HTTP3,
	// HTTP/3 on the same port number over UDP.
	HTTPS string
	HTTP3 bool
	// DNS answers the zone ntx.test over UDP and TCP on the same port;
	// DoT answers it over TLS (DNS over TLS), with the HTTPS certificate.
	DNS, DoT string
	// Proxy is an HTTP proxy (CONNECT and absolute-form) that reaches
	// loopback only; ProxyAuth ("user:password") makes it ask for Basic
	// proxy credentials.
	Proxy, ProxyAuth string
	// CertFile and KeyFile are the HTTPS certificate and key (PEM); when
	// empty the target makes a CA and a certificate for DefaultHosts at
	// start, and writes the CA to CAOut when that is set.
	CertFile, KeyFile, CAOut string
	// Certificate, when set, is served instead (tests make expired or
	// mismatched ones with CA.IssueTLS).
	Certificate *tls.Certificate
	// ClientCAFile (PEM) or ClientCAs turn on mutual TLS: a client
	// certificate signed by one of them is required (only verified when
	// given, with ClientCertOptional).
	ClientCAFile       string
	ClientCAs          *x509.CertPool
	ClientCertOptional bool
	// TLSMinVersion and TLSMaxVersion bound the TLS versions accepted
	// (tls.VersionTLS10 ..); zero means 1.0 and 1.3.
	TLSMinVersion, TLSMaxVersion uint16
	// Record keeps a log of every request for Seen; off for long runs.
	Record bool
}

// DefaultConfig listens on the ports the demo scenarios use. DNS over TLS
// and the proxy are off: callers that turn off the listeners they know
// must not get new ones on fixed ports (see Help for their usual ports).
func DefaultConfig() Config {
	return Config{HTTP: "127.0.0.1:18080", TCP: "127.0.0.1:18081", UDP: "127.0.0.1:18082",
		HTTPS: "127.0.0.1:18443", HTTP3: true, DNS: "127.0.0.1:18053", Record: true}
}

// EphemeralConfig is the configuration StartEphemeral uses: every
// listener on a free loopback port, recording on. Tests change it (a
// client CA, CAOut) and pass it to Start.
func EphemeralConfig() Config {
	return Config{HTTP: "127.0.0.1:0", TCP: "127.0.0.1:0", UDP: "127.0.0.1:0",
		HTTPS: "127.0.0.1:0", HTTP3: true, DNS: "127.0.0.1:0", DoT: "127.0.0.1:0", Proxy: "127.0.0.1:0", Record: true}
}

// Seen is one request the target received.
type Seen struct {
	// Proto is http (any HTTP version, with or without TLS), tcp, udp,
	// dns (Method is the query type, Path the name, Body the rcode), ws
	// (one WebSocket message: Method text or binary) or tls (a failed
	// handshake, Body the reason).
	Proto  string
	Method string
	Path   string
	Query  string
	Source string // the caller's IP address
	Body   string
	Header http.Header
	At     time.Time

	Version    string // HTTP/1.1, HTTP/2.0 or HTTP/3.0
	Network    string // tcp or udp (HTTP/3 and DNS over UDP): the flow's transport
	Addr       string // the caller's source address with its port
	SNI        string // the server name the TLS client sent ("" for none)
	TLSVersion string // 1.0 .. 1.3; "" without TLS
	ALPN       string // the protocol negotiated by ALPN: h2, http/1.1, h3
	ClientCert string // the subject of the verified client certificate
	Cipher     string // the TLS cipher suite, by Go's name
	Curve      string // the key exchange of a full handshake (X25519MLKEM768, X25519, CurveP256...)
	Resumed    bool   // the TLS session was resumed (a ticket), not a full handshake
	Truncated  bool   // dns: the answer went out with the TC flag
}

// Server is a running target.
type Server struct {
	cfg     Config
	httpSrv *http.Server
	httpLn  net.Listener
	tcpLn   net.Listener
	udp     net.PacketConn
	wg      sync.WaitGroup

	// HTTPS, HTTP/3 and DNS: tls.go, h3.go, dns.go.
	ca       *CA
	tlsConf  *tls.Config
	httpsLn  net.Listener
	httpsSrv *http.Server
	h3conn   net.PacketConn
	h3ln     *quic.EarlyListener
	h3srv    *http3.Server
	dnsUDP   *dns.Server
	dnsTCP   *dns.Server
	dnsTLS   *dns.Server
	dotLn    net.Listener
	dnsDone  chan struct{}
	dnsClose sync.Once
	proxyLn  net.Listener
	proxySrv *http.Server
	proxyTr  *http.Transport
	tunnelMu sync.Mutex
	tunnels  map[net.Conn]struct{}

	mu   sync.Mutex
	seen []Seen
}

// Start starts the listeners cfg names.
func Start(cfg Config) (*Server, error) {
	if err := checkTLSConfig(cfg); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg}
	var err error
	if cfg.HTTP != "" {
		if s.httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
			return nil, fmt.Errorf("target: http listener: %w", err)
		}
		s.httpSrv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, Protocols: new(http.Protocols)}
		s.httpSrv.Protocols.SetHTTP1(true)
		s.httpSrv.Protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = s.httpSrv.Serve(s.httpLn) }()
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
	if cfg.HTTPS != "" {
		if err := s.startHTTPS(); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.DNS != "" {
		if err := s.startDNS(); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.DoT != "" {
		if err := s.startDoT(); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.Proxy != "" {
		if err := s.startProxy(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// StartEphemeral starts every listener on a free loopback port, with
// recording on: the target tests use.
func StartEphemeral() (*Server, error) {
	return Start(EphemeralConfig())
}

// Env names the target's addresses in the environment variables the
// scenarios under testdata/ read: NTX_TARGET_HTTP, _TCP, _UDP, _HTTPS
// (HTTP/3 on the same port over UDP), _DNS, _DOT, _PROXY, and NTX_TARGET_CA, the
// file the CA was written to (when Config.CAOut is set).
func (s *Server) Env() map[string]string {
	env := map[string]string{"NTX_TARGET_HTTP": s.HTTPAddr(), "NTX_TARGET_TCP": s.TCPAddr(), "NTX_TARGET_UDP": s.UDPAddr(),
		"NTX_TARGET_HTTPS": s.HTTPSAddr(), "NTX_TARGET_DNS": s.DNSAddr(), "NTX_TARGET_DOT": s.DoTAddr(),
		"NTX_TARGET_PROXY": s.ProxyAddr()}
	if s.cfg.CAOut != "" && s.ca != nil {
		env["NTX_TARGET_CA"] = s.cfg.CAOut
	}
	return env
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

// Close stops every listener, cuts open connections and waits for the
// servers to return.
func (s *Server) Close() {
	// Not Shutdown: an HTTP/2 connection counts as active until its
	// client closes it, so a graceful stop would wait out its timeout.
	if s.httpSrv != nil {
		_ = s.httpSrv.Close()
	}
	if s.tcpLn != nil {
		_ = s.tcpLn.Close()
	}
	if s.udp != nil {
		_ = s.udp.Close()
	}
	s.closeHTTPS()
	s.closeDNS()
	s.closeProxy()
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
		if conn := hijack(w); conn != nil {
			resetOnClose(conn).Close()
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
		resetOnClose(conn).Close()
	})
	mux.HandleFunc("/ip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, hostOf(r.RemoteAddr))
	})
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.record(seenOf(r, body))
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

// resetOnClose makes closing conn send a TCP reset rather than a FIN.
// Under TLS it returns the TCP connection, to be closed without a
// close_notify: the reset is the fault, whatever the protocol above.
func resetOnClose(conn net.Conn) net.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return conn
}

// hijack takes the raw connection from the HTTP server, or nil. HTTP/2
// and HTTP/3 have no connection to take: there the request's stream is
// reset instead (the server turns http.ErrAbortHandler into RST_STREAM).
func hijack(w http.ResponseWriter) net.Conn {
	h, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
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
					s.record(Seen{Proto: "tcp", Network: "tcp", Source: hostOf(c.RemoteAddr().String()), Addr: c.RemoteAddr().String(), Body: line})
					flood(c)
					return
				}
				if line != "" {
					s.record(Seen{Proto: "tcp", Network: "tcp", Source: hostOf(c.RemoteAddr().String()), Addr: c.RemoteAddr().String(), Body: line})
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
		s.record(Seen{Proto: "udp", Network: "udp", Source: hostOf(from.String()), Addr: from.String(), Body: string(buf[:n])})
		_, _ = s.udp.WriteTo(buf[:n], from)
	}
}
