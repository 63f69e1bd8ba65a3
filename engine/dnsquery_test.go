package engine_test

import (
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
)

// TestDNSQueryYAML: the testdata scenario's queries leave from each
// user's pool address over every transport (the target records the
// source of each query), the truncated answer is kept without
// tcp_fallback and asked again over TCP with it, and each action's
// bytes are counted.
func TestDNSQueryYAML(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/dns.yaml", nil)
	if !res.Passed {
		t.Fatalf("the run failed: %+v %v", res.Reasons, res.Errors)
	}
	for id, a := range res.Actions {
		if a.OK != 2 || a.BytesSent == 0 || a.BytesReceived == 0 {
			t.Errorf("%s = %+v, want 2 ok with bytes counted", id, a)
		}
	}
	settle(srv)
	by := map[string]map[string]int{} // "NETWORK TYPE NAME" -> sources
	for _, s := range srv.Seen() {
		if s.Proto != "dns" {
			continue
		}
		k := s.Network + " " + s.Method + " " + s.Path
		if s.TLSVersion != "" {
			k = "tls " + s.Method + " " + s.Path
		}
		if by[k] == nil {
			by[k] = map[string]int{}
		}
		by[k][s.Source]++
	}
	want := map[string]string{
		"udp A user-1.ntx.test":       "127.0.4.1=1",
		"udp A user-2.ntx.test":       "127.0.4.2=1",
		"tcp TXT txt.ntx.test":        "127.0.4.1=1 127.0.4.2=1",
		"tls SRV _http._tcp.ntx.test": "127.0.4.1=1 127.0.4.2=1",
		"udp A tc.ntx.test":           "127.0.4.1=2 127.0.4.2=2", // truncated, then fallback's first try
		"tcp A tc.ntx.test":           "127.0.4.1=1 127.0.4.2=1", // fallback only
		"udp AAAA nxdomain.ntx.test":  "127.0.4.1=1 127.0.4.2=1",
	}
	for k, w := range want {
		if got := keys(by[k]); got != w {
			t.Errorf("%s from %q, want %q (all: %v)", k, got, w, by)
		}
	}
	if len(by) != len(want) {
		t.Errorf("queries %v, want only %v", by, want)
	}
}

// TestDNSQueryStarlark: dns.query in a .star flow, its failures counted
// under their kinds: a rcode the query did not expect (dns), an
// expectation not met (expect), a server that answers too late
// (timeout), DNS over TLS with an unknown CA (tls) and with the right
// one, a TCP server that is not there (refused); and the result's
// fields read in Starlark.
func TestDNSQueryStarlark(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, func(c *target.Config) { c.DoT = "127.0.0.1:0" })
	file := writeFile(t, dir, "dns.star", `
scenario = {"ip_pools": [{"id": "p", "ips": ["127.0.4.9"]}]}
S = "`+srv.DNSAddr()+`"
def flow(user):
    r = dns.query("alias.ntx.test", server = S, type = "A")
    check(r.ok and r.rcode == "NOERROR" and not r.truncated, "ok")
    check([a["type"] for a in r.answers] == ["CNAME", "A"], "chain")
    check(r.answers[0]["data"] == "www.ntx.test" and r.answers[1]["data"] == "127.0.0.1", "data")
    check(r.answers[1]["ttl"] == 60 and r.source_ip == "127.0.4.9", "ttl and source")
    check(r.json()["answers"][1]["name"] == "www.ntx.test", "json")
    mx = dns.query("ntx.test", server = S, type = "mx", transport = "tcp", label = "mx")
    check(mx.answers[0]["data"] == "10 mail.ntx.test.", "mx")
    ptr = dns.query("1.0.0.127.in-addr.arpa", server = S, type = "PTR", label = "ptr")
    check(ptr.answers[0]["data"] == "localhost.ntx.test", "ptr")
    big = dns.query("big.ntx.test", server = S, tcp_fallback = True, label = "big")
    check(len(big.answers) == 300 and not big.truncated, "big over tcp")
    cut = dns.query("big.ntx.test", server = S, label = "cut")
    check(cut.truncated, "big truncated over udp")
    dns.query("nxdomain.ntx.test", server = S, label = "nx")
    dns.query("www.ntx.test", server = S, type = "TXT", expect = {"answers": "== 0"}, label = "count")
    dns.query("delay-3000.ntx.test", server = S, timeout = "200ms", label = "slow")
    dns.query("www.ntx.test", server = "`+srv.DoTAddr()+`", transport = "tls", label = "dot-unknown-ca")
    dns.query("www.ntx.test", server = "`+srv.DoTAddr()+`", transport = "tls", tls = {"ca": "certs/ca.pem"}, label = "dot")
    dns.query("www.ntx.test", server = "`+closedPort(t)+`", transport = "tcp", label = "refused")
`)
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Passed != 1 {
			t.Errorf("check %s failed", name)
		}
	}
	if len(res.Checks) != 9 {
		t.Errorf("%d checks ran, want 9", len(res.Checks))
	}
	kinds := map[string]string{"nx": "dns", "count": "expect", "slow": "timeout", "dot-unknown-ca": "tls", "refused": "refused"}
	for name, kind := range kinds {
		if a := res.Actions[name]; a == nil || a.Errors[kind] != 1 {
			t.Errorf("%s = %+v, want 1 error of kind %s", name, a, kind)
		}
	}
	for _, name := range []string{"DNS A alias.ntx.test", "mx", "ptr", "big", "cut", "dot"} {
		if a := res.Actions[name]; a == nil || a.OK != 1 {
			t.Errorf("%s = %+v, want 1 ok", name, a)
		}
	}
	if msg := res.Errors["nx dns"]; !strings.Contains(msg, "NXDOMAIN") {
		t.Errorf("the dns error says %q, want the rcode", msg)
	}
	settle(srv)
	for _, s := range srv.Seen() {
		if s.Proto == "dns" && s.Source != "127.0.4.9" {
			t.Errorf("a query from %s: %+v", s.Source, s)
		}
	}
}

// TestDNSQueryIPv6: a query to a server on ::1 from a pool address ::1,
// over UDP and TCP.
func TestDNSQueryIPv6(t *testing.T) {
	srv, err := target.Start(target.Config{DNS: "[::1]:0", Record: true})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(srv.Close)
	file := writeFile(t, t.TempDir(), "dns6.star", `
scenario = {"ip_pools": [{"id": "p", "ips": ["::1"]}]}
def flow(user):
    for t in ["udp", "tcp"]:
        r = dns.query("v6.ntx.test", server = "`+srv.DNSAddr()+`", type = "AAAA", transport = t, label = t,
                      expect = {"answers": 1})
        check(r.answers[0]["data"] == "::1", "aaaa " + t)
`)
	res := runFile(t, file, nil)
	for _, n := range []string{"udp", "tcp"} {
		if a := res.Actions[n]; a == nil || a.OK != 1 || res.Checks["aaaa "+n].Passed != 1 {
			t.Errorf("%s = %+v", n, a)
		}
	}
	if got := keys(sources(srv, "dns")); got != "::1=2" {
		t.Errorf("sources %s", got)
	}
}
