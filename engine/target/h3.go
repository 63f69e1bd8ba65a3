package target

import (
	"net/http"

	"github.com/quic-go/quic-go/http3"
)

// startHTTP3 serves HTTP/3 over QUIC on s.h3conn, the UDP socket on the
// HTTPS port number, with the same certificate and endpoints.
func (s *Server) startHTTP3(h http.Handler) {
	s.h3srv = &http3.Server{Handler: h, TLSConfig: s.tlsConf.Clone()}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = s.h3srv.Serve(s.h3conn) }()
}

// closeHTTP3 closes the QUIC connections, then the UDP socket (which
// http3.Server.Serve does not own).
func (s *Server) closeHTTP3() {
	if s.h3srv != nil {
		_ = s.h3srv.Close()
	}
	if s.h3conn != nil {
		_ = s.h3conn.Close()
	}
}
