package engine_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// h3Flows returns, for each source address, the distinct UDP flows
// (address and port) HTTP/3 requests with query q came on.
func h3Flows(t *testing.T, srv *target.Server, q string) map[string]map[string]bool {
	t.Helper()
	settle(srv)
	out := map[string]map[string]bool{}
	for _, s := range srv.Seen() {
		if s.Proto != "http" || !strings.Contains(s.Query, q) {
			continue
		}
		if s.Version != "HTTP/3.0" || s.Network != "udp" || s.ALPN != "h3" {
			t.Errorf("%s?%s: the target saw %s over %s (ALPN %q), want HTTP/3.0 over udp", s.Path, s.Query, s.Version, s.Network, s.ALPN)
		}
		if out[s.Source] == nil {
			out[s.Source] = map[string]bool{}
		}
		out[s.Source][s.Addr] = true
	}
	return out
}

// TestHTTP3FromThePool: version "3" in the http: section (YAML) and per
// call (.star) speaks HTTP/3 from each user's pool address; the target
// sees each user's requests on one QUIC flow from its address, and no
// flow shared by two users. response.proto is HTTP/3.0, a body over
// max_response is too_large, and a certificate the scenario does not
// trust is kind tls.
func TestHTTP3FromThePool(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, func(c *target.Config) { c.HTTP3 = true })
	base := "https://" + srv.HTTPSAddr()
	yml := writeFile(t, dir, "h3.yaml", `
name: h3
ip_pools:
  - {id: lo, ips: [127.0.0.2, 127.0.0.3, 127.0.0.4]}
http:
  version: "3"
  timeout: 5s
  tls: {ca: certs/ca.pem}
load:
  ramp_up: {phases: [{spawn_users: 3}]}
  user_lifetime: {mode: loop, iterations: 3}
actions:
  - id: ip
    call: get
    with: {url: "`+base+`/ip?y=1"}
  - id: big
    call: get
    with: {url: "`+base+`/gzip?size=50000", max_response: 1000}
  - id: untrusted
    call: get
    with: {url: "`+base+`/health", tls: {ca: other.pem}}
tasks:
  - {id: start, action: ip, next: [{task: b}]}
  - {id: b, action: big, next: [{task: u}]}
  - {id: u, action: untrusted}
`)
	other, err := target.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "other.pem", string(other.PEM()))
	res := runFile(t, yml, nil)
	if a := res.Actions["ip"]; a == nil || a.Count != 9 || a.OK != 9 || a.BytesSent == 0 || a.BytesReceived == 0 {
		t.Fatalf("ip = %+v (errors %v), want 9 ok with bytes counted", a, res.Errors)
	}
	// The QUIC handshake is the connect phase of each user's first
	// request; HTTP/3 has no tls phase of its own.
	if ph := res.Actions["ip"].Timings; ph["connect"].Max <= 0 || ph["tls"].Max != 0 || ph["wait"].Max <= 0 || ph["connect"].P50 != 0 {
		t.Errorf("ip: phases %+v; want connect on the first of each user's 3 requests only, no tls, a wait", ph)
	}
	if a := res.Actions["big"]; a == nil || a.Errors["too_large"] != 9 {
		t.Errorf("big = %+v, want 9 too_large", a)
	}
	if a := res.Actions["untrusted"]; a == nil || a.Errors["tls"] != 9 {
		t.Errorf("untrusted = %+v, want 9 tls", a)
	}
	flows := h3Flows(t, srv, "y=1")
	owner := map[string]string{}
	for _, src := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		if len(flows[src]) != 1 {
			t.Errorf("%s: %d QUIC flows for its 3 requests, want 1: %v", src, len(flows[src]), flows)
		}
		for f := range flows[src] {
			if o, ok := owner[f]; ok {
				t.Errorf("flow %s used by %s and %s", f, o, src)
			}
			owner[f] = src
		}
	}

	srv.Reset()
	t.Setenv("NTX_TEST_HTTPS", srv.HTTPSAddr())
	star := writeFile(t, dir, "h3.star", `
scenario = {"name": "h3", "http": {"tls": {"ca": "certs/ca.pem"}},
            "ip_pools": [{"id": "lo", "ips": ["127.0.0.5", "127.0.0.6"]}],
            "load": {"ramp_up": {"phases": [{"spawn_users": 2}]}}}

def flow(user):
    for i in range(3):
        r = http.get("https://" + env.NTX_TEST_HTTPS + "/ip?s=1", name = "h3", version = "3")
        check(r.ok and r.proto == "HTTP/3.0" and r.body.strip() == user.allocated_ip, "h3 from the user's address")
    http.get("https://" + env.NTX_TEST_HTTPS + "/cookies/set?flavour=h3", name = "set", version = "3")
    r = http.get("https://" + env.NTX_TEST_HTTPS + "/cookies", name = "cookies", version = "3")
    check(r.json()["cookies"] == {"flavour": "h3"}, "the cookie set over HTTP/3 comes back over HTTP/3")
    r = http.get("https://" + env.NTX_TEST_HTTPS + "/ip", name = "auto")
    check(r.proto == "HTTP/2.0", "auto")
`)
	res = runFile(t, star, nil)
	for name, c := range res.Checks {
		if c.Failed != 0 || c.Passed == 0 {
			t.Errorf("check %q: %+v", name, c)
		}
	}
	if len(res.Checks) != 3 {
		t.Errorf("%d checks ran, want 3 (errors %v)", len(res.Checks), res.Errors)
	}
	flows = h3Flows(t, srv, "s=1")
	if len(flows) != 2 || len(flows["127.0.0.5"]) != 1 || len(flows["127.0.0.6"]) != 1 {
		t.Errorf("QUIC flows by source: %v, want one for each of 127.0.0.5 and 127.0.0.6", flows)
	}
}

// TestHTTP3IPv6Pool: a user bound to ::1 speaks HTTP/3 from it.
func TestHTTP3IPv6Pool(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, func(c *target.Config) { c.HTTPS, c.HTTP3 = "[::1]:0", true })
	_, port, _ := net.SplitHostPort(srv.HTTPSAddr())
	file := writeFile(t, dir, "h3v6.yaml", `
ip_pools: [{id: lo, ips: ["::1"]}]
http: {version: "3", tls: {ca: certs/ca.pem}, timeout: 5s}
load: {user_lifetime: {mode: loop, iterations: 2}}
actions:
  - {id: a, call: get, with: {url: "https://[::1]:`+port+`/ip?v6=1"}}
tasks: [{id: start, action: a}]
`)
	res := runFile(t, file, nil)
	if a := res.Actions["a"]; a == nil || a.OK != 2 {
		t.Fatalf("a = %+v (errors %v), want 2 ok", a, res.Errors)
	}
	if flows := h3Flows(t, srv, "v6=1"); len(flows) != 1 || len(flows["::1"]) != 1 {
		t.Errorf("QUIC flows by source: %v, want one from ::1", flows)
	}
}

// TestHTTP3NeedsTLS13: a max_version below 1.3 where version "3" is
// asked for is an input error at the max_version that says so; an
// http:// URL with version "3" fails the call that makes it.
func TestHTTP3NeedsTLS13(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ http, with, at string }{
		{"{version: '3', tls: {max_version: '1.2'}}", "{url: 'https://127.0.0.1:1/'}", ":2:41:"},
		{"{tls: {max_version: '1.2'}}", "{url: 'https://127.0.0.1:1/', version: '3'}", ":2:27:"},
		{"{version: '3'}", "{url: 'https://127.0.0.1:1/', tls: {max_version: '1.2'}}", ":4:79:"},
	} {
		src := "name: x\nhttp: " + c.http + "\nactions:\n  - {id: a, call: get, with: " + c.with + "}\ntasks: [{id: start, action: a}]\n"
		file := writeFile(t, dir, "bad.yaml", src)
		_, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
		if err == nil || !strings.Contains(err.Error(), "bad.yaml"+c.at) || !strings.Contains(err.Error(), "TLS 1.3") {
			t.Errorf("%s / %s: got %v, want an error about TLS 1.3 at %s", c.http, c.with, err, c.at)
		}
	}
	file := writeFile(t, dir, "plain.star", `
def flow(user):
    http.get("http://127.0.0.1:1/", version = "3")
`)
	res := runFile(t, file, nil)
	if msg := res.Errors["iteration error"]; !strings.Contains(msg, "plain.star:3:13: ") || !strings.Contains(msg, "needs an https:// URL") {
		t.Errorf("iteration error %q, want one at the call that asks for https://", msg)
	}
}

// TestHTTP3NoProxy: HTTP/3 does not go through an HTTP proxy (it tunnels
// TCP), so version "3" with a proxy is an input error at the key that
// combines them, never a call that silently goes direct; in .star it
// fails the call that asks for it.
func TestHTTP3NoProxy(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ http, with, at string }{
		{"{version: '3', proxy: 'http://127.0.0.1:3128'}", "{url: 'https://127.0.0.1:1/'}", ":2:22:"},
		{"{proxy: 'http://127.0.0.1:3128'}", "{url: 'https://127.0.0.1:1/', version: '3'}", ":4:69:"},
		{"{version: '3'}", "{url: 'https://127.0.0.1:1/', proxy: 'http://127.0.0.1:3128'}", ":4:60:"},
	} {
		src := "name: x\nhttp: " + c.http + "\nactions:\n  - {id: a, call: get, with: " + c.with + "}\ntasks: [{id: start, action: a}]\n"
		file := writeFile(t, dir, "bad.yaml", src)
		_, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
		if err == nil || !strings.Contains(err.Error(), "bad.yaml"+c.at) || !strings.Contains(err.Error(), "cannot go through an HTTP proxy") {
			t.Errorf("%s / %s: got %v, want an error about the proxy at %s", c.http, c.with, err, c.at)
		}
	}
	file := writeFile(t, dir, "proxied.star", `
def flow(user):
    http.get("https://127.0.0.1:1/", version = "3", proxy = "http://u:pw@127.0.0.1:3128")
`)
	res := runFile(t, file, nil)
	if msg := res.Errors["iteration error"]; !strings.Contains(msg, "proxied.star:3:13: ") || !strings.Contains(msg, "cannot go through proxy") || strings.Contains(msg, ":pw@") {
		t.Errorf("iteration error %q, want one at the call, the password hidden", msg)
	}
}
