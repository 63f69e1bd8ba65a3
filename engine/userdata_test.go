package engine_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/internal/runtime"
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

// accountsCSV writes n accounts, "user1".."userN", to dir/name.
func accountsCSV(t *testing.T, dir, name string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("username,password\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "user%d,pw%d\n", i, i)
	}
	writeFile(t, dir, name, b.String())
}

// dataScenario is a YAML scenario whose users post the row they hold of
// dataset accounts as "uID ROW" to the target, iterations times each.
func dataScenario(users, iterations int, dataset string) string {
	return fmt.Sprintf(`
name: data
data:
%s
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: %d}]}
  user_lifetime: {mode: loop, iterations: %d}
actions:
  - id: post
    call: post
    with:
      url: "http://{{env.NTX_TARGET_HTTP}}/asset"
      body: "u{{user.id}} {{data.accounts.username}}:{{data.accounts['password']}}"
tasks:
  - {id: t, action: post}
`, dataset, users, iterations)
}

// rowsSent returns the rows each user posted, in order, and how often
// each row was posted in all.
func rowsSent(srv *target.Server) (byUser map[string][]string, counts map[string]int) {
	settle(srv)
	byUser, counts = map[string][]string{}, map[string]int{}
	for _, s := range srv.Seen() {
		if s.Method != "POST" {
			continue
		}
		u, row, _ := strings.Cut(s.Body, " ")
		byUser[u] = append(byUser[u], row)
		counts[row]++
	}
	return byUser, counts
}

func TestDataPerUser(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	accountsCSV(t, dir, "data/accounts.csv", 10)
	file := writeFile(t, dir, "s.yaml", dataScenario(6, 3, "  - {id: accounts, file: data/accounts.csv, order: per_user}"))
	res := runFile(t, file, nil)
	if res.Iterations.Passed != 18 {
		t.Fatalf("iterations %+v", res.Iterations)
	}
	byUser, counts := rowsSent(srv)
	for u := 1; u <= 6; u++ {
		want := fmt.Sprintf("user%d:pw%d", u, u)
		got := byUser[fmt.Sprintf("u%d", u)]
		if len(got) != 3 || got[0] != want || got[1] != want || got[2] != want {
			t.Errorf("user %d sent %v, want %s in each of its 3 iterations", u, got, want)
		}
	}
	// No two users share a row: each row was sent by one user only.
	if len(counts) != 6 {
		t.Errorf("rows sent: %v", counts)
	}
}

func TestDataPerUserWraps(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	accountsCSV(t, dir, "a.csv", 3)
	file := writeFile(t, dir, "s.yaml", dataScenario(7, 1, "  - {id: accounts, file: a.csv}"))
	runFile(t, file, nil)
	byUser, _ := rowsSent(srv)
	for u, want := range map[int]string{1: "user1", 3: "user3", 4: "user1", 7: "user1", 5: "user2"} {
		if got := byUser[fmt.Sprintf("u%d", u)]; len(got) != 1 || !strings.HasPrefix(got[0], want+":") {
			t.Errorf("user %d sent %v, want row %s ((N-1) mod 3)", u, got, want)
		}
	}
}

func TestDataSequentialAdvancesOneCursor(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	accountsCSV(t, dir, "a.csv", 5)
	file := writeFile(t, dir, "s.yaml", dataScenario(3, 4, "  - {id: accounts, file: a.csv, order: sequential}"))
	runFile(t, file, nil)
	_, counts := rowsSent(srv)
	// 12 iterations over one cursor of 5 rows: rows 1 and 2 three times,
	// the others twice, however the users interleave.
	want := map[string]int{"user1:pw1": 3, "user2:pw2": 3, "user3:pw3": 2, "user4:pw4": 2, "user5:pw5": 2}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("rows sent %v, want %v", counts, want)
	}
}

func TestDataUniqueStopUser(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	accountsCSV(t, dir, "a.csv", 25)
	// 4 users would run 40 iterations; the 25 rows run out first.
	file := writeFile(t, dir, "s.yaml", dataScenario(4, 10, "  - {id: accounts, file: a.csv, order: unique, on_exhausted: stop_user}"))
	res := runFile(t, file, nil)
	byUser, counts := rowsSent(srv)
	if len(counts) != 25 {
		t.Fatalf("%d distinct rows sent, want all 25: %v", len(counts), counts)
	}
	for row, n := range counts {
		if n != 1 {
			t.Errorf("row %s sent %d times: unique hands each row out once", row, n)
		}
	}
	// (Which users got rows depends on scheduling: a user spawned late
	// may find none left.)
	// The iterations that found no row are not counted; the users stop
	// and the run passes.
	if res.Iterations.Total != 25 || res.Iterations.Failed != 0 || res.Users.Completed != 4 || !res.Passed {
		t.Errorf("iterations %+v, users %+v, passed %v", res.Iterations, res.Users, res.Passed)
	}
	// Users that ran all 10 iterations before the rows ran out did not stop.
	stopped := 4
	for _, rows := range byUser {
		if len(rows) == 10 {
			stopped--
		}
	}
	want := fmt.Sprintf(`dataset "accounts" handed out all its 25 rows (order: unique); then %d users stopped (on_exhausted: stop_user)`, stopped)
	if !slices.Contains(res.Warnings, want) {
		t.Errorf("warnings %q, want %q", res.Warnings, want)
	}
}

func TestDataUniqueFailIteration(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	accountsCSV(t, dir, "a.csv", 6)
	file := writeFile(t, dir, "s.yaml", dataScenario(2, 5, "  - {id: accounts, file: a.csv, order: unique, on_exhausted: fail_iteration}"))
	res := runFile(t, file, nil)
	_, counts := rowsSent(srv)
	if len(counts) != 6 {
		t.Errorf("rows sent: %v", counts)
	}
	if res.Iterations.Total != 10 || res.Iterations.Passed != 6 || res.Iterations.Failures["data-exhausted"] != 4 || res.Passed {
		t.Errorf("iterations %+v, passed %v: want 4 failed with data-exhausted", res.Iterations, res.Passed)
	}
}

func TestDataUniqueRecycle(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	accountsCSV(t, dir, "a.csv", 2)
	file := writeFile(t, dir, "s.yaml", dataScenario(1, 5, "  - {id: accounts, file: a.csv, order: unique, on_exhausted: recycle}"))
	res := runFile(t, file, nil)
	byUser, _ := rowsSent(srv)
	if got := strings.Join(byUser["u1"], " "); got != "user1:pw1 user2:pw2 user1:pw1 user2:pw2 user1:pw1" || res.Iterations.Passed != 5 {
		t.Errorf("sent %s; iterations %+v", got, res.Iterations)
	}
}

func TestDataRandomIsReproducible(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	accountsCSV(t, dir, "a.csv", 1000)
	file := writeFile(t, dir, "s.yaml", dataScenario(5, 4, "  - {id: accounts, file: a.csv, order: random}"))
	run := func(seed uint64) map[string][]string {
		srv.Reset()
		if _, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runtime.Options{Seed: seed}}); err != nil {
			t.Fatal(err)
		}
		byUser, _ := rowsSent(srv)
		return byUser
	}
	a, b, c := run(3), run(3), run(4)
	same := 0
	for u, rows := range a {
		if strings.Join(b[u], " ") != strings.Join(rows, " ") {
			t.Errorf("seed 3, %s: %v then %v", u, rows, b[u])
		}
		if strings.Join(c[u], " ") == strings.Join(rows, " ") {
			same++
		}
	}
	if len(a) != 5 || same == 5 {
		t.Errorf("seed 4 drew what seed 3 did for %d of %d users", same, len(a))
	}
}

func TestDataInStarlark(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "data/products.json", `[{"sku": "a", "tags": ["x"]}, {"sku": "b", "tags": []}, {"sku": "c", "tags": ["y", "z"]}]`)
	accountsCSV(t, dir, "data/accounts.csv", 4)
	writeFile(t, dir, "lib/login.star", `
def credentials():
    return data.accounts["username"] + ":" + data.accounts.password
`)
	file := writeFile(t, dir, "s.star", `
load("lib/login.star", "credentials")
scenario = {
    "data": [
        {"id": "accounts", "file": "data/accounts.csv"},
        {"id": "products", "file": "data/products.json", "order": "unique", "on_exhausted": "stop_user"},
    ],
    "load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 2}]},
             "user_lifetime": {"mode": "loop", "iterations": 5}},
}

def flow(user):
    p = data.products
    http.post("http://" + env.NTX_TARGET_HTTP + "/asset",
              body = "u%d %s %s %d" % (user.id, credentials(), p.sku, len(p["tags"])))
    user.data["n"] = user.data.get("n", 0) + 1
`)
	res := runFile(t, file, nil)
	byUser, counts := rowsSent(srv)
	if len(counts) != 3 || res.Iterations.Total != 3 || res.Iterations.Failed != 0 {
		t.Fatalf("rows %v, iterations %+v", counts, res.Iterations)
	}
	for u, rows := range byUser {
		for _, r := range rows {
			if want := strings.Replace(u, "u", "user", 1) + ":pw" + u[1:]; !strings.HasPrefix(r, want+" ") {
				t.Errorf("%s sent %q, want its own account %s", u, r, want)
			}
		}
	}
}

func TestDataErrors(t *testing.T) {
	dir := t.TempDir()
	accountsCSV(t, dir, "good.csv", 2)
	writeFile(t, dir, "ragged.csv", "a,b\n1,2\n3\n")
	writeFile(t, dir, "bad.json", "[\n  {\"a\": 1},\n  {\"a\": }\n]\n")
	outside := t.TempDir()
	accountsCSV(t, outside, "x.csv", 1)
	cases := []struct {
		name, dataset, body, want string
	}{
		{"missing file", "{id: accounts, file: nope.csv}", "x", `s.yaml:4:26: dataset "accounts": data file "nope.csv" does not exist`},
		{"ragged", "{id: accounts, file: ragged.csv}", "x", "ragged.csv:3:1: this row has 1 fields but the header has 2 columns"},
		{"invalid json", "{id: accounts, file: bad.json}", "x", "bad.json:3:9: invalid JSON: invalid character '}' looking for beginning of value"},
		{"outside", "{id: accounts, file: " + filepath.Join(outside, "x.csv") + "}", "x", "is outside the scenario's directory"},
		{"outside by ..", "{id: accounts, file: ../" + filepath.Base(outside) + "/x.csv}", "x", "is outside the scenario's directory"},
		{"unknown dataset", "{id: accounts, file: good.csv}", "{{data.acounts.username}}", `s.yaml:13:21: data has no dataset "acounts" (did you mean "accounts"?)`},
		{"unknown column", "{id: accounts, file: good.csv}", "{{data.accounts.usrname}}", `s.yaml:13:30: dataset "accounts" has no column "usrname" (did you mean "username"?)`},
		{"unknown column by key", "{id: accounts, file: good.csv}", `{{data.accounts["pasword"]}}`, `dataset "accounts" has no column "pasword" (did you mean "password"?)`},
		{"no data section", "", "{{data.accounts.username}}", "data reads the datasets of a data: section, and this scenario has none"},
		{"on_exhausted without unique", "{id: accounts, file: good.csv, on_exhausted: recycle}", "x", "on_exhausted applies to order: unique only"},
		{"bad order", "{id: accounts, file: good.csv, order: shuffled}", "x", `order must be one of per_user, sequential, random, unique, not "shuffled"`},
		{"bad id", "{id: my-accounts, file: good.csv}", "x", `dataset id "my-accounts" must be an identifier`},
		{"unknown key", "{id: accounts, file: good.csv, oder: random}", "x", `unknown key "oder" in a dataset (did you mean "order"?)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			section := ""
			if c.dataset != "" {
				section = "data:\n  - " + c.dataset
			}
			src := fmt.Sprintf(`name: e

%s
actions:
  - id: post
    call: post
    with:
      url: "http://127.0.0.1:1/"
      headers: {a: b}
      query: {c: d}
      form: {e: f}
      body: "%s"
tasks:
  - {id: t, action: post}
`, section, strings.ReplaceAll(c.body, `"`, `\"`))
			file := writeFile(t, dir, "s.yaml", src)
			_, err := engine.Load(file, nil, engine.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got:\n%v", c.want, err)
			}
		})
	}
}

func TestDataErrorsInStarlark(t *testing.T) {
	dir := t.TempDir()
	accountsCSV(t, dir, "good.csv", 2)
	file := writeFile(t, dir, "s.star", `
scenario = {
    "data": [
        {"id": "accounts", "file": "good.csv"},
        {"id": "other", "file": "missing.csv"},
    ],
}

def flow(user):
    pass
`)
	_, err := engine.Load(file, nil, engine.Options{})
	if err == nil || !strings.Contains(err.Error(), `s.star:5:33: dataset "other": data file "missing.csv" does not exist`) {
		t.Fatalf("got %v", err)
	}
	// A misspelt dataset or column in a flow fails the iteration with a
	// hint, at the line of the flow that reads it.
	for flow, want := range map[string]string{
		"data.acounts.username":    `s.star:5:16: data has no dataset "acounts" (did you mean .accounts?)`,
		`data.accounts["usernme"]`: `s.star:5:25: dataset "accounts" has no column "usernme" (did you mean "username"?)`,
		"data.accounts.passwrd":    `s.star:5:25: dataset "accounts" has no column "passwrd" (did you mean .password?)`,
	} {
		file = writeFile(t, dir, "s.star", `
scenario = {"data": [{"id": "accounts", "file": "good.csv"}]}

def flow(user):
    return `+flow+`
`)
		res, err := engine.Run(context.Background(), file, nil, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if text := fmt.Sprintf("%+v", res.Reasons); res.Iterations.Failures["error"] != 1 || !strings.Contains(text, want) {
			t.Errorf("%s: iterations %+v, reasons %s; want %s", flow, res.Iterations, text, want)
		}
	}
}

func TestSetupAndTeardownInStarlark(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "lib/auth.star", `
def bearer():
    return "Bearer " + setup["token"]
`)
	file := writeFile(t, dir, "s.star", `
load("lib/auth.star", "bearer")
scenario = {
    "load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 4}]},
             "user_lifetime": {"mode": "loop", "iterations": 2}},
}
base = "http://" + env.NTX_TARGET_HTTP

def setup():
    r = http.post(base + "/asset", body = "login", name = "login")
    if not r.ok:
        fail("login failed")
    return {"token": "t-%d" % user_or_zero(), "ids": [1, 2]}

def user_or_zero():
    return 42

def flow(user):
    http.post(base + "/asset", body = "u%d %s %s" % (user.id, setup["token"], bearer()))

def teardown(data):
    http.post(base + "/asset", body = "logout " + data["token"], name = "logout")
`)
	res := runFile(t, file, nil)
	settle(srv)
	var bodies []string
	for _, s := range srv.Seen() {
		if s.Method == "POST" {
			bodies = append(bodies, s.Body)
		}
	}
	if len(bodies) != 10 || bodies[0] != "login" || bodies[9] != "logout t-42" {
		t.Fatalf("the target saw %q: want login first, 8 user posts, logout last", bodies)
	}
	for _, b := range bodies[1:9] {
		if !strings.HasSuffix(b, " t-42 Bearer t-42") {
			t.Errorf("a user's post lacks setup's token: %q", b)
		}
	}
	if !res.Passed || res.Actions["login"] == nil || res.Actions["login"].Count != 1 || res.Actions["logout"] == nil || res.Iterations.Total != 8 {
		t.Errorf("passed %v, reasons %v, actions %v, iterations %+v", res.Passed, res.Reasons, keysOf(res.Actions), res.Iterations)
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestFailingSetupSendsNoLoad(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "s.star", `
scenario = {"load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 3}]}}}
base = "http://" + env.NTX_TARGET_HTTP

def setup():
    r = http.get(base + "/status/401", name = "login")
    if not r.ok:
        fail("login answered", r.status_code)
    return r.status_code

def flow(user):
    http.post(base + "/asset", body = "load")

def teardown():
    http.post(base + "/asset", body = "teardown")
`)
	res := runFile(t, file, nil)
	settle(srv)
	for _, s := range srv.Seen() {
		if s.Method == "POST" {
			t.Errorf("the target saw %s %s %q after setup failed", s.Method, s.Path, s.Body)
		}
	}
	if res.Passed || len(res.Reasons) == 0 || res.Reasons[0].What != "setup" || res.Users.Spawned != 0 ||
		!strings.Contains(res.SetupError, "s.star:8:13: login answered 401") {
		t.Errorf("passed %v, reasons %+v, setup error %q, users %+v", res.Passed, res.Reasons, res.SetupError, res.Users)
	}
	if a := res.Actions["login"]; a == nil || a.Count != 1 {
		t.Errorf("setup's call is measured: %v", keysOf(res.Actions))
	}
}

func TestSetupValueIsFrozenAndHooksAreChecked(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.star", `
def setup():
    return {"n": 1}

def flow(user):
    setup["n"] = 2
`)
	res := runFile(t, file, nil)
	if res.Iterations.Failures["error"] != 1 || !strings.Contains(fmt.Sprint(res.Reasons), "frozen") {
		t.Errorf("a user changed setup's value: %+v %v", res.Iterations, res.Reasons)
	}
	for src, want := range map[string]string{
		"def setup(x):\n    pass\ndef flow(user):\n    pass\n":       "s.star:1:1: setup takes 1 parameters; it must take none",
		"setup = 3\ndef flow(user):\n    pass\n":                     "setup is a int; a scenario's setup is a function",
		"def teardown(a, b):\n    pass\ndef flow(user):\n    pass\n": "s.star:1:1: teardown takes 2 parameters",
	} {
		file := writeFile(t, dir, "s.star", src)
		if _, err := engine.Load(file, nil, engine.Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
}

func TestSetupAndTeardownInYAML(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", `
name: hooks
setup: [login]
teardown: [logout]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: 3}]}
actions:
  - id: login
    call: post
    with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset", body: "login"}
    export: [{type: variable, name: token, scope: workbook, default: "t-{{100 * 2}}"}]
  - id: get
    call: post
    with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset", body: "u{{user.id}} Bearer {{vars.token}}"}
  - id: logout
    call: post
    with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset", body: "logout {{vars.token}}"}
tasks:
  - {id: t, action: get}
`)
	res := runFile(t, file, nil)
	settle(srv)
	var bodies []string
	for _, s := range srv.Seen() {
		bodies = append(bodies, s.Body)
	}
	if len(bodies) != 5 || bodies[0] != "login" || bodies[4] != "logout t-200" {
		t.Fatalf("the target saw %q: want login, 3 users' posts, logout", bodies)
	}
	for _, b := range bodies[1:4] {
		if !strings.HasSuffix(b, " Bearer t-200") {
			t.Errorf("a user's post lacks setup's token: %q", b)
		}
	}
	if !res.Passed || res.Actions["login"].Count != 1 || res.Actions["logout"].Count != 1 || res.Actions["get"].Count != 3 {
		t.Errorf("passed %v %v, actions %v", res.Passed, res.Reasons, keysOf(res.Actions))
	}

	// A setup action that fails ends the run before any user starts.
	srv.Reset()
	file = writeFile(t, dir, "s.yaml", `
name: hooks
setup: [login]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: 3}]}
actions:
  - id: login
    call: get
    with: {url: "http://{{env.NTX_TARGET_HTTP}}/status/503"}
  - id: get
    call: post
    with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset", body: "load"}
tasks:
  - {id: t, action: get}
`)
	res = runFile(t, file, nil)
	if n := count(srv, func(s target.Seen) bool { return s.Method == "POST" }); n != 0 || res.Passed || res.Users.Spawned != 0 ||
		!strings.Contains(res.SetupError, `s.yaml:3:9: action "login" failed:`) {
		t.Errorf("posts %d, passed %v, users %+v, setup error %q", n, res.Passed, res.Users, res.SetupError)
	}
}

// TestSetupSpeaksHTTPLikeTheUsers: setup's and teardown's requests
// follow the http: section as the users' do (a resolve entry, the user
// agent, the cookie jar), so a login in setup reaches the service the
// users load, the way they reach it.
func TestSetupSpeaksHTTPLikeTheUsers(t *testing.T) {
	srv := startTarget(t)
	_, port, _ := net.SplitHostPort(srv.HTTPAddr())
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", `
name: hooks
http:
  user_agent: ntx-test/hooks
  resolve: {shop.ntx.test: 127.0.0.1}
setup: [login, check]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: 1}]}
actions:
  - id: login
    call: get
    with: {url: "http://shop.ntx.test:`+port+`/cookies/set?session=s1"}
  - id: check
    call: get
    with: {url: "http://shop.ntx.test:`+port+`/cookies"}
    export: [{type: assert, name: session, path: cookies.session, default: "s1"}]
  - id: get
    call: get
    with: {url: "http://shop.ntx.test:`+port+`/ip"}
tasks:
  - {id: t, action: get}
`)
	res := runFile(t, file, nil)
	settle(srv)
	if !res.Passed || res.SetupError != "" || res.Actions["check"] == nil || res.Actions["check"].Count != 1 {
		t.Fatalf("passed %v, reasons %v, setup error %q, actions %v", res.Passed, res.Reasons, res.SetupError, keysOf(res.Actions))
	}
	seen := srv.Seen()
	if len(seen) != 3 {
		t.Fatalf("the target saw %d requests, want login, check, get", len(seen))
	}
	for _, s := range seen {
		if ua := s.Header.Get("User-Agent"); ua != "ntx-test/hooks" {
			t.Errorf("%s %s came with user agent %q, want the section's", s.Method, s.Path, ua)
		}
	}
}

func TestSetupStepsAreChecked(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", `
name: hooks
setup: [logn]
teardown: [who]
actions:
  - id: login
    call: get
    with: {url: "http://127.0.0.1:1/"}
  - id: who
    call: get
    with: {url: "http://127.0.0.1:1/{{user.id}}"}
tasks:
  - {id: t, action: login}
`)
	_, err := engine.Load(file, nil, engine.Options{})
	for _, want := range []string{`s.yaml:3:9: setup runs action "logn", which is not defined (did you mean "login"?)`,
		`s.yaml:11:39: action "who" runs in teardown:, as no user: "user" is not available here (no user exists yet)`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in:\n%v", want, err)
		}
	}
}
