package engine_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// tlsTarget starts a target that asks for a client certificate signed
// by a CA of the test's own, and writes into dir what a scenario needs
// to talk to it: certs/ca.pem (the CA of the target's certificate),
// certs/client.pem and certs/client.key (a client certificate for
// "CN=user-1,O=ntx").
func tlsTarget(t *testing.T, dir string, mod func(*target.Config)) *target.Server {
	t.Helper()
	clients, err := target.NewCA("ntx test clients")
	if err != nil {
		t.Fatal(err)
	}
	cfg := target.EphemeralConfig()
	cfg.HTTP3, cfg.DoT, cfg.Proxy = false, "", ""
	cfg.ClientCAs = clients.Pool()
	cfg.ClientCertOptional = true
	if mod != nil {
		mod(&cfg)
	}
	srv, err := target.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	certPEM, keyPEM, err := clients.Issue(target.Leaf{CommonName: "user-1", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "certs/ca.pem", string(srv.CAPEM()))
	writeFile(t, dir, "certs/client.pem", string(certPEM))
	writeFile(t, dir, "certs/client.key", string(keyPEM))
	return srv
}

// seenAt returns what the target received on path, with query q.
func seenAt(srv *target.Server, path, q string) []target.Seen {
	settle(srv)
	var out []target.Seen
	for _, s := range srv.Seen() {
		if s.Proto == "http" && s.Path == path && s.Query == q {
			out = append(out, s)
		}
	}
	return out
}

// connections counts the distinct connections (source address and
// port) requests came on: with TLS, one handshake each.
func connections(seen []target.Seen) int {
	addrs := map[string]bool{}
	for _, s := range seen {
		addrs[s.Addr] = true
	}
	return len(addrs)
}

// TestHTTPSectionTLS: the top-level http: section's TLS settings reach
// the target (SNI, the client certificate it verified, the CA that
// verified it), keep_alive: false makes a handshake per request, and an
// action's tls: {max_version} overrides the section's key by key,
// keeping its ca, cert and key.
func TestHTTPSectionTLS(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, nil)
	_, port, _ := net.SplitHostPort(srv.HTTPSAddr())
	file := writeFile(t, dir, "tls.yaml", `
name: tls
http:
  keep_alive: false
  user_agent: ntx-test/1
  timeout: 5s
  tls:
    ca: certs/ca.pem
    cert: certs/client.pem
    key: certs/client.key
    server_name: api.ntx.test
load:
  ramp_up: {phases: [{spawn_users: 1}]}
  user_lifetime: {mode: loop, iterations: 3}
actions:
  - id: section
    call: get
    with: {url: "https://127.0.0.1:`+port+`/ip"}
  - id: override
    call: get
    with: {url: "https://127.0.0.1:`+port+`/ip?o=1", keep_alive: true, tls: {max_version: "1.2"}}
tasks:
  - {id: start, action: section, next: [{task: o}]}
  - {id: o, action: override}
`)
	res := runFile(t, file, nil)
	for _, id := range []string{"section", "override"} {
		if a := res.Actions[id]; a == nil || a.Count != 3 || a.OK != 3 {
			t.Fatalf("%s = %+v (errors %v), want 3 ok", id, a, res.Errors)
		}
	}
	section, override := seenAt(srv, "/ip", ""), seenAt(srv, "/ip", "o=1")
	if len(section) != 3 || len(override) != 3 {
		t.Fatalf("the target saw %d and %d requests, want 3 and 3", len(section), len(override))
	}
	for _, s := range append(section, override...) {
		if s.SNI != "api.ntx.test" || s.ClientCert != "CN=user-1,O=ntx" || s.Header.Get("User-Agent") != "ntx-test/1" {
			t.Errorf("the target saw SNI %q, client certificate %q, User-Agent %q; want api.ntx.test, CN=user-1,O=ntx, ntx-test/1",
				s.SNI, s.ClientCert, s.Header.Get("User-Agent"))
		}
	}
	for _, s := range section {
		if s.TLSVersion != "1.3" || s.Resumed && s.ClientCert == "" {
			t.Errorf("section: TLS %s", s.TLSVersion)
		}
	}
	for _, s := range override {
		if s.TLSVersion != "1.2" {
			t.Errorf("override: TLS %s, want 1.2 (max_version)", s.TLSVersion)
		}
	}
	if n := connections(section); n != 3 {
		t.Errorf("keep_alive: false made %d connections for 3 requests, want 3", n)
	}
	if n := connections(override); n != 1 {
		t.Errorf("keep_alive: true (the action's) made %d connections for 3 requests, want 1", n)
	}
}

// TestTLSCurves: tls curves chooses the key exchange of each full
// handshake, in YAML (the section's list, an action's replacing it) and in
// .star; without it Go's default, the post-quantum hybrid, is offered
// first and the target settles on it.
func TestTLSCurves(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, nil)
	_, port, _ := net.SplitHostPort(srv.HTTPSAddr())
	base := "https://127.0.0.1:" + port
	yml := writeFile(t, dir, "curves.yaml", `
name: curves
http: {keep_alive: false, tls: {ca: certs/ca.pem, curves: [X25519]}}
load:
  ramp_up: {phases: [{spawn_users: 1}]}
  user_lifetime: {mode: loop, iterations: 2}
actions:
  - {id: section, call: get, with: {url: "`+base+`/ip?c=section"}}
  - {id: p256, call: get, with: {url: "`+base+`/ip?c=p256", tls: {curves: [P256]}}}
tasks:
  - {id: start, action: section, next: [{task: p}]}
  - {id: p, action: p256}
`)
	star := writeFile(t, dir, "curves.star", `
scenario = {"name": "curves", "http": {"keep_alive": False, "tls": {"ca": "certs/ca.pem"}},
            "load": {"ramp_up": {"phases": [{"spawn_users": 1}]}, "user_lifetime": {"mode": "loop", "iterations": 2}}}

def flow(user):
    r = http.get("`+base+`/ip?c=default", name = "default")
    check(r.ok, "default: " + str(r.error))
    r = http.get("`+base+`/ip?c=p384", name = "p384", tls = {"curves": ["P384"]})
    check(r.ok, "p384: " + str(r.error))
`)
	for _, file := range []string{yml, star} {
		res := runFile(t, file, nil)
		for id, a := range res.Actions {
			if a.Count != 2 || a.OK != 2 {
				t.Errorf("%s: %s = %+v (errors %v), want 2 ok", filepath.Base(file), id, a, res.Errors)
			}
		}
	}
	settle(srv)
	want := map[string]string{"section": "X25519", "p256": "CurveP256", "default": "X25519MLKEM768", "p384": "CurveP384"}
	if strings.Contains(os.Getenv("GODEBUG"), "tlsmlkem=0") {
		want["default"] = "X25519" // the hybrid is switched off in this process
	}
	got := map[string]int{}
	for _, s := range srv.Seen() {
		c := queryValue(s.Query, "c")
		if s.Proto != "http" || c == "" {
			continue
		}
		got[c]++
		if s.Curve != want[c] {
			t.Errorf("%s: the target's handshake used %q, want %q", c, s.Curve, want[c])
		}
	}
	for c := range want {
		if got[c] != 2 {
			t.Errorf("%s: the target saw %d requests, want 2", c, got[c])
		}
	}
}

// TestTLSFailuresAreKindTLS: a server the scenario's CAs do not vouch
// for, a version range the server does not speak, and a server that
// wants a client certificate none was given for, each fail with kind tls
// and the reason first in the message; the .star scenario dict takes the
// same http: section.
func TestTLSFailuresAreKindTLS(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, func(c *target.Config) {
		c.ClientCertOptional = false
		c.TLSMaxVersion = tls.VersionTLS12
	})
	file := writeFile(t, dir, "fail.star", `
scenario = {"name": "fail", "http": {"tls": {"ca": "certs/ca.pem", "cert": "certs/client.pem", "key": "certs/client.key"}}}

def flow(user):
    base = "https://" + env.NTX_TEST_HTTPS
    r = http.get(base + "/ip", name = "mtls")
    check(r.ok, "the section's client certificate: " + str(r.error))
    r = http.get(base + "/ip", name = "version", tls = {"min_version": "1.3"})
    check("protocol version" in r.error, "version: " + str(r.error))
    r = http.get(base + "/ip", name = "authority", tls = {"ca": "other.pem"})
    check("unknown authority" in r.error, "authority: " + str(r.error))
`)
	// A CA that signed nothing the target serves.
	other, err := target.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "other.pem", string(other.PEM()))
	t.Setenv("NTX_TEST_HTTPS", srv.HTTPSAddr())
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Failed != 0 {
			t.Errorf("check %q failed", name)
		}
	}
	if len(res.Checks) != 3 {
		t.Errorf("%d checks ran, want 3", len(res.Checks))
	}
	for _, name := range []string{"version", "authority"} {
		if a := res.Actions[name]; a == nil || a.Errors["tls"] != 1 {
			t.Errorf("%s = %+v, want one error of kind tls", name, a)
		}
	}
	if s := seenAt(srv, "/ip", ""); len(s) != 1 || s[0].ClientCert != "CN=user-1,O=ntx" || s[0].TLSVersion != "1.2" {
		t.Errorf("the target saw %+v, want one request with the client certificate over TLS 1.2", s)
	}

	// Without the client certificate, the server refuses it.
	nocert := writeFile(t, dir, "nocert.yaml", `
http: {tls: {ca: certs/ca.pem}}
actions:
  - {id: a, call: get, with: {url: "https://`+srv.HTTPSAddr()+`/ip"}}
tasks: [{id: start, action: a}]
`)
	res = runFile(t, nocert, nil)
	if a := res.Actions["a"]; a == nil || a.Errors["tls"] != 1 {
		t.Errorf("no client certificate: %+v, want kind tls", a)
	}
	for _, msg := range res.Errors {
		if !strings.HasPrefix(msg, "TLS handshake: bad certificate: the server asked for a client certificate") {
			t.Errorf("error %q does not say the certificate was refused", msg)
		}
	}
}

// TestTLSFilesAreCheckedAtLoad: a TLS file that is missing, outside the
// scenario's tree or not PEM is an input error at its key.
func TestTLSFilesAreCheckedAtLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "junk.pem", "not pem\n")
	outside := writeFile(t, t.TempDir(), "ca.pem", "x")
	if err := os.Symlink(outside, filepath.Join(dir, "link.pem")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ http, with, at, want string }{
		{"{tls: {ca: missing.pem}}", "{url: 'https://127.0.0.1:1/'}", ":2:18:", "no such file"},
		{"{tls: {ca: junk.pem}}", "{url: 'https://127.0.0.1:1/'}", ":2:18:", "no PEM certificate"},
		{"{tls: {ca: link.pem}}", "{url: 'https://127.0.0.1:1/'}", ":2:18:", "outside the scenario's directory"},
		{"{timeout: 1s}", "{url: 'https://127.0.0.1:1/', tls: {cert: junk.pem, key: junk.pem}}", ":4:72:", "tls cert junk.pem"},
		{"{tls: {min_version: '1.9'}}", "{url: 'https://127.0.0.1:1/'}", ":2:27:", "not one of 1.0"},
		{"{tls: {curves: [X25519, X448]}}", "{url: 'https://127.0.0.1:1/'}", ":2:31:", "unknown curve \"X448\""},
		{"{tls: {curves: []}}", "{url: 'https://127.0.0.1:1/'}", ":2:22:", "at least one key exchange"},
		{"{version: 4}", "{url: 'https://127.0.0.1:1/'}", ":2:17:", "must be one of auto, 1.1, 2, 3"},
		{"{version: 2}", "{url: 'https://127.0.0.1:1/', version: 1.0}", ":4:69:", "must be one of auto, 1.1, 2, 3"},
	} {
		src := "name: x\nhttp: " + c.http + "\nactions:\n  - {id: a, call: get, with: " + c.with + "}\ntasks: [{id: start, action: a}]\n"
		file := writeFile(t, dir, "bad.yaml", src)
		_, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
		if err == nil || !strings.Contains(err.Error(), "bad.yaml"+c.at) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s / %s: got %v, want %q at %s", c.http, c.with, err, c.want, c.at)
		}
	}
}

// TestHTTPVersions: auto speaks HTTP/2 where ALPN agrees to it and
// HTTP/1.1 over plain TCP, "1.1" holds HTTPS to HTTP/1.1, "2" speaks h2c
// with prior knowledge over http://; response.proto says what was
// spoken, and the target saw the same. Each user's HTTP/2 requests share
// one connection of its own.
func TestHTTPVersions(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, nil)
	t.Setenv("NTX_TEST_HTTPS", srv.HTTPSAddr())
	t.Setenv("NTX_TEST_HTTP", srv.HTTPAddr())
	file := writeFile(t, dir, "versions.star", `
scenario = {"name": "versions", "http": {"tls": {"ca": "certs/ca.pem"}},
            "load": {"ramp_up": {"phases": [{"spawn_users": 2}]}}}

def flow(user):
    u = str(user.id)
    for i in range(3):
        r = http.get("https://" + env.NTX_TEST_HTTPS + "/ip?v=auto&u=" + u, name = "auto")
        check(r.ok and r.proto == "HTTP/2.0", "auto over TLS: " + str(r.proto) + " " + str(r.error))
    r = http.get("https://" + env.NTX_TEST_HTTPS + "/ip?v=1.1&u=" + u, name = "1.1", version = "1.1")
    check(r.ok and r.proto == "HTTP/1.1", "1.1 over TLS: " + str(r.proto))
    r = http.get("http://" + env.NTX_TEST_HTTP + "/ip?v=plain&u=" + u, name = "plain")
    check(r.ok and r.proto == "HTTP/1.1", "auto over TCP: " + str(r.proto))
    r = http.post("http://" + env.NTX_TEST_HTTP + "/ip?v=h2c&u=" + u, name = "h2c", version = "2", body = "x")
    check(r.ok and r.proto == "HTTP/2.0", "h2c: " + str(r.proto) + " " + str(r.error))
`)
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Failed != 0 {
			t.Errorf("check %q failed", name)
		}
	}
	if len(res.Checks) != 4 {
		t.Errorf("%d checks ran, want 4", len(res.Checks))
	}
	settle(srv)
	byUser := map[string]map[string]bool{} // the connections of each user's auto requests
	for _, s := range srv.Seen() {
		if s.Proto != "http" {
			continue
		}
		v, u := queryValue(s.Query, "v"), queryValue(s.Query, "u")
		want := map[string]string{"auto": "HTTP/2.0", "1.1": "HTTP/1.1", "plain": "HTTP/1.1", "h2c": "HTTP/2.0"}[v]
		if s.Version != want {
			t.Errorf("%s: the target saw %s, want %s", s.Query, s.Version, want)
		}
		if v == "auto" {
			if s.ALPN != "h2" {
				t.Errorf("%s: ALPN %q", s.Query, s.ALPN)
			}
			if byUser[u] == nil {
				byUser[u] = map[string]bool{}
			}
			byUser[u][s.Addr] = true
		}
	}
	if len(byUser) != 2 || len(byUser["1"]) != 1 || len(byUser["2"]) != 1 {
		t.Fatalf("connections of each user's HTTP/2 requests: %v; want one per user", byUser)
	}
	for a := range byUser["1"] {
		if byUser["2"][a] {
			t.Errorf("users 1 and 2 shared the HTTP/2 connection %s", a)
		}
	}
}

func queryValue(q, key string) string {
	for _, kv := range strings.Split(q, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// TestResolver: names are resolved by ntx from the target's DNS server,
// one query per name per TTL however many connections use it (a record
// with TTL 0 is asked again for each); resolve entries make no query; a
// name that does not exist fails with kind dns.
func TestResolver(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, nil)
	_, port, _ := net.SplitHostPort(srv.HTTPAddr())
	file := writeFile(t, dir, "dns.yaml", `
name: dns
http:
  keep_alive: false
  resolve: {fixed.example: 127.0.0.1}
  dns: {servers: ["`+srv.DNSAddr()+`"]}
load:
  ramp_up: {phases: [{spawn_users: 1}]}
  user_lifetime: {mode: loop, iterations: 3}
actions:
  - {id: cached, call: get, with: {url: "http://api.ntx.test:`+port+`/ip"}}
  - {id: ttl0, call: get, with: {url: "http://ttl-0.api.ntx.test:`+port+`/ip"}}
  - {id: fixed, call: get, with: {url: "http://fixed.example:`+port+`/ip"}}
  - {id: own, call: get, with: {url: "http://own.example:`+port+`/ip", resolve: {own.example: 127.0.0.1}}}
  - {id: missing, call: get, with: {url: "http://nxdomain.ntx.test:`+port+`/ip"}}
tasks:
  - {id: start, action: cached, next: [{task: b}]}
  - {id: b, action: ttl0, next: [{task: c}]}
  - {id: c, action: fixed, next: [{task: d}]}
  - {id: d, action: own, next: [{task: e}]}
  - {id: e, action: missing}
`)
	res := runFile(t, file, nil)
	for _, id := range []string{"cached", "ttl0", "fixed", "own"} {
		if a := res.Actions[id]; a == nil || a.OK != 3 {
			t.Errorf("%s = %+v (errors %v), want 3 ok", id, a, res.Errors)
		}
	}
	if a := res.Actions["missing"]; a == nil || a.Errors["dns"] != 3 {
		t.Errorf("missing = %+v, want 3 errors of kind dns", a)
	}
	settle(srv)
	queries := map[string]int{}
	for _, s := range srv.Seen() {
		if s.Proto == "dns" {
			queries[s.Method+" "+s.Path]++
		}
	}
	if queries["A api.ntx.test"] != 1 || queries["A ttl-0.api.ntx.test"] != 3 {
		t.Errorf("queries %v: want one for api.ntx.test (cached for its TTL) and 3 for ttl-0.api.ntx.test", queries)
	}
	for q := range queries {
		if strings.Contains(q, "example") {
			t.Errorf("a query for %s, which resolve answers", q)
		}
	}
}
