package target

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// TLS versions by the names scenarios use ("1.0" .. "1.3").
var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

// ParseTLSVersion reads "1.0" .. "1.3"; "" gives 0 (the default).
func ParseTLSVersion(s string) (uint16, error) {
	if s == "" {
		return 0, nil
	}
	v, ok := tlsVersions[s]
	if !ok {
		return 0, fmt.Errorf("TLS version %q: want 1.0, 1.1, 1.2 or 1.3", s)
	}
	return v, nil
}

// versionName is the inverse of ParseTLSVersion.
func versionName(v uint16) string {
	for name, x := range tlsVersions {
		if x == v {
			return name
		}
	}
	return fmt.Sprintf("0x%04x", v)
}

// checkTLSConfig refuses TLS settings that nothing would use, rather than
// ignoring them: a CA to write, a certificate or a client CA without an
// HTTPS or DNS-over-TLS listener.
func checkTLSConfig(cfg Config) error {
	if cfg.HTTPS != "" || cfg.DoT != "" {
		return nil
	}
	for _, f := range []struct {
		set  bool
		name string
	}{
		{cfg.CAOut != "", "a CA to write"},
		{cfg.CertFile != "" || cfg.KeyFile != "" || cfg.Certificate != nil, "a certificate"},
		{cfg.ClientCAFile != "" || cfg.ClientCAs != nil, "a client CA"},
	} {
		if f.set {
			return fmt.Errorf("target: %s, but no HTTPS or DNS over TLS listener to use it", f.name)
		}
	}
	return nil
}

// serverTLS returns the TLS configuration HTTPS and DNS over TLS share,
// making it on first use.
func (s *Server) serverTLS() (*tls.Config, error) {
	if s.tlsConf == nil {
		conf, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		s.tlsConf = conf
	}
	return s.tlsConf, nil
}

// tlsConfig builds the server's TLS configuration: the certificate from
// cfg.CertFile/KeyFile, or one signed by a CA made now (written to
// cfg.CAOut when set); client certificates asked for when a client CA
// is configured.
func (s *Server) tlsConfig() (*tls.Config, error) {
	cfg := s.cfg
	var cert tls.Certificate
	var err error
	switch {
	case cfg.Certificate != nil:
		cert = *cfg.Certificate
	case cfg.CertFile != "" || cfg.KeyFile != "":
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, fmt.Errorf("target: a certificate needs both a cert file and a key file")
		}
		if cert, err = tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile); err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
	default:
		if s.ca, err = NewCA("ntx target CA"); err != nil {
			return nil, err
		}
		if cert, err = s.ca.IssueTLS(Leaf{CommonName: "ntx target", Hosts: DefaultHosts}); err != nil {
			return nil, err
		}
	}
	if cfg.CAOut != "" {
		if s.ca == nil {
			return nil, fmt.Errorf("target: no CA to write to %s: the certificate was given, not made", cfg.CAOut)
		}
		if err := os.WriteFile(cfg.CAOut, s.ca.PEM(), 0o644); err != nil {
			return nil, fmt.Errorf("target: writing the CA: %w", err)
		}
	}
	// Old versions are accepted by default so that clients can test
	// their own version limits against the target.
	conf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS10,
		MaxVersion:   tls.VersionTLS13,
	}
	if cfg.TLSMinVersion != 0 {
		conf.MinVersion = cfg.TLSMinVersion
	}
	if cfg.TLSMaxVersion != 0 {
		conf.MaxVersion = cfg.TLSMaxVersion
	}
	pool := cfg.ClientCAs
	if cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("target: client CA: %w", err)
		}
		if pool == nil {
			pool = x509.NewCertPool()
		} else {
			pool = pool.Clone()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("target: client CA %s: no PEM certificate in it", cfg.ClientCAFile)
		}
	}
	if pool != nil {
		conf.ClientCAs = pool
		conf.ClientAuth = tls.RequireAndVerifyClientCert
		if cfg.ClientCertOptional {
			conf.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return conf, nil
}

// startHTTPS starts the TLS listener (HTTP/2 and HTTP/1.1 by ALPN) and,
// when cfg.HTTP3 is set, HTTP/3 on the same port number over UDP.
func (s *Server) startHTTPS() error {
	conf, err := s.serverTLS()
	if err != nil {
		return err
	}
	if s.httpsLn, s.h3conn, err = listenSamePort(s.cfg.HTTPS, s.cfg.HTTP3); err != nil {
		return fmt.Errorf("target: https listener: %w", err)
	}
	h := s.handler()
	if s.h3conn != nil {
		_, port, _ := net.SplitHostPort(s.httpsLn.Addr().String())
		h = altSvc(h, fmt.Sprintf(`h3=":%s"; ma=3600`, port))
	}
	s.httpsSrv = &http.Server{
		Handler:           h,
		TLSConfig:         conf.Clone(), // the server adds its ALPN protocols to it
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(tlsErrorLog{s}, "", 0),
		Protocols:         new(http.Protocols),
	}
	s.httpsSrv.Protocols.SetHTTP1(true)
	s.httpsSrv.Protocols.SetHTTP2(true)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = s.httpsSrv.ServeTLS(s.httpsLn, "", "") }()
	if s.h3conn != nil {
		return s.startHTTP3(s.handler())
	}
	return nil
}

// closeHTTPS stops the TLS and HTTP/3 servers.
func (s *Server) closeHTTPS() {
	if s.httpsSrv != nil {
		_ = s.httpsSrv.Close()
	} else if s.httpsLn != nil {
		_ = s.httpsLn.Close()
	}
	s.closeHTTP3()
}

// CAPEM returns, in PEM, the CA that signed the certificate the target
// made at start, for a client to trust; nil when the certificate was
// given (--cert/--key) or HTTPS is off.
func (s *Server) CAPEM() []byte {
	if s.ca == nil {
		return nil
	}
	return s.ca.PEM()
}

// CAPool returns the same CA as a pool for a Go client's RootCAs, or nil.
func (s *Server) CAPool() *x509.CertPool {
	if s.ca == nil {
		return nil
	}
	return s.ca.Pool()
}

// CertPool is CAPool: a pool that trusts the HTTPS certificate, or nil.
func (s *Server) CertPool() *x509.CertPool { return s.CAPool() }

// HTTPSAddr returns the TLS listener's address ("" if off); HTTP/3, when
// on, listens on the same address over UDP.
func (s *Server) HTTPSAddr() string { return addrOf(s.httpsLn) }

// HTTP3Addr returns the HTTP/3 (QUIC) UDP address, or "" if off.
func (s *Server) HTTP3Addr() string {
	if s.h3conn == nil {
		return ""
	}
	return s.h3conn.LocalAddr().String()
}

// altSvc announces HTTP/3 on every response, as servers that speak it do.
func altSvc(h http.Handler, value string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Alt-Svc", value)
		h.ServeHTTP(w, r)
	})
}

// tlsErrorLog receives the HTTPS server's error log and records failed
// handshakes (a client that does not trust the certificate, or presents
// none when one is required) as Seen entries with Proto "tls"; the
// server's other messages are dropped.
type tlsErrorLog struct{ s *Server }

func (l tlsErrorLog) Write(p []byte) (int, error) {
	const prefix = "http: TLS handshake error from "
	line := string(bytes.TrimSpace(p))
	if rest, ok := strings.CutPrefix(line, prefix); ok {
		// rest is "ADDR: REASON"; an IPv6 ADDR holds colons but no ": ".
		addr, reason, _ := strings.Cut(rest, ": ")
		l.s.record(Seen{Proto: "tls", Network: "tcp", Source: hostOf(addr), Addr: addr, Body: reason})
	}
	return len(p), nil
}

// listenSamePort listens on addr over TCP and, when withUDP is set, on
// the same port over UDP. Port 0 picks a port free for both (retrying
// when the UDP port of a fresh TCP port is taken).
func listenSamePort(addr string, withUDP bool) (net.Listener, net.PacketConn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	tries := 1
	if port == "0" {
		tries = 20
	}
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", addr)
		if err != nil || !withUDP {
			return ln, nil, err
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err == nil {
			return ln, pc, nil
		}
		ln.Close()
		if i+1 >= tries {
			return nil, nil, fmt.Errorf("udp: %w", err)
		}
	}
}
