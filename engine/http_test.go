package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
)

// TestOneHTTPBehaviour: plain HTTP and HTTPS follow redirects alike, each
// hop measured under the call's name, response.url the final URL and
// response.redirects the hop count; they send the same User-Agent and
// headers, and fail with the same error kinds. HTTPS is held to HTTP/1.1
// (the http: section's version): the target's faults are HTTP/1.1 ones.
func TestOneHTTPBehaviour(t *testing.T) {
	srv := startTarget(t)
	file := writeFile(t, t.TempDir(), "behaviour.star", `
scenario = {"name": "behaviour", "http": {"version": "1.1"}}

def flow(user):
    for scheme, addr in [("http", env.NTX_TARGET_HTTP), ("https", env.NTX_TARGET_HTTPS)]:
        base = scheme + "://" + addr
        r = http.get(base + "/redirect/3", name = scheme, tls_verify = False, headers = {"X-Test": "same"})
        check(r.ok and r.status_code == 200 and r.json()["redirected"] == True, scheme + ": followed")
        check(r.url == base + "/redirect/0", scheme + ": url is the final URL")
        check(r.redirects == 3, scheme + ": redirects counts the hops")
        z = http.get(base + "/redirect/2", name = scheme + " no follow", redirects = 0, tls_verify = False)
        check(z.ok and z.status_code == 302 and z.redirects == 0 and z.url == base + "/redirect/2", scheme + ": redirects = 0 returns the 3xx")
        http.get(base + "/reset", name = scheme + " reset", tls_verify = False)
        http.get(base + "/garbage", name = scheme + " garbage", tls_verify = False)
        http.get(base + "/delay/5000", name = scheme + " slow", timeout = "100ms", tls_verify = False)
        http.get(base + "/hdr/70000", name = scheme + " big headers", tls_verify = False)
`)
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Failed != 0 {
			t.Errorf("check %q failed", name)
		}
	}
	if len(res.Checks) != 8 {
		t.Errorf("%d checks ran, want 8", len(res.Checks))
	}
	for _, scheme := range []string{"http", "https"} {
		a := res.Actions[scheme]
		if a == nil || a.Count != 4 || a.OK != 4 || a.StatusCodes["302"] != 3 || a.StatusCodes["200"] != 1 {
			t.Errorf("%s = %+v, want 3 redirect hops and the answer measured", scheme, a)
			continue
		}
		if a.BytesSent == 0 || a.BytesReceived == 0 {
			t.Errorf("%s: bytes sent %d, received %d: headers are bytes too", scheme, a.BytesSent, a.BytesReceived)
		}
		for what, kind := range map[string]string{"reset": "reset", "garbage": "protocol", "slow": "timeout", "big headers": "too_large"} {
			// A GET reset on a kept-alive connection is sent once more on
			// a new one: both attempts reached the server, both count.
			if a := res.Actions[scheme+" "+what]; a == nil || a.Errors[kind] == 0 || a.Errors[kind] != a.Count {
				t.Errorf("%s %s = %+v, want only %s", scheme, what, a, kind)
			}
		}
	}
	if res.Actions["http"].BytesReceived >= res.Actions["https"].BytesReceived {
		t.Errorf("HTTPS received %d bytes, HTTP %d: the TLS handshake is not counted", res.Actions["https"].BytesReceived, res.Actions["http"].BytesReceived)
	}
	resets := count(srv, func(s target.Seen) bool { return s.Path == "/reset" })
	if n := res.Actions["http reset"].Count + res.Actions["https reset"].Count; n != int64(resets) {
		t.Errorf("%d resets counted, the target saw %d", n, resets)
	}
	agents := map[string]bool{}
	n := 0
	for _, s := range srv.Seen() {
		if strings.HasPrefix(s.Path, "/redirect/") {
			n++
			agents[s.Header.Get("User-Agent")+" "+s.Header.Get("X-Test")] = true
		}
	}
	if n != 10 {
		t.Errorf("the target saw %d redirect requests, want 10", n)
	}
	if len(agents) != 2 { // the followed requests with X-Test, the others without
		t.Errorf("user agents and headers differ: %v", agents)
	}
	for a := range agents {
		if !strings.HasPrefix(a, "ntx/") {
			t.Errorf("user agent %q", a)
		}
	}
}

// TestHeaderInjectionIsAScriptError: a header value with a line break is
// refused at the call, with the script's position, and nothing is sent.
func TestHeaderInjectionIsAScriptError(t *testing.T) {
	srv := startTarget(t)
	file := writeFile(t, t.TempDir(), "inject.star", `
def flow(user):
    http.get("http://" + env.NTX_TARGET_HTTP + "/health", headers = {"X-A": "a\r\nX-Injected: 1"})
`)
	res := runFile(t, file, nil)
	if res.Iterations.Failed != 1 || !strings.Contains(fmt.Sprint(res.Errors, res.Reasons), "inject.star:3") {
		t.Errorf("iterations %+v, errors %v, reasons %v: want the call's position", res.Iterations, res.Errors, res.Reasons)
	}
	if n := count(srv, func(target.Seen) bool { return true }); n != 0 {
		t.Errorf("the target saw %d requests", n)
	}
}

// TestUsersSharingAnAddressKeepTheirOwnConnections: two users share one
// pool address (strategy shared) and make 3 kept-alive requests each:
// the target sees 2 connections (source ports), one per user, never a
// request of one user on the other's connection.
func TestUsersSharingAnAddressKeepTheirOwnConnections(t *testing.T) {
	srv := startTarget(t)
	// User 2 starts half a step after user 1, so that each finds the
	// other's connection idle when it sends (a busy machine may change
	// the order: then the test proves less, never fails wrongly).
	file := writeFile(t, t.TempDir(), "shared.star", `
scenario = {
    "ip_pools": [{"id": "one", "ips": ["127.0.13.2"], "allocation_strategy": "round_robin"}],
    "load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 2}]},
             "user_resources": {"ip_binding": {"pool_id": "one", "strategy": "shared"}}},
}

def flow(user):
    if user.id == 2:
        sleep(0.1)
    for i in range(3):
        http.get("http://" + env.NTX_TARGET_HTTP + "/health?u=%d" % user.id, name = "get")
        sleep(0.2)
`)
	res := runFile(t, file, nil)
	if res.Actions["get"] == nil || res.Actions["get"].OK != 6 {
		t.Fatalf("get = %+v", res.Actions["get"])
	}
	settle(srv)
	users := map[string]string{} // source address and port -> the user seen there
	for _, s := range srv.Seen() {
		if u, ok := users[s.Addr]; ok && u != s.Query {
			t.Errorf("connection %s carried requests of two users (%s, %s)", s.Addr, u, s.Query)
		}
		users[s.Addr] = s.Query
	}
	if len(srv.Seen()) != 6 || len(users) != 2 {
		t.Errorf("%d requests over %d connections %v; want 6 over 2, one per user", len(srv.Seen()), len(users), users)
	}
}

// TestConnectionsAreNotPassedBetweenUsers: two users take turns on one
// address; each keeps its own connection alive across its requests, and
// the second never gets the first one's.
func TestConnectionsAreNotPassedBetweenUsers(t *testing.T) {
	srv := startTarget(t)
	file := writeFile(t, t.TempDir(), "turns.yaml", `
name: turns
ip_pools: [{id: one, ips: [127.0.13.1]}]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: 2}]}
  user_resources:
    ip_binding: {pool_id: one}
    capacity_management: {wait_on_exhaustion: true, wait_timeout: 10s}
actions: [{id: get, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/health"}}]
tasks: [{id: start, action: get, next: [again]}, {id: again, action: get}]
`)
	res := runFile(t, file, nil)
	if res.Actions["get"] == nil || res.Actions["get"].OK != 4 {
		t.Fatalf("get = %+v", res.Actions["get"])
	}
	settle(srv)
	var addrs []string
	for _, s := range srv.Seen() {
		addrs = append(addrs, s.Addr)
	}
	if len(addrs) != 4 || addrs[0] != addrs[1] || addrs[2] != addrs[3] || addrs[1] == addrs[2] {
		t.Errorf("connections (source address and port) of the 4 requests: %v; want 2 per user, one each", addrs)
	}
}
