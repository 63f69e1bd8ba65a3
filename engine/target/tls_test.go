package target

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitSeen waits (up to 5 s) for an entry matching ok: a failed
// handshake is logged by the server after the client has seen it fail.
func waitSeen(t *testing.T, srv *Server, ok func(Seen) bool) Seen {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, v := range srv.Seen() {
			if ok(v) {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching entry in %+v", srv.Seen())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHTTPSSpeaksHTTP2AndHTTP1AndRecordsTheHandshake(t *testing.T) {
	srv := start(t, nil)
	port := portOf(t, srv.HTTPSAddr())
	d := &dialRecorder{from: "127.0.0.2"}
	roots := &tls.Config{RootCAs: srv.CAPool()}

	resp, body := get(t, client(d, roots, true, true, false), "https://localhost:"+port+"/health")
	if resp.Proto != "HTTP/2.0" || !strings.Contains(body, "ok") {
		t.Fatalf("h2: proto %s body %q", resp.Proto, body)
	}
	if got, want := resp.Header.Get("Alt-Svc"), `h3=":`+port+`"; ma=3600`; got != want {
		t.Errorf("Alt-Svc %q, want %q", got, want)
	}
	// Go's HTTP/1.1-only client offers no ALPN at all.
	resp, _ = get(t, client(d, roots, true, false, false), "https://localhost:"+port+"/health")
	if resp.Proto != "HTTP/1.1" {
		t.Fatalf("h1: proto %s", resp.Proto)
	}
	seen := only(t, srv, "http", 2)
	locals := d.locals()
	for i, want := range []struct{ version, alpn string }{{"HTTP/2.0", "h2"}, {"HTTP/1.1", ""}} {
		v := seen[i]
		if v.Version != want.version || v.ALPN != want.alpn || v.SNI != "localhost" || v.TLSVersion != "1.3" ||
			v.Network != "tcp" || v.Source != "127.0.0.2" || v.Addr != locals[i] || v.ClientCert != "" || v.Path != "/health" {
			t.Errorf("request %d recorded as %+v; want %s, ALPN %s, SNI localhost, TLS 1.3 from %s", i, v, want.version, want.alpn, locals[i])
		}
	}
}

func TestHTTPSRecordsSNIAndVersion(t *testing.T) {
	srv := start(t, nil)
	port := portOf(t, srv.HTTPSAddr())
	d := &dialRecorder{}
	// A name under *.ntx.test sent as SNI to the loopback address, and
	// TLS held to 1.2.
	tc := &tls.Config{RootCAs: srv.CAPool(), ServerName: "api.ntx.test", MaxVersion: tls.VersionTLS12}
	get(t, client(d, tc, true, true, false), "https://127.0.0.1:"+port+"/ip")
	// An IP literal: Go sends no SNI, and the certificate's IP SAN verifies.
	get(t, client(d, &tls.Config{RootCAs: srv.CAPool()}, true, true, false), "https://127.0.0.1:"+port+"/ip")
	seen := only(t, srv, "http", 2)
	if seen[0].SNI != "api.ntx.test" || seen[0].TLSVersion != "1.2" || seen[0].ALPN != "h2" {
		t.Errorf("first request: %+v", seen[0])
	}
	if seen[1].SNI != "" || seen[1].TLSVersion != "1.3" {
		t.Errorf("second request: %+v", seen[1])
	}
}

func TestHTTPSVersionLimitsAndUntrustedClients(t *testing.T) {
	cfg := EphemeralConfig()
	cfg.TLSMaxVersion = tls.VersionTLS12
	srv := start(t, &cfg)
	url := "https://127.0.0.1:" + portOf(t, srv.HTTPSAddr()) + "/health"
	d := &dialRecorder{}

	// A client that requires 1.3 cannot talk to a target limited to 1.2.
	_, err := client(d, &tls.Config{RootCAs: srv.CAPool(), MinVersion: tls.VersionTLS13}, true, true, false).Get(url)
	if err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("want a protocol version error, got %v", err)
	}
	waitSeen(t, srv, func(v Seen) bool { return v.Proto == "tls" && strings.Contains(v.Body, "version") })

	// A client that does not trust the CA rejects the certificate; the
	// target records the handshake that failed and where it came from.
	srv.Reset()
	_, err = client(d, &tls.Config{}, true, true, false).Get(url)
	if err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("want an unknown authority error, got %v", err)
	}
	v := waitSeen(t, srv, func(v Seen) bool { return v.Proto == "tls" })
	locals := d.locals()
	if v.Addr != locals[len(locals)-1] || v.Source != "127.0.0.1" || !strings.Contains(v.Body, "bad certificate") {
		t.Errorf("failed handshake recorded as %+v; want from %s with bad certificate", v, locals[len(locals)-1])
	}
	only(t, srv, "http", 0)
}

func TestHTTPSCAOutAndEnv(t *testing.T) {
	cfg := EphemeralConfig()
	cfg.CAOut = filepath.Join(t.TempDir(), "ca.pem")
	srv := start(t, &cfg)
	pemBytes, err := os.ReadFile(cfg.CAOut)
	if err != nil {
		t.Fatal(err)
	}
	if string(pemBytes) != string(srv.CAPEM()) {
		t.Fatal("the CA written differs from CAPEM")
	}
	block, _ := pem.Decode(pemBytes)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CA out: %v (IsCA %v)", err, ca != nil && ca.IsCA)
	}
	env := srv.Env()
	if env["NTX_TARGET_CA"] != cfg.CAOut || env["NTX_TARGET_HTTPS"] != srv.HTTPSAddr() || env["NTX_TARGET_DNS"] != srv.DNSAddr() {
		t.Fatalf("env %v", env)
	}
	// The served certificate chains to the CA for every default host.
	conn, err := tls.Dial("tcp", srv.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "ntx.test", "www.ntx.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"}); err == nil {
		t.Error("the certificate verifies for example.com")
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
	}
}

func TestHTTPSWithAGivenCertificate(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(Leaf{CommonName: "given", Hosts: []string{"127.0.0.1", "given.test"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := EphemeralConfig()
	cfg.CertFile, cfg.KeyFile = writeTemp(t, "cert.pem", certPEM), writeTemp(t, "key.pem", keyPEM)
	srv := start(t, &cfg)
	if srv.CAPEM() != nil {
		t.Error("CAPEM with a given certificate")
	}
	d := &dialRecorder{}
	tc := &tls.Config{RootCAs: ca.Pool(), ServerName: "given.test"}
	if resp, _ := get(t, client(d, tc, true, true, false), "https://"+srv.HTTPSAddr()+"/health"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if v := only(t, srv, "http", 1)[0]; v.SNI != "given.test" {
		t.Errorf("SNI %q", v.SNI)
	}

	// A certificate without its key, or a CA to write that was not made,
	// is an error at start.
	bad := cfg
	bad.KeyFile = ""
	if _, err := Start(bad); err == nil || !strings.Contains(err.Error(), "key file") {
		t.Errorf("cert without key: %v", err)
	}
	bad = cfg
	bad.CAOut = filepath.Join(t.TempDir(), "ca.pem")
	if _, err := Start(bad); err == nil || !strings.Contains(err.Error(), "no CA") {
		t.Errorf("CAOut with a given cert: %v", err)
	}
}

func TestMutualTLSRecordsTheClientCertificate(t *testing.T) {
	clientCA, err := NewCA("clients")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("strangers")
	if err != nil {
		t.Fatal(err)
	}
	cfg := EphemeralConfig()
	cfg.ClientCAFile = writeTemp(t, "clients.pem", clientCA.PEM())
	srv := start(t, &cfg)
	url := "https://localhost:" + portOf(t, srv.HTTPSAddr()) + "/health"
	d := &dialRecorder{from: "127.0.0.3"}
	withCert := func(ca *CA, cn string) *tls.Config {
		cert, err := ca.IssueTLS(Leaf{CommonName: cn, Client: true})
		if err != nil {
			t.Fatal(err)
		}
		// GetClientCertificate, unlike Certificates, sends the
		// certificate even when the target does not list its CA.
		return &tls.Config{RootCAs: srv.CAPool(), GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		}}
	}

	for _, proto := range []struct{ h1, h2 bool }{{true, false}, {false, true}} {
		get(t, client(d, withCert(clientCA, "user-7"), proto.h1, proto.h2, false), url)
	}
	for _, v := range only(t, srv, "http", 2) {
		if v.ClientCert != "CN=user-7,O=ntx" || v.Source != "127.0.0.3" {
			t.Errorf("recorded %+v; want client CN=user-7,O=ntx from 127.0.0.3", v)
		}
	}

	// No certificate, or one from a CA the target does not trust: the
	// handshake fails and nothing reaches HTTP.
	srv.Reset()
	if _, err := client(d, &tls.Config{RootCAs: srv.CAPool()}, true, true, false).Get(url); err == nil {
		t.Error("a client without a certificate got through")
	}
	waitSeen(t, srv, func(v Seen) bool { return v.Proto == "tls" && strings.Contains(v.Body, "certificate") })
	srv.Reset()
	if _, err := client(d, withCert(other, "intruder"), true, true, false).Get(url); err == nil {
		t.Error("a client with an untrusted certificate got through")
	}
	waitSeen(t, srv, func(v Seen) bool { return v.Proto == "tls" && strings.Contains(v.Body, "unknown authority") })
	only(t, srv, "http", 0)
}

func TestOptionalClientCertificate(t *testing.T) {
	clientCA, err := NewCA("clients")
	if err != nil {
		t.Fatal(err)
	}
	cfg := EphemeralConfig()
	cfg.ClientCAs, cfg.ClientCertOptional = clientCA.Pool(), true
	srv := start(t, &cfg)
	url := "https://localhost:" + portOf(t, srv.HTTPSAddr()) + "/health"
	d := &dialRecorder{}
	get(t, client(d, &tls.Config{RootCAs: srv.CAPool()}, true, false, false), url)
	cert, err := clientCA.IssueTLS(Leaf{CommonName: "opt", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	get(t, client(d, &tls.Config{RootCAs: srv.CAPool(), Certificates: []tls.Certificate{cert}}, true, false, false), url)
	seen := only(t, srv, "http", 2)
	if seen[0].ClientCert != "" || seen[1].ClientCert != "CN=opt,O=ntx" {
		t.Errorf("client certs recorded: %q, %q", seen[0].ClientCert, seen[1].ClientCert)
	}
}

func TestH2CWithPriorKnowledge(t *testing.T) {
	srv := start(t, nil)
	d := &dialRecorder{from: "127.0.0.2"}
	resp, _ := get(t, client(d, nil, false, false, true), "http://"+srv.HTTPAddr()+"/asset")
	if resp.Proto != "HTTP/2.0" {
		t.Fatalf("h2c: proto %s", resp.Proto)
	}
	resp, _ = get(t, client(d, nil, true, false, false), "http://"+srv.HTTPAddr()+"/asset")
	if resp.Proto != "HTTP/1.1" {
		t.Fatalf("plain: proto %s", resp.Proto)
	}
	seen := only(t, srv, "http", 2)
	locals := d.locals()
	for i, want := range []string{"HTTP/2.0", "HTTP/1.1"} {
		v := seen[i]
		if v.Version != want || v.TLSVersion != "" || v.ALPN != "" || v.SNI != "" || v.Addr != locals[i] || v.Network != "tcp" {
			t.Errorf("request %d: %+v; want %s from %s without TLS", i, v, want, locals[i])
		}
	}
}

func TestListenersOnTheSamePort(t *testing.T) {
	srv := start(t, nil)
	if portOf(t, srv.HTTP3Addr()) != portOf(t, srv.HTTPSAddr()) {
		t.Errorf("HTTP/3 on %s, HTTPS on %s", srv.HTTP3Addr(), srv.HTTPSAddr())
	}
	// Asking for a taken port fails with the listener's name.
	cfg := Config{HTTPS: srv.HTTPSAddr()}
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "https listener") {
		t.Errorf("taken HTTPS port: %v", err)
	}
	cfg = Config{DNS: srv.DNSAddr()}
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "dns listener") {
		t.Errorf("taken DNS port: %v", err)
	}
	// HTTPS without HTTP/3 leaves the UDP port alone.
	one := start(t, &Config{HTTPS: "127.0.0.1:0"})
	if one.HTTP3Addr() != "" || one.DNSAddr() != "" || one.HTTPAddr() != "" {
		t.Errorf("unasked listeners: h3 %q dns %q http %q", one.HTTP3Addr(), one.DNSAddr(), one.HTTPAddr())
	}
	pc, err := net.ListenPacket("udp", one.HTTPSAddr())
	if err != nil {
		t.Errorf("the UDP port of HTTPS without HTTP/3 is taken: %v", err)
	} else {
		pc.Close()
	}
}

func TestHTTPSRecordsCipherAndResumption(t *testing.T) {
	srv := start(t, nil)
	url := "https://localhost:" + portOf(t, srv.HTTPSAddr()) + "/health"
	d := &dialRecorder{}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		srv.Reset()
		tc := &tls.Config{RootCAs: srv.CAPool(), MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(4),
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
		c := client(d, tc, true, false, false)
		c.Transport.(*http.Transport).DisableKeepAlives = true // a handshake per request
		get(t, c, url)
		get(t, c, url)
		seen := only(t, srv, "http", 2)
		if seen[0].Addr == seen[1].Addr {
			t.Fatalf("TLS %s: both requests on one connection", versionName(version))
		}
		if seen[0].Resumed || !seen[1].Resumed {
			t.Errorf("TLS %s: resumed %v then %v; want a full handshake, then a resumed one", versionName(version), seen[0].Resumed, seen[1].Resumed)
		}
		// TLS 1.3 suites are not configurable; 1.2 uses the one asked for.
		want := "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
		if version == tls.VersionTLS13 {
			want = seen[0].Cipher
			if !strings.HasPrefix(want, "TLS_AES_") && !strings.HasPrefix(want, "TLS_CHACHA20_") {
				t.Errorf("TLS 1.3 cipher %q", want)
			}
		}
		if seen[0].Cipher != want || seen[1].Cipher != want {
			t.Errorf("TLS %s: ciphers %q, %q; want %s", versionName(version), seen[0].Cipher, seen[1].Cipher, want)
		}
	}
}

// TestHTTPSWithACertificateFromCode serves an expired certificate made in
// the test: the client's verification fails, and the target records the
// handshake it lost.
func TestHTTPSWithACertificateFromCode(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueTLS(Leaf{CommonName: "old", Hosts: []string{"127.0.0.1"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := EphemeralConfig()
	cfg.Certificate = &cert
	srv := start(t, &cfg)
	_, err = client(&dialRecorder{}, &tls.Config{RootCAs: ca.Pool()}, true, true, false).Get("https://" + srv.HTTPSAddr() + "/health")
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("want an expired certificate error, got %v", err)
	}
	waitSeen(t, srv, func(v Seen) bool { return v.Proto == "tls" && strings.Contains(v.Body, "bad certificate") })
	if srv.CAPEM() != nil {
		t.Error("CAPEM with a certificate given")
	}
}

func TestTLSSettingsWithoutATLSListener(t *testing.T) {
	for _, cfg := range []Config{
		{HTTP: "127.0.0.1:0", CAOut: filepath.Join(t.TempDir(), "ca.pem")},
		{HTTP: "127.0.0.1:0", CertFile: "c.pem", KeyFile: "k.pem"},
		{HTTP: "127.0.0.1:0", ClientCAFile: "ca.pem"},
	} {
		if srv, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "no HTTPS or DNS over TLS listener") {
			if srv != nil {
				srv.Close()
			}
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	// DNS over TLS alone makes (and writes) the CA.
	cfg := Config{DoT: "127.0.0.1:0", CAOut: filepath.Join(t.TempDir(), "ca.pem")}
	srv := start(t, &cfg)
	if b, err := os.ReadFile(cfg.CAOut); err != nil || string(b) != string(srv.CAPEM()) {
		t.Errorf("CA written with DNS over TLS only: %v", err)
	}
}
