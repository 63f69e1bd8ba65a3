package target

import (
	"fmt"
	"net/http"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// startHTTP3 serves HTTP/3 over QUIC on s.h3conn, the UDP socket on the
// HTTPS port number, with the same certificate and endpoints. The QUIC
// listener is made here rather than by http3.Server.Serve, so that it is
// listening (and its goroutines exist) when Start returns.
func (s *Server) startHTTP3(h http.Handler) error {
	ln, err := quic.ListenEarly(s.h3conn, http3.ConfigureTLSConfig(s.tlsConf.Clone()), &quic.Config{Allow0RTT: true})
	if err != nil {
		return fmt.Errorf("target: http/3 listener: %w", err)
	}
	s.h3ln = ln
	s.h3srv = &http3.Server{Handler: h}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = s.h3srv.ServeListener(ln) }()
	return nil
}

// closeHTTP3 closes the QUIC connections, the listener, then the UDP
// socket (which neither owns).
func (s *Server) closeHTTP3() {
	if s.h3srv != nil {
		_ = s.h3srv.Close()
	}
	if s.h3ln != nil {
		_ = s.h3ln.Close()
	}
	if s.h3conn != nil {
		_ = s.h3conn.Close()
	}
}
