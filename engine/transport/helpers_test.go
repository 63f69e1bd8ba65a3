package transport_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/target"
	"github.com/ntx-dev/ntx/engine/target/targettest"
	"github.com/ntx-dev/ntx/engine/transport"
)

// startTarget starts the built-in target on ephemeral loopback ports.
func startTarget(t *testing.T) *target.Server {
	t.Helper()
	return targettest.Start(t)
}

// newTransport returns a transport closed when the test ends.
func newTransport(t *testing.T, opts transport.Options) *transport.Transport {
	t.Helper()
	tr := transport.New(opts)
	t.Cleanup(tr.Close)
	return tr
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// get sends a GET from src with a 5s timeout.
func get(t *testing.T, src *transport.Source, u string) *transport.Response {
	t.Helper()
	return src.Do(context.Background(), &transport.Request{Method: "GET", URL: mustURL(t, u), Timeout: 5 * time.Second})
}

// unbound is the source with no bound address.
var unbound = netip.Addr{}

// connCounter counts the connections a test server accepted and closed.
type connCounter struct {
	mu             sync.Mutex
	opened, closed int
}

func (c *connCounter) hook(_ net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case http.StateNew:
		c.opened++
	case http.StateClosed, http.StateHijacked:
		c.closed++
	}
}

func (c *connCounter) counts() (opened, closed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened, c.closed
}

// waitFor polls cond until it holds, failing the test after 10s. It
// waits for an event, it does not time one.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited 10s for %s", what)
}

// testCert makes a self-signed ECDSA certificate for 127.0.0.1 and
// localhost, and a pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ntx test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// startTLS serves h over TLS with a certificate the test made, counting
// connections; it returns the server and a pool that trusts it.
func startTLS(t *testing.T, h http.Handler) (*httptest.Server, *connCounter, *x509.CertPool) {
	t.Helper()
	cert, pool := testCert(t)
	srv := httptest.NewUnstartedServer(h)
	cc := &connCounter{}
	srv.Config.ConnState = cc.hook
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, cc, pool
}

// startHTTP serves h over plain HTTP, counting connections.
func startHTTP(t *testing.T, h http.Handler, configure ...func(*http.Server)) (*httptest.Server, *connCounter) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cc := &connCounter{}
	srv.Config.ConnState = cc.hook
	for _, f := range configure {
		f(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cc
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
