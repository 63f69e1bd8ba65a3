package target

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// TestResetOnEveryVersion: /reset resets the TCP connection over plain
// HTTP/1.1 and over TLS (no close_notify first), and the request's
// stream over HTTP/2 and HTTP/3, which have no connection to give away.
func TestResetOnEveryVersion(t *testing.T) {
	srv := start(t, nil)
	d := &dialRecorder{}
	roots := &tls.Config{RootCAs: srv.CAPool()}
	https := "https://localhost:" + portOf(t, srv.HTTPSAddr())
	for _, c := range []struct {
		name, url string
		client    *http.Client
		want      func(error) bool
	}{
		{"http/1.1", "http://" + srv.HTTPAddr(), client(d, nil, true, false, false), isReset},
		{"https/1.1", https, client(d, roots, true, false, false), isReset},
		{"h2c", "http://" + srv.HTTPAddr(), client(d, nil, false, false, true), isStreamError},
		{"h2", https, client(d, roots, false, true, false), isStreamError},
	} {
		for _, path := range []string{"/reset", "/reset-after/headers"} {
			resp, err := c.client.Get(c.url + path)
			if err == nil {
				// /reset-after/headers: the headers arrive, the body fails.
				_, err = readAll(resp)
			}
			if err == nil || !c.want(err) {
				t.Errorf("%s %s: %v; want a reset", c.name, path, err)
			}
		}
	}
	tr := &http3.Transport{TLSClientConfig: roots.Clone()}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", https+"/reset", nil)
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "H3_INTERNAL_ERROR") {
		t.Errorf("h3 /reset: %v; want the stream reset", err)
	}
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			if err.Error() == "EOF" {
				return []byte(b.String()), nil
			}
			return nil, err
		}
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func isStreamError(err error) bool {
	return strings.Contains(err.Error(), "stream error") || strings.Contains(err.Error(), "INTERNAL_ERROR")
}
