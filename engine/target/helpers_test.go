package target

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// start starts a target with cfg (EphemeralConfig when nil) and closes
// it when the test ends.
func start(t *testing.T, cfg *Config) *Server {
	t.Helper()
	c := EphemeralConfig()
	if cfg != nil {
		c = *cfg
	}
	srv, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// portOf returns the port of a host:port address.
func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dialRecorder dials TCP from a fixed loopback source address (127.0.0.2
// unless changed) and remembers the local address of every connection.
type dialRecorder struct {
	from  string
	mu    sync.Mutex
	local []string
}

func (d *dialRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	dl := net.Dialer{Timeout: 5 * time.Second}
	if d.from != "" {
		dl.LocalAddr = &net.TCPAddr{IP: net.ParseIP(d.from)}
	}
	c, err := dl.DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.local = append(d.local, c.LocalAddr().String())
		d.mu.Unlock()
	}
	return c, err
}

func (d *dialRecorder) locals() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.local...)
}

// client returns an HTTP client speaking the given protocols, trusting
// roots (tc may be nil), dialing through d.
func client(d *dialRecorder, tc *tls.Config, h1, h2, h2c bool) *http.Client {
	// A transport sets NextProtos in its TLS config: each gets a copy.
	tr := &http.Transport{DialContext: d.dial, TLSClientConfig: tc.Clone(), Protocols: new(http.Protocols)}
	tr.Protocols.SetHTTP1(h1)
	tr.Protocols.SetHTTP2(h2)
	tr.Protocols.SetUnencryptedHTTP2(h2c)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get fetches url and returns the response with its body read.
func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, string(b)
}

// only returns the entries of srv.Seen() with the given Proto, failing
// unless there are exactly n.
func only(t *testing.T, srv *Server, proto string, n int) []Seen {
	t.Helper()
	var out []Seen
	for _, v := range srv.Seen() {
		if v.Proto == proto {
			out = append(out, v)
		}
	}
	if len(out) != n {
		t.Fatalf("want %d %s entries, got %d: %+v", n, proto, len(out), out)
	}
	return out
}

// writeTemp writes data to a file in the test's temporary directory.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
