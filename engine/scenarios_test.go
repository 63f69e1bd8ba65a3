package engine_test

import (
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
)

func TestSeedExampleRunsAsWritten(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/seed.yaml", nil)
	got := srv.Seen()
	if len(got) != 1 {
		t.Fatalf("target saw %d requests, want 1", len(got))
	}
	s := got[0]
	if s.Method != "GET" || s.Path != "/asset" || s.Source != "127.0.0.2" || s.Header.Get("User-Agent") != "Scheduler/1.0" {
		t.Errorf("target saw %s %s from %s with User-Agent %q; want GET /asset from 127.0.0.2 (the pool's first address) with Scheduler/1.0",
			s.Method, s.Path, s.Source, s.Header.Get("User-Agent"))
	}
	if a := res.Actions["http-get"]; a == nil || a.OK != 1 || a.StatusCodes["200"] != 1 {
		t.Errorf("http-get = %+v", a)
	}
	if res.SourceIPs["127.0.0.2"].Requests != 1 || res.Iterations.Passed != 1 {
		t.Errorf("source_ips %v, iterations %+v", res.SourceIPs, res.Iterations)
	}
}

func TestWorkbookScenario(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/workbook.yaml", nil)
	health := count(srv, func(s target.Seen) bool { return s.Path == "/health" && s.Header.Get("X-Tenant") == "abc" })
	posts := count(srv, func(s target.Seen) bool {
		return s.Method == "POST" && strings.Contains(s.Body, `"greeting":"hello"`) && strings.Contains(s.Body, `"status":"ok"`)
	})
	if health != 8 || posts != 8 {
		t.Errorf("target saw %d tenant-tagged health checks and %d posts with greeting and exported status; want 8 and 8", health, posts)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Path == "/status/500" }); n != 0 {
		t.Errorf("the never-taken edge ran %d times", n)
	}
	// Four users, four addresses (127.0.2.11 excluded, /30 without network
	// and broadcast): each user holds one for both of its iterations.
	want := "127.0.1.1=4 127.0.1.2=4 127.0.2.10=4 127.0.2.12=4"
	if got := keys(sources(srv, "http")); got != want {
		t.Errorf("sources = %s, want %s", got, want)
	}
	if res.Iterations.Passed != 8 || res.Users.Spawned != 4 || res.Pools["eip-pool-1"].Size != 4 {
		t.Errorf("iterations %+v, users %+v, pools %+v", res.Iterations, res.Users, res.Pools["eip-pool-1"])
	}
}

func TestSocketsBoundToUserAddress(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/sockets.yaml", nil)
	if got := keys(sources(srv, "tcp")); got != "127.0.3.1=3 127.0.3.2=3" {
		t.Errorf("tcp sources = %s", got)
	}
	if got := keys(sources(srv, "udp")); got != "127.0.3.1=2 127.0.3.2=2" {
		t.Errorf("udp sources = %s", got)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Proto == "tcp" && strings.HasPrefix(s.Body, "line from ") }); n != 2 {
		t.Errorf("target saw %d tcp lines", n)
	}
	for _, name := range []string{"tcp-line", "tcp-bytes", "tcp-until", "udp-echo", "udp-fire"} {
		if a := res.Actions[name]; a == nil || a.OK != 2 {
			t.Errorf("%s = %+v, want 2 ok", name, a)
		}
	}
	// Bytes are counted on the socket: the echo sends back the whole
	// 11-byte line, though the action keeps only the 4 it asked for.
	if res.Actions["tcp-bytes"].BytesReceived != 22 || res.Actions["tcp-bytes"].BytesSent != 22 {
		t.Errorf("tcp-bytes sent %d and read %d bytes, want 2x11 each", res.Actions["tcp-bytes"].BytesSent, res.Actions["tcp-bytes"].BytesReceived)
	}
}

func TestSharedBinding(t *testing.T) {
	srv := startTarget(t)
	runFile(t, "../testdata/valid/shared.yaml", nil)
	if got := keys(sources(srv, "http")); got != "127.0.4.1=2 127.0.4.2=2 127.0.4.3=2" {
		t.Errorf("sources = %s, want each address twice", got)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Header.Get("X-Allocated") == "None" }); n != 6 {
		t.Errorf("%d requests said user.allocated_ip is None, want 6", n)
	}
}

func TestPerTaskBinding(t *testing.T) {
	srv := startTarget(t)
	runFile(t, "../testdata/valid/per_task.yaml", nil)
	var order []string
	for _, s := range srv.Seen() {
		order = append(order, s.Method+" "+s.Source)
	}
	want := "GET 127.0.5.1,PUT 127.0.5.2,PATCH 127.0.5.3,DELETE 127.0.5.4"
	if strings.Join(order, ",") != want {
		t.Errorf("target saw %v, want %s", order, want)
	}
}

func TestReleaseOnTaskEnd(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/release_task_end.yaml", nil)
	var bodies []string
	for _, s := range srv.Seen() {
		if s.Body != s.Source {
			t.Errorf("user.allocated_ip %q but sent from %s", s.Body, s.Source)
		}
		bodies = append(bodies, s.Source)
	}
	if strings.Join(bodies, ",") != "127.0.6.1,127.0.6.2,127.0.6.3" {
		t.Errorf("iterations sent from %v, want a new address each", bodies)
	}
	if res.Pools["p"].PeakAllocated != 1 {
		t.Errorf("peak allocated %d, want 1", res.Pools["p"].PeakAllocated)
	}
}

func TestExports(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/exports.yaml", nil)
	uses := count(srv, func(s target.Seen) bool {
		return s.Method == "POST" && strings.HasPrefix(s.Body, "7|fallback|t-") && strings.HasSuffix(s.Body, "|application/json|200|7")
	})
	if uses != 4 {
		t.Errorf("%d requests carried the exported values, want 4; saw %v", uses, seen(srv))
	}
	if n := count(srv, func(s target.Seen) bool { return s.Query == "q=2" }); n != 2 {
		t.Errorf("%d requests had q=2, want 2", n)
	}
	bad := res.Actions["bad-assert"]
	if bad.Failed != 4 || bad.Errors["assert"] != 4 {
		t.Errorf("bad-assert = %+v, want 4 assert failures", bad)
	}
	if !strings.Contains(res.Errors["bad-assert assert"], `assert id_is_x: id is "asset-1", want "x"`) {
		t.Errorf("assert message = %q", res.Errors["bad-assert assert"])
	}
	if res.Iterations.Passed != 4 {
		t.Errorf("iterations %+v", res.Iterations)
	}
}

func TestFailuresAreCountedAndTheRunGoesOn(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/failures.yaml", nil)
	want := map[string]string{
		"refused":     "refused",
		"unavailable": "status_5xx",
		"not-found":   "status_4xx",
		"slow":        "timeout",
		"retried":     "status_5xx",
		"reset":       "reset",
		"garbage":     "protocol",
	}
	for action, kind := range want {
		a := res.Actions[action]
		if a == nil || a.Failed == 0 || a.Errors[kind] != a.Failed {
			t.Errorf("%s = %+v, want its failures counted as %s", action, a, kind)
		}
	}
	if a := res.Actions["expected-404"]; a.OK != 1 {
		t.Errorf("expected-404 = %+v, want ok with expect_status", a)
	}
	if a := res.Actions["retried"]; a.Count != 3 || a.StatusCodes["502"] != 3 {
		t.Errorf("retried = %+v, want 3 attempts measured", a)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Path == "/status/502" }); n != 3 {
		t.Errorf("target saw %d attempts at /status/502, want 3", n)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Path == "/health" }); n != 2 {
		t.Errorf("target saw %d health checks after the failures, want 2", n)
	}
	if res.Iterations.Failed != 1 || res.Iterations.Failures["no-edge"] != 1 {
		t.Errorf("iterations = %+v, want one no-edge failure", res.Iterations)
	}
	if !strings.Contains(res.Errors["iteration no-edge"], `no edge of node "dead-end" holds`) {
		t.Errorf("no-edge message = %q", res.Errors["iteration no-edge"])
	}
}

func TestCustomActions(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/custom.yaml", nil)
	if n := count(srv, func(s target.Seen) bool {
		return s.Method == "GET" && s.Header.Get("Authorization") == "Bearer tok-user-1" && s.Source == "127.0.7.1"
	}); n != 1 {
		t.Errorf("target saw %d authorised GETs from the pool; all: %v", n, seen(srv))
	}
	if a := res.Actions["login"]; a == nil || a.OK != 1 || a.Kind != "custom" {
		t.Errorf("login = %+v", a)
	}
	if a := res.Actions["auth POST /asset"]; a == nil || a.OK != 1 {
		t.Errorf("the call inside the custom action = %+v", a)
	}
	if a := res.Actions["broken"]; a == nil || a.Errors["error"] != 1 {
		t.Errorf("broken = %+v", a)
	}
	if !strings.Contains(res.Errors["broken error"], "division by zero") || res.Iterations.Passed != 1 {
		t.Errorf("errors %v, iterations %+v", res.Errors, res.Iterations)
	}
}

// TestCookiesScenario: testdata/valid/cookies.yaml's users each get
// their own session cookie from a redirect hop, and keep it into the
// next iteration; a call with cookies: off sends none. (The compiled
// program sends the same: TestCompiledProgramBehavesLikeYAML.)
func TestCookiesScenario(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/cookies.yaml", nil)
	if res.Iterations.Passed != 4 {
		t.Fatalf("iterations %+v, errors %v", res.Iterations, res.Errors)
	}
	got := map[string]bool{}
	for _, s := range seenAt(srv, "/ip", "") {
		t.Errorf("a report without a query: %+v", s)
	}
	settle(srv)
	for _, s := range srv.Seen() {
		if s.Path == "/ip" {
			got[s.Source+" "+s.Query] = true
		}
	}
	for _, w := range []string{
		"127.0.22.1 anonymous=none&echo=none&it=1", "127.0.22.1 anonymous=none&echo=u1&it=2",
		"127.0.22.2 anonymous=none&echo=none&it=1", "127.0.22.2 anonymous=none&echo=u2&it=2",
	} {
		if !got[w] {
			t.Errorf("the target did not see %q; it saw %v", w, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("the target saw %d reports, want 4: %v", len(got), got)
	}
}
