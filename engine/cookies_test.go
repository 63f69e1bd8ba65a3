package engine_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

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
