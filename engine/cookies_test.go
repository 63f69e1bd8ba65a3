package engine_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// cookieYAML is a scenario of two users, each from its own address,
// three iterations each: every iteration asks /cookies before and after,
// and the first one logs in between (/cookies/set gives session=uN).
// MODE is the http: section's cookies, LOGIN and AFTER the login and
// after actions' own.
const cookieYAML = `
name: cookies
ip_pools: [{id: p, ips: [127.0.21.1, 127.0.21.2]}]
http: {cookies: MODE}
load:
  ramp_up: {phases: [{spawn_users: 2}]}
  user_lifetime: {mode: loop, iterations: 3}
actions:
  - {id: before, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/cookies?at=before&it={{user.iteration}}"}}
  - {id: login, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/cookies/set?session=u{{user.id}}"LOGIN}}
  - {id: after, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/cookies?at=after&it={{user.iteration}}"AFTER}}
tasks:
  - {id: start, action: before, next: [{task: login, when: "{{user.iteration == 1}}"}, {task: after}]}
  - {id: login, action: login, next: [{task: after}]}
  - {id: after, action: after}
`

// cookiesSeen returns the session cookie the target received at /cookies
// on each (at, iteration), by source address: "-" when none came.
func cookiesSeen(t *testing.T, srv *target.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range srv.Seen() {
		if s.Proto != "http" || s.Path != "/cookies" {
			continue
		}
		q, _ := url.ParseQuery(s.Query)
		key := fmt.Sprintf("%s %s %s", s.Source, q.Get("at"), q.Get("it"))
		c := s.Cookies()
		v := c["session"]
		if v == "" {
			v = "-"
		}
		if len(c) > 1 || (len(c) == 1 && c["session"] == "") {
			v += fmt.Sprintf(" and others: %v", c)
		}
		if _, dup := out[key]; dup {
			t.Errorf("the target saw %s twice", key)
		}
		out[key] = v
	}
	return out
}

// TestCookieModes: with cookies: user, each user's session cookie, set
// once, goes with every later request of that user and of no other (the
// target tells the users apart by their source addresses); with
// iteration it is gone when the next iteration begins; with off it is
// never sent; and an action's own cookies overrides the section's.
func TestCookieModes(t *testing.T) {
	srv := startTarget(t)
	// want gives, for user N (127.0.21.N), the session cookie expected
	// before and after the login in iterations 1 to 3; "u" stands for uN.
	for _, c := range []struct {
		mode, login, after string
		want               [6]string // before 1, after 1, before 2, after 2, before 3, after 3
	}{
		{"user", "", "", [6]string{"-", "u", "u", "u", "u", "u"}},
		{"iteration", "", "", [6]string{"-", "u", "-", "-", "-", "-"}},
		{"off", "", "", [6]string{"-", "-", "-", "-", "-", "-"}},
		// An action's own cookies: off neither sends nor stores.
		{"user", "", ", cookies: 'off'", [6]string{"-", "-", "u", "-", "u", "-"}},
		{"user", ", cookies: 'off'", "", [6]string{"-", "-", "-", "-", "-", "-"}},
		{"off", ", cookies: user", ", cookies: user", [6]string{"-", "u", "-", "u", "-", "u"}},
		// The iteration jar is not the user's.
		{"user", ", cookies: iteration", "", [6]string{"-", "-", "-", "-", "-", "-"}},
	} {
		t.Run(c.mode+c.login+c.after, func(t *testing.T) {
			srv.Reset()
			src := strings.NewReplacer("MODE", c.mode, "LOGIN", c.login, "AFTER", c.after).Replace(cookieYAML)
			file := writeFile(t, t.TempDir(), "cookies.yaml", src)
			res := runFile(t, file, nil)
			if res.Iterations.Total != 6 || len(res.Errors) > 0 {
				t.Fatalf("%d iterations, errors %v", res.Iterations.Total, res.Errors)
			}
			settle(srv)
			got := cookiesSeen(t, srv)
			if len(got) != 12 {
				t.Errorf("the target saw %d requests at /cookies, want 12: %v", len(got), got)
			}
			for user := 1; user <= 2; user++ {
				for i, w := range c.want {
					key := fmt.Sprintf("127.0.21.%d %s %d", user, []string{"before", "after"}[i%2], i/2+1)
					if w == "u" {
						w = fmt.Sprintf("u%d", user)
					}
					if got[key] != w {
						t.Errorf("%s: the target got session %q, want %q", key, got[key], w)
					}
				}
			}
		})
	}
}

// cookieRulesStar sets cookies with every attribute a jar must honour,
// then asks /cookies from each origin, each request named by its at=.
// @PORT@ is the target's HTTP port, @SPORT@ its HTTPS port.
const cookieRulesStar = `
scenario = {
    "name": "cookie-rules",
    "http": {"resolve": {"a.ntx.test": "127.0.0.1", "b.ntx.test": "127.0.0.1"}, "tls_verify": False},
}

A = "http://a.ntx.test:@PORT@"
B = "http://b.ntx.test:@PORT@"
S = "https://a.ntx.test:@SPORT@"

def setc(base, query):
    r = http.get(base + "/cookies/set-with?" + query, name = "set")
    check(r.ok, "set " + query + ": " + str(r.error))
    return r

def flow(user):
    setc(A, "name=host&value=1&http_only=true")         # host-only: a.ntx.test alone; HttpOnly sent all the same
    setc(A, "name=wide&value=1&domain=ntx.test")        # every *.ntx.test
    setc(A, "name=foreign&value=1&domain=example.com")  # not a.ntx.test's to set: dropped
    setc(A, "name=scoped&value=1&path=/inner")          # only under /inner
    setc(A, "name=gone&value=1")
    setc(A, "name=gone&value=1&max_age=0")              # Max-Age=0 deletes it
    s = setc(S, "name=sec&value=1&secure=true")         # Secure, set over HTTPS (HTTP/2)
    check(s.proto == "HTTP/2.0", "HTTPS spoke " + str(s.proto))
    r = setc(A, "name=hop&value=1&redirect=/cookies?at=hop")  # set on a redirect hop
    check(r.redirects == 1, "redirects: " + str(r.redirects))

    setc(A, "name=brief&value=1&max_age=1")             # expires after a second
    setc(A, "name=lasting&value=1&max_age=3600")
    sleep("2s")                                         # brief is past its Max-Age
    http.get(A + "/cookies?at=a", name = "echo")
    http.get(A + "/inner/x?at=inner", name = "echo")
    http.get(B + "/cookies?at=b", name = "echo")
    http.get(S + "/cookies?at=secure", name = "echo")
    http.get(A + "/cookies?at=explicit", name = "echo", headers = {"Cookie": "host=mine; extra=2"})

    # user.cookies: what a request would send; set and delete by hand.
    got = user.cookies.get(A + "/inner/")
    check(got == {"host": "1", "wide": "1", "scoped": "1", "hop": "1", "lasting": "1"}, "get: " + str(got))
    check(user.cookies.get(B + "/") == {"wide": "1"}, "get b: " + str(user.cookies.get(B + "/")))
    check("sec" in user.cookies.get(S + "/"), "get secure: " + str(user.cookies.get(S + "/")))
    user.cookies.set(A + "/", "manual", "m", path = "/cookies")
    user.cookies.set(A + "/", "host", "", max_age = 0)
    http.get(A + "/cookies?at=manual", name = "echo")
    user.cookies.clear()
    check(user.cookies.get(A + "/") == {}, "cleared: " + str(user.cookies.get(A + "/")))
    http.get(A + "/cookies?at=cleared", name = "echo")
`

// TestCookieRules: the jar follows RFC 6265 as a browser does (host-only
// and domain cookies, paths, Max-Age (0 deletes; a cookie past it is
// not sent), Secure only over HTTPS, a
// cookie set on a redirect hop sent on the next one, a cookie for
// another domain refused); a Cookie header the script writes goes first
// and wins over the jar's cookie of the same name; user.cookies reads,
// sets and clears the jar.
func TestCookieRules(t *testing.T) {
	srv := startTarget(t)
	_, port, _ := strings.Cut(srv.HTTPAddr(), "127.0.0.1:")
	_, sport, _ := strings.Cut(srv.HTTPSAddr(), "127.0.0.1:")
	src := strings.NewReplacer("@PORT@", port, "@SPORT@", sport).Replace(cookieRulesStar)
	res := runFile(t, writeFile(t, t.TempDir(), "rules.star", src), nil)
	for name, c := range res.Checks {
		if c.Failed != 0 {
			t.Errorf("check %q failed", name)
		}
	}
	if res.Iterations.Passed != 1 {
		t.Fatalf("iterations %+v, errors %v", res.Iterations, res.Errors)
	}
	settle(srv)
	got := map[string]string{}
	for _, s := range srv.Seen() {
		q, _ := url.ParseQuery(s.Query)
		if at := q.Get("at"); at != "" && s.Proto == "http" {
			got[at] = fmt.Sprint(s.Cookies())
			if at == "explicit" {
				got[at] = strings.Join(s.Header.Values("Cookie"), " | ")
			}
		}
	}
	want := map[string]string{
		"hop":      "map[hop:1 host:1 wide:1]", // the hop that set it led here
		"a":        "map[hop:1 host:1 lasting:1 wide:1]",
		"inner":    "map[hop:1 host:1 lasting:1 scoped:1 wide:1]",
		"b":        "map[wide:1]",
		"secure":   "map[hop:1 host:1 lasting:1 sec:1 wide:1]",
		"explicit": "host=mine; extra=2; wide=1; hop=1; lasting=1",
		"manual":   "map[hop:1 lasting:1 manual:m wide:1]",
		"cleared":  "map[]",
	}
	for at, w := range want {
		if got[at] != w {
			t.Errorf("at=%s: the target got cookies %s, want %s", at, got[at], w)
		}
	}
}

// TestCookieModeErrors: a cookies value that is not user, iteration or
// off is an input error at its position, in the http: section, in an
// action's with and in a Starlark call.
func TestCookieModeErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ http, with, at string }{
		{"{cookies: sometimes}", "{url: 'http://127.0.0.1:1/'}", "bad.yaml:2:17:"},
		{"{cookies: off}", "{url: 'http://127.0.0.1:1/', cookies: session}", "bad.yaml:4:68:"},
	} {
		src := "name: x\nhttp: " + c.http + "\nactions:\n  - {id: a, call: get, with: " + c.with + "}\ntasks: [{id: start, action: a}]\n"
		file := writeFile(t, dir, "bad.yaml", src)
		_, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
		if err == nil || !strings.Contains(err.Error(), c.at) || !strings.Contains(err.Error(), "user, iteration, off") {
			t.Errorf("%s / %s: got %v, want an error at %s naming user, iteration, off", c.http, c.with, err, c.at)
		}
	}
	file := writeFile(t, dir, "bad.star", `
def flow(user):
    http.get("http://127.0.0.1:1/", cookies = "sometimes")
`)
	res := runFile(t, file, nil)
	if res.Iterations.Failed != 1 || !strings.Contains(fmt.Sprint(res.Errors, res.Iterations), "cookies must be one of") {
		t.Errorf("a call with cookies = \"sometimes\": %+v, errors %v", res.Iterations, res.Errors)
	}
}

// TestCookieModesStar: the .star scenario dict's http section takes
// cookies as the YAML does: with iteration, the cookie a user got in
// one iteration is gone in the next, and user.cookies reads that
// iteration's jar; a call's cookies = "user" keeps its cookie in the
// user's jar, which outlives iterations.
func TestCookieModesStar(t *testing.T) {
	srv := startTarget(t)
	file := writeFile(t, t.TempDir(), "modes.star", `
scenario = {
    "name": "modes",
    "http": {"cookies": "iteration"},
    "ip_pools": [{"id": "p", "ips": ["127.0.23.1", "127.0.23.2"]}],
    "load": {"ramp_up": {"phases": [{"spawn_users": 2}]}, "user_lifetime": {"mode": "loop", "iterations": 2}},
}

def flow(user):
    base = "http://" + env.NTX_TARGET_HTTP
    it = str(user.iteration)
    jar = user.cookies.get(base + "/")
    check(jar == {}, "the iteration's jar starts empty")
    http.get(base + "/cookies?at=start&it=" + it, name = "echo")
    http.get(base + "/cookies/set?visit=v" + str(user.id) + "-" + it, name = "set")
    http.get(base + "/cookies/set?kept=k" + str(user.id), name = "set", cookies = "user")
    check(user.cookies.get(base + "/") == {"visit": "v" + str(user.id) + "-" + it}, "user.cookies is the iteration's jar")
    http.get(base + "/cookies?at=end&it=" + it, name = "echo")
    http.get(base + "/cookies?at=user&it=" + it, name = "echo", cookies = "user")
`)
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Failed != 0 {
			t.Errorf("check %q failed %d times", name, c.Failed)
		}
	}
	if res.Iterations.Passed != 4 {
		t.Fatalf("iterations %+v, errors %v", res.Iterations, res.Errors)
	}
	settle(srv)
	got := map[string]string{}
	for _, s := range srv.Seen() {
		if s.Path == "/cookies" {
			got[s.Source+" "+s.Query] = fmt.Sprint(s.Cookies())
		}
	}
	for u := 1; u <= 2; u++ {
		for it := 1; it <= 2; it++ {
			from := fmt.Sprintf("127.0.23.%d ", u)
			want := map[string]string{
				fmt.Sprintf("at=start&it=%d", it): "map[]",
				fmt.Sprintf("at=end&it=%d", it):   fmt.Sprintf("map[visit:v%d-%d]", u, it),
				fmt.Sprintf("at=user&it=%d", it):  fmt.Sprintf("map[kept:k%d]", u),
			}
			for q, w := range want {
				if got[from+q] != w {
					t.Errorf("%s%s: the target got %s, want %s", from, q, got[from+q], w)
				}
			}
		}
	}
}
