package target

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The proxy listener is an HTTP proxy for the http section's proxy key:
// CONNECT tunnels (what a client uses for https://) and absolute-form
// requests (plain http://). It reaches loopback only: IP literals on
// loopback, localhost and names under ntx.test (mapped as the DNS zone
// maps them), so that it cannot be used to reach anything else.

// startProxy starts the proxy listener on cfg.Proxy.
func (s *Server) startProxy() error {
	ln, err := net.Listen("tcp", s.cfg.Proxy)
	if err != nil {
		return fmt.Errorf("target: proxy listener: %w", err)
	}
	s.proxyLn = ln
	s.tunnels = map[net.Conn]struct{}{}
	s.proxyTr = &http.Transport{DialContext: proxyDial, DisableCompression: true, MaxIdleConnsPerHost: 16}
	s.proxySrv = &http.Server{Handler: http.HandlerFunc(s.serveProxy), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = s.proxySrv.Serve(ln) }()
	return nil
}

// closeProxy stops the proxy and cuts its tunnels, which the HTTP server
// no longer tracks once they are hijacked.
func (s *Server) closeProxy() {
	if s.proxySrv == nil {
		return
	}
	_ = s.proxySrv.Close()
	s.proxyTr.CloseIdleConnections()
	s.tunnelMu.Lock()
	for c := range s.tunnels {
		_ = c.Close()
	}
	s.tunnels = nil
	s.tunnelMu.Unlock()
}

// ProxyAddr returns the proxy's address, or "" if off.
func (s *Server) ProxyAddr() string { return addrOf(s.proxyLn) }

// track remembers an open tunnel connection for closeProxy; false when
// the proxy is already closed.
func (s *Server) track(c net.Conn, open bool) bool {
	s.tunnelMu.Lock()
	defer s.tunnelMu.Unlock()
	if s.tunnels == nil {
		return false
	}
	if open {
		s.tunnels[c] = struct{}{}
	} else {
		delete(s.tunnels, c)
	}
	return true
}

// serveProxy answers one proxy request: it is recorded with Proto
// "proxy", Method CONNECT (or the request's method) and Path the
// destination (host:port, or the absolute URL).
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request) {
	dest := r.Host
	if r.Method != http.MethodConnect {
		dest = r.URL.String()
	}
	v := Seen{Proto: "proxy", Method: r.Method, Path: dest, Source: hostOf(r.RemoteAddr), Addr: r.RemoteAddr,
		Header: r.Header.Clone(), Version: r.Proto, Network: "tcp"}
	s.record(v)
	if s.cfg.ProxyAuth != "" && !proxyAuthorized(r.Header.Get("Proxy-Authorization"), s.cfg.ProxyAuth) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="ntx"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		s.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Scheme != "http" {
		http.Error(w, "a proxy request names an absolute http:// URL, or is a CONNECT", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	resp, err := s.proxyTr.RoundTrip(out)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), proxyErrorStatus(err))
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tunnel answers CONNECT: it dials the destination, says 200 and copies
// bytes both ways until either side closes.
func (s *Server) tunnel(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	up, err := proxyDial(ctx, "tcp", r.Host)
	cancel()
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), proxyErrorStatus(err))
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "CONNECT needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if !s.track(down, true) || !s.track(up, true) {
		down.Close()
		up.Close()
		return
	}
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		down.Close()
		up.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	// Bytes the client sent after its CONNECT (a TLS ClientHello sent
	// eagerly) are in buf already.
	go func() { defer wg.Done(); _, _ = io.Copy(up, buf.Reader); closeWrite(up) }()
	go func() { defer wg.Done(); _, _ = io.Copy(down, up); closeWrite(down) }()
	wg.Wait()
	s.track(down, false)
	s.track(up, false)
	down.Close()
	up.Close()
}

// closeWrite half-closes a TCP connection, so that the other side sees
// the end of what was sent while its own direction still flows.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	_ = c.Close()
}

// errNotLoopback refuses a destination the proxy will not reach.
type errNotLoopback struct{ host string }

func (e errNotLoopback) Error() string {
	return fmt.Sprintf("%s is not on loopback: the target's proxy reaches 127.0.0.0/8, ::1, localhost and *.ntx.test only", e.host)
}

func proxyErrorStatus(err error) int {
	if _, ok := err.(errNotLoopback); ok {
		return http.StatusForbidden
	}
	return http.StatusBadGateway
}

// proxyDial dials addr if it is on loopback (see the comment at the top).
func proxyDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case ip != nil:
	case name == "localhost":
		ip = net.IPv4(127, 0, 0, 1)
	case name == Zone || strings.HasSuffix(name, "."+Zone):
		ip = net.IPv4(127, 0, 0, 1)
		if ls := labelsOf(name + "."); len(ls) > 0 {
			if v := net.ParseIP(strings.ReplaceAll(ls[0], "-", ".")); v != nil && v.To4() != nil {
				ip = v
			}
		}
	}
	if ip == nil || !ip.IsLoopback() {
		return nil, errNotLoopback{host}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
}

// proxyAuthorized checks a Proxy-Authorization header against
// "user:password".
func proxyAuthorized(header, want string) bool {
	enc, ok := strings.CutPrefix(header, "Basic ")
	if !ok {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	return err == nil && subtle.ConstantTimeCompare(got, []byte(want)) == 1
}
