package engine_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
)

// TestShopExample runs the worked example scripts/shop.yaml (and its
// Starlark twin) against the built-in target as a user would, and checks
// at the target what it promises: every user logs in once with its own
// account from the CSV, every later request carries that user's session
// cookie, browsers never buy, buyers check out once per iteration, and the
// run passes its per-flow thresholds.
func TestShopExample(t *testing.T) {
	srv := startTarget(t)
	for _, file := range []string{"../scripts/shop.yaml", "../scripts/shop.star"} {
		t.Run(file, func(t *testing.T) {
			srv.Reset()
			res := runFile(t, file, nil)
			// The example's latency thresholds are for a quiet machine;
			// under -race beside other tests they may fail, and speed is
			// for benchmarks: every other threshold, and the verdict's
			// other grounds, must hold.
			for _, th := range res.Thresholds {
				if th.Error != "" || !th.OK && !latencyThreshold(th.Expr) {
					t.Errorf("threshold %s: %+v", th.Expr, th)
				} else if !th.OK {
					t.Logf("latency threshold %s failed on this machine (value %v)", th.Expr, th.Value)
				}
			}
			for _, r := range res.Reasons {
				if r.What != "threshold" {
					t.Errorf("the example failed: %+v", r)
				}
			}
			if res.Iterations.Failed != 0 || res.Users.FailedToStart != 0 || len(res.Thresholds) != 6 {
				t.Fatalf("iterations %+v, users %+v, %d thresholds", res.Iterations, res.Users, len(res.Thresholds))
			}
			browse, buy := res.Flows["browse"], res.Flows["buy"]
			if browse == nil || buy == nil || browse.Users+buy.Users != 45 || buy.Users < 5 || browse.Failed+buy.Failed != 0 {
				t.Fatalf("flows %+v %+v", browse, buy)
			}
			logins := map[string]int{}
			lister, buyer := map[string]bool{}, map[string]bool{}
			checkouts := 0
			for _, s := range srv.Seen() {
				if s.Proto != "http" {
					continue
				}
				if s.Path == "/login" {
					logins[bodyField(s.Body, "username")]++
					continue
				}
				session := s.Cookies()[target.SessionCookie]
				user, _, ok := strings.Cut(session, ".")
				if !ok || logins[user] != 1 {
					t.Fatalf("%s %s came with session %q (logins of its user: %d)", s.Method, s.Path, session, logins[user])
				}
				switch s.Path {
				case "/shop/products":
					lister[user] = true
				case "/shop/checkout":
					buyer[user] = true
					checkouts++
				}
			}
			if len(logins) != 45 {
				t.Errorf("%d accounts logged in, want 45", len(logins))
			}
			for i := 1; i <= 45; i++ {
				if name := fmt.Sprintf("shopper%02d", i); logins[name] != 1 {
					t.Errorf("%s logged in %d times, want once", name, logins[name])
				}
			}
			for u := range buyer {
				if lister[u] {
					t.Errorf("%s both browsed the list and bought", u)
				}
			}
			if len(lister) != int(browse.Users) || len(buyer) != int(buy.Users) || int64(checkouts) != buy.Iterations {
				t.Errorf("the target saw %d browsers, %d buyers, %d checkouts; ntx counted %d, %d users and %d buy iterations",
					len(lister), len(buyer), checkouts, browse.Users, buy.Users, buy.Iterations)
			}
			t.Logf("%s: %d browsers, %d buyers (5 pinned), %d checkouts", file, len(lister), len(buyer), checkouts)
		})
	}
}

// bodyField reads a field of a form body.
func bodyField(body, name string) string {
	req, _ := http.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = req.ParseForm()
	return req.PostForm.Get(name)
}

// latencyThreshold reports whether a threshold compares a latency.
func latencyThreshold(expr string) bool {
	for _, stat := range []string{".p95 ", ".p99 ", ".p50 ", ".mean ", ".max "} {
		if strings.Contains(expr, stat) {
			return true
		}
	}
	return false
}
