package engine_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// TestWSRequestYAML: the testdata scenario's WebSockets open from each
// user's pool address (the target records the source of every message),
// the opening is measured as ID.connect with its 101, each echo as ID,
// bytes are counted, and a message without expect's text fails as
// expect.
func TestWSRequestYAML(t *testing.T) {
	srv := startTarget(t)
	res := runFile(t, "../testdata/valid/ws.yaml", nil)
	if a := res.Actions["echo"]; a == nil || a.OK != 4 || a.BytesSent == 0 || a.BytesReceived == 0 {
		t.Errorf("echo = %+v, want 4 round trips with bytes counted", a)
	}
	for _, id := range []string{"echo.connect", "shout.connect"} {
		if a := res.Actions[id]; a == nil || a.OK != 2 || a.StatusCodes["101"] != 2 || a.BytesSent == 0 {
			t.Errorf("%s = %+v, want 2 openings answered 101", id, a)
		}
	}
	if a := res.Actions["shout"]; a == nil || a.Errors["expect"] != 2 {
		t.Errorf("shout = %+v, want 2 errors of kind expect", a)
	}
	if len(res.Thresholds) != 2 || !res.Thresholds[0].OK || !res.Thresholds[1].OK || res.Thresholds[0].Value != 2 {
		t.Errorf("thresholds on the openings: %+v", res.Thresholds)
	}
	if res.Iterations.Passed != 2 {
		t.Errorf("iterations %+v: the edge on echo's export and messages was not taken", res.Iterations)
	}
	if got := keys(sources(srv, "ws")); got != "127.0.5.1=3 127.0.5.2=3" {
		t.Errorf("messages from %s, want 3 from each user's address", got)
	}
	settle(srv)
	for _, s := range srv.Seen() {
		if s.Proto == "ws" && s.Body == "hello from 1" && s.Source != "127.0.5.1" {
			t.Errorf("user 1's message came from %s", s.Source)
		}
	}
}

// TestWSSession: ws.connect in a .star flow: round trips measured as
// NAME and the opening as NAME.connect, the subprotocol chosen, a recv
// that times out leaving the session usable, a message larger than
// max_response (too_large, the session failed), a refused handshake
// (status_4xx), wss:// with the target's CA, and a session the flow
// leaves open, closed at the end of the iteration.
func TestWSSession(t *testing.T) {
	dir := t.TempDir()
	srv := tlsTarget(t, dir, nil)
	file := writeFile(t, dir, "ws.star", `
scenario = {"ip_pools": [{"id": "p", "ips": ["127.0.5.9"]}], "thresholds": ["chat.connect.max < 60s"]}
URL = "ws://`+srv.HTTPAddr()+`/ws"
def flow(user):
    c = ws.connect(URL, subprotocols = ["v9", "v8"], name = "chat")
    check(c.ok and c.subprotocol == "v9" and c.source_ip == "127.0.5.9", "open")
    for i in range(3):
        c.send("m%d" % i)
    got = [c.recv().body for i in range(3)]
    check(got == ["m0", "m1", "m2"], "echoes in order")
    quiet = c.recv(timeout = "150ms")
    check(not quiet.ok and "no WebSocket message" in quiet.error, "recv times out")
    check(c.send("again") and c.recv().body == "again", "usable after a timeout")
    c.close()
    c.close()
    check(not c.send("late") and not c.recv().ok, "closed")

    big = ws.connect(URL, max_response = 16, name = "big")
    big.send("x" * 64)
    r = big.recv()
    check(not r.ok and not big.ok and "max_response" in big.error, "too large")

    lost = ws.connect("ws://`+srv.HTTPAddr()+`/nowhere", name = "lost")
    check(not lost.ok and not lost.send("x"), "refused")

    tls = ws.connect("wss://`+srv.HTTPSAddr()+`/ws", tls = {"ca": "certs/ca.pem"}, name = "tls")
    check(tls.send("secure") and tls.recv().body == "secure", "wss")
    unknown = ws.connect("wss://`+srv.HTTPSAddr()+`/ws", name = "unknown-ca")
    check(not unknown.ok and "unknown authority" in unknown.error, "wss without the CA")

    ws.connect(URL, name = "left").send("open")   # never closed by the flow
`)
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Passed != 1 {
			t.Errorf("check %s failed", name)
		}
	}
	if len(res.Thresholds) != 1 || !res.Thresholds[0].OK || res.Thresholds[0].Value <= 0 {
		t.Errorf("a threshold on chat.connect: %+v", res.Thresholds)
	}
	if len(res.Checks) != 9 {
		t.Errorf("%d checks ran, want 9: %v", len(res.Checks), res.Errors)
	}
	want := map[string][2]int64{ // ok, failed
		"chat.connect": {1, 0}, "chat": {4, 1}, "big.connect": {1, 0}, "big": {0, 1},
		"lost.connect": {0, 1}, "tls.connect": {1, 0}, "tls": {1, 0}, "left.connect": {1, 0},
	}
	for name, w := range want {
		a := res.Actions[name]
		if a == nil || a.OK != w[0] || a.Failed != w[1] {
			t.Errorf("%s = %+v, want %d ok and %d failed", name, a, w[0], w[1])
		}
	}
	if a := res.Actions["chat"]; a != nil && a.Errors["timeout"] != 1 {
		t.Errorf("chat errors %v, want one timeout", a.Errors)
	}
	if a := res.Actions["big"]; a != nil && a.Errors["too_large"] != 1 {
		t.Errorf("big errors %v, want too_large", a.Errors)
	}
	if a := res.Actions["lost.connect"]; a != nil && (a.Errors["status_4xx"] != 1 || a.StatusCodes["404"] != 1) {
		t.Errorf("lost.connect = %+v, want a 404 counted as status_4xx", a)
	}
	if a := res.Actions["unknown-ca.connect"]; a == nil || a.Errors["tls"] != 1 {
		t.Errorf("unknown-ca.connect = %+v, want one error of kind tls", a)
	}
	if a := res.Actions["left"]; a != nil {
		t.Errorf("left = %+v: nothing was received on it", a)
	}
	if got := keys(sources(srv, "ws")); got != "127.0.5.9=7" {
		t.Errorf("messages from %s, want the 7 that reached the target from 127.0.5.9", got)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Proto == "ws" && s.Body == "secure" && s.TLSVersion != "" }); n != 1 {
		t.Errorf("the wss message was seen %d times over TLS", n)
	}
}

// TestWSHostileServers: a server that accepts the connection and never
// answers the handshake fails the opening as timeout; one that answers
// the handshake but never a message fails the round trip as timeout; and
// sessions left open by many iterations leave no goroutine or file
// descriptor behind once the run is over.
func TestWSHostileServers(t *testing.T) {
	srv := startTarget(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c // held open, unanswered
		}
	}()
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
	file := writeFile(t, t.TempDir(), "hostile.star", `
scenario = {"load": {"ramp_up": {"phases": [{"spawn_users": 4}]},
                     "user_lifetime": {"mode": "loop", "iterations": 3}}}
def flow(user):
    ws.connect("ws://`+silent.Addr().String()+`/ws", timeout = "200ms", name = "silent")
    ws.request(url = "ws://`+srv.HTTPAddr()+`/ws", receive = 1, timeout = "100ms", name = "mute")
    for i in range(2):
        c = ws.connect("ws://`+srv.HTTPAddr()+`/ws", name = "kept")
        c.send("hi")
`)
	res := runFile(t, file, nil)
	if a := res.Actions["silent.connect"]; a == nil || a.Errors["timeout"] != 12 {
		t.Errorf("silent.connect = %+v, want 12 timeouts", a)
	}
	if a := res.Actions["mute"]; a == nil || a.Errors["timeout"] != 12 {
		t.Errorf("mute = %+v, want 12 timeouts", a)
	}
	if a := res.Actions["kept.connect"]; a == nil || a.OK != 24 {
		t.Errorf("kept.connect = %+v, want 24 openings", a)
	}
	// The silent server's own ends are this process's descriptors too.
	silent.Close()
	for c := range held {
		c.Close()
	}
	// The run is over: its WebSockets are closed and their readers gone.
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g <= baseG+2 && fd <= baseFD+2 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("after the run: %d goroutines (%d before), %d fds (%d before)\n%s", g, baseG, fd, baseFD, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestWSIPv6: a WebSocket to a target on ::1 from a pool address ::1.
func TestWSIPv6(t *testing.T) {
	srv, err := target.Start(target.Config{HTTP: "[::1]:0", Record: true})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(srv.Close)
	file := writeFile(t, t.TempDir(), "ws6.star", `
scenario = {"ip_pools": [{"id": "p", "ips": ["::1"]}]}
def flow(user):
    r = ws.request(url = "ws://`+srv.HTTPAddr()+`/ws", send = ["six"], expect = "six")
    check(r.ok and r.messages == ["six"], "echo")
`)
	res := runFile(t, file, nil)
	if c := res.Checks["echo"]; c == nil || c.Passed != 1 || !strings.HasPrefix(srv.HTTPAddr(), "[::1]") {
		t.Errorf("checks %v, errors %v", res.Checks, res.Errors)
	}
	if got := keys(sources(srv, "ws")); got != "::1=1" {
		t.Errorf("sources %s", got)
	}
}

// TestWSSessionOfAnotherUser: a WebSocket that setup opened and handed
// to the users is not theirs: closing it is an error, as sending and
// receiving are (never a close racing its owner's use).
func TestWSSessionOfAnotherUser(t *testing.T) {
	startTarget(t)
	file := writeFile(t, t.TempDir(), "leak.star", `
scenario = {"load": {"user_lifetime": {"mode": "loop", "iterations": 1}}}
def setup():
    return {"c": ws.connect("ws://" + env.NTX_TARGET_HTTP + "/ws")}
def flow(user):
    setup["c"].close()
`)
	res, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
	if err != nil {
		if strings.Contains(err.Error(), "belongs to another user") {
			return
		}
		t.Fatalf("run: %v", err)
	}
	if msg := res.Errors["iteration error"]; !strings.Contains(msg, "belongs to another user") {
		t.Errorf("iteration error %q, want the WebSocket refused as another user's", msg)
	}
}

// TestWSOpeningCarriesCookies: the opening handshake is one of the
// user's HTTP requests: it carries the cookies the user's jar holds for
// the URL (each user its own), and a cookie its 101 answer sets goes
// with the user's later requests; with cookies off, neither.
func TestWSOpeningCarriesCookies(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	for _, tc := range []struct{ mode, want string }{{"user", "jar"}, {"off", "none"}} {
		srv.Reset()
		file := writeFile(t, dir, "ws-"+tc.mode+".star", `
scenario = {"ip_pools": [{"id": "p", "ips": ["127.0.6.1", "127.0.6.2"]}],
            "load": {"ramp_up": {"phases": [{"spawn_users": 2}]}},
            "http": {"cookies": "`+tc.mode+`"}}
BASE = "`+srv.HTTPAddr()+`"
def flow(user):
    http.get("http://" + BASE + "/cookies/set?session=u%d" % user.id)
    c = ws.connect("ws://" + BASE + "/ws?set_cookie=chat=c%d" % user.id, name = "chat")
    check(c.ok, "open")
    c.close()
    http.get("http://" + BASE + "/cookies", name = "after")
`)
		res := runFile(t, file, nil)
		if res.Checks["open"] == nil || res.Checks["open"].Passed != 2 {
			t.Fatalf("%s: checks %v, errors %v", tc.mode, res.Checks, res.Errors)
		}
		settle(srv)
		opened, after := map[string]string{}, map[string]string{}
		for _, s := range srv.Seen() {
			if s.Proto != "http" {
				continue
			}
			switch s.Path {
			case "/ws":
				opened[s.Source] = s.Cookies()["session"]
			case "/cookies":
				after[s.Source] = s.Cookies()["chat"]
			}
		}
		for i, src := range []string{"127.0.6.1", "127.0.6.2"} {
			wantOpen, wantAfter := "", ""
			if tc.want == "jar" {
				// user ids are 1 and 2 in spawn order, addresses given in order
				wantOpen, wantAfter = fmt.Sprintf("u%d", i+1), fmt.Sprintf("c%d", i+1)
			}
			if opened[src] != wantOpen || after[src] != wantAfter {
				t.Errorf("cookies %s, from %s: the opening carried session=%q (want %q), a later request chat=%q (want %q)",
					tc.mode, src, opened[src], wantOpen, after[src], wantAfter)
			}
		}
	}
}
