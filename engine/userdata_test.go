package engine_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/runtime"
	"github.com/ntx-dev/ntx/engine/target"
)

// bodiesByUser runs file with seed and returns, per user, the bodies of
// the POSTs it sent, in order. Each body must start with "uN ".
func bodiesByUser(t *testing.T, srv *target.Server, file string, src []byte, seed uint64) map[string][]string {
	t.Helper()
	srv.Reset()
	res, err := engine.Run(context.Background(), file, src, engine.Options{Options: runtime.Options{Seed: seed}})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if res.Iterations.Failed != 0 {
		t.Fatalf("%s: iterations %+v", file, res.Iterations)
	}
	settle(srv)
	out := map[string][]string{}
	for _, s := range srv.Seen() {
		if s.Method != "POST" {
			continue
		}
		user, _, _ := strings.Cut(s.Body, " ")
		out[user] = append(out[user], s.Body)
	}
	return out
}

func TestRandomIsReproducibleWithASeed(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "random.star", `
scenario = {
    "load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 8}]},
             "user_lifetime": {"mode": "loop", "iterations": 3}},
}

def flow(user):
    pick = random.choice(["apple", "pear", "plum", "fig"])
    body = "u%d %d %s %s %s" % (user.id, random.int(1, 1000000), pick, random.uuid(), random.string(6))
    http.post("http://" + env.NTX_TARGET_HTTP + "/asset", body = body)
`)
	a := bodiesByUser(t, srv, file, nil, 11)
	b := bodiesByUser(t, srv, file, nil, 11)
	c := bodiesByUser(t, srv, file, nil, 12)
	if len(a) != 8 {
		t.Fatalf("want 8 users' posts, got %v", a)
	}
	differ := 0
	for user, bodies := range a {
		if len(bodies) != 3 {
			t.Fatalf("%s posted %d times", user, len(bodies))
		}
		// Users run concurrently, so their posts interleave differently
		// from run to run; each user's own sequence must not change.
		if got := strings.Join(b[user], "|"); got != strings.Join(bodies, "|") {
			t.Errorf("seed 11, %s: first run %v, second run %v", user, bodies, b[user])
		}
		if strings.Join(c[user], "|") != strings.Join(bodies, "|") {
			differ++
		}
	}
	if differ != 8 {
		t.Errorf("seed 12 repeated the choices of seed 11 for %d of 8 users", 8-differ)
	}
	// The users do not all draw the same.
	firsts := map[string]bool{}
	for _, bodies := range a {
		_, rest, _ := strings.Cut(bodies[0], " ")
		firsts[rest] = true
	}
	if len(firsts) != 8 {
		t.Errorf("8 users drew %d distinct first choices: %v", len(firsts), sortedKeys(a))
	}
}

func sortedKeys(m map[string][]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprint(k, v))
	}
	sort.Strings(out)
	return out
}
