package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// TestSymlinksCannotLeaveTheTree: a linked file, a linked directory and a
// link to / all lead out of the scenario's directory; load() and modules:
// refuse each at its position, and the secret outside is never read.
func TestSymlinksCannotLeaveTheTree(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.star", "SECRET = 'hunter2'\n")
	writeFile(t, outside, ".env", "SECRET = 'hunter2'\n") // a .env file is valid Starlark
	dir := t.TempDir()
	for link, to := range map[string]string{
		"linked.star": filepath.Join(outside, ".env"),
		"linkdir":     outside,
		"root":        "/",
	} {
		if err := os.Symlink(to, filepath.Join(dir, link)); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
	}
	inRoot := strings.TrimPrefix(filepath.Join(outside, "secret.star"), "/")
	for name, c := range map[string]struct{ file, src, at string }{
		"linked file":      {"a.star", "load('linked.star', 'SECRET')\ndef flow(user):\n    pass\n", ":1:1:"},
		"linked directory": {"b.star", "x = 1\nload('linkdir/secret.star', 'SECRET')\ndef flow(user):\n    pass\n", ":2:1:"},
		"link to /":        {"c.star", "load('root/" + inRoot + "', 'SECRET')\ndef flow(user):\n    pass\n", ":1:1:"},
		"modules: link":    {"m.yaml", "modules:\n  auth: linked.star\nactions: [{id: a, call: auth.login}]\ntasks: [{id: s, action: a}]\n", ":2:9:"},
		"modules: dir":     {"n.yaml", "modules: {auth: linkdir/secret.star}\nactions: [{id: a, call: auth.login}]\ntasks: [{id: s, action: a}]\n", ":1:17:"},
	} {
		file := writeFile(t, dir, c.file, c.src)
		_, err := engine.Load(file, nil, engine.Options{})
		if err == nil || !engine.IsInputError(err) {
			t.Errorf("%s: want an input error, got %v", name, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, file+c.at) || !strings.Contains(msg, "outside the scenario's directory") {
			t.Errorf("%s: got %q, want it at %s%s", name, msg, file, c.at)
		}
	}
	// A link that stays inside the tree is fine.
	writeFile(t, dir, "lib/real.star", "X = 1\n")
	if err := os.Symlink(filepath.Join(dir, "lib", "real.star"), filepath.Join(dir, "alias.star")); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, dir, "ok.star", "load('alias.star', 'X')\ndef flow(user):\n    pass\n")
	if _, err := engine.Load(file, nil, engine.Options{}); err != nil {
		t.Errorf("a link inside the tree: %v", err)
	}
}

// TestEnvExposesOnlyWhatIsNamed: NTX_ variables and those given with -e
// (Options.Env); any other is an error naming the way to pass it.
func TestEnvExposesOnlyWhatIsNamed(t *testing.T) {
	t.Setenv("NTX_SANDBOX_SEEN", "ntx")
	t.Setenv("SANDBOX_NAMED", "named")
	t.Setenv("SANDBOX_SECRET", "hunter2")
	file := writeFile(t, t.TempDir(), "env.star", `
def flow(user):
    check(env.NTX_SANDBOX_SEEN == "ntx", "NTX_ prefix")
    check(env.SANDBOX_NAMED == "named", "-e NAME")
    check(env.SANDBOX_GIVEN == "given", "-e NAME=VALUE")
    check(env.NTX_SANDBOX_UNSET == None, "unset NTX_ is None")
    check(not hasattr(env, "SANDBOX_SECRET"), "hidden")
    check(getattr(env, "SANDBOX_SECRET", "dflt") == "dflt", "getattr default")
    log(env.SANDBOX_SECRET)
`)
	opts := engine.Options{Options: runOpts(), Env: []string{"SANDBOX_NAMED", "SANDBOX_GIVEN=given"}}
	res, err := engine.Run(context.Background(), file, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range res.Checks {
		if c.Passed != 1 {
			t.Errorf("check %q: %+v", name, c)
		}
	}
	if len(res.Checks) != 6 {
		t.Errorf("%d checks ran, want 6", len(res.Checks))
	}
	var msgs []string
	for _, m := range res.Errors {
		msgs = append(msgs, m)
	}
	all := strings.Join(msgs, "\n")
	if res.Iterations.Failed != 1 || !strings.Contains(all, "env.star:9:12: env.SANDBOX_SECRET: scenarios see only variables named with -e SANDBOX_SECRET") || strings.Contains(all, "hunter2") {
		t.Errorf("iterations %+v, errors %q", res.Iterations, all)
	}
}

// TestBindIPMustBeAPoolAddress: a literal bind_ip outside the pools is an
// input error at its position; one computed at run time is an error of
// kind no-address and nothing is sent from it.
func TestBindIPMustBeAPoolAddress(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "bind.yaml", `ip_pools: [{id: p, ips: [127.0.20.1]}]
actions:
  - {id: a, call: get, with: {url: "http://127.0.0.1:1/", bind_ip: 127.0.0.1}}
tasks: [{id: s, action: a}]
`)
	_, err := engine.Load(file, nil, engine.Options{})
	if err == nil || !strings.Contains(err.Error(), file+":3:68: bind_ip 127.0.0.1 is not an address of the scenario's ip pools (p)") {
		t.Errorf("literal bind_ip: %v", err)
	}
	star := writeFile(t, dir, "bind.star", `
scenario = {"ip_pools": [{"id": "p", "ips": ["127.0.20.1"]}]}

def flow(user):
    base = "http://" + env.NTX_TARGET_HTTP
    ok = http.get(base + "/asset", bind_ip = "127.0.20.1", name = "in-pool")
    bad = http.get(base + "/asset", bind_ip = "127.0.0." + str(1), name = "outside")
    check(ok.ok and ok.source_ip == "127.0.20.1", "in the pool")
    check(not bad.ok and "not an address of the scenario's ip pools" in bad.error, "outside")
`)
	res := runFile(t, star, nil)
	for name, c := range res.Checks {
		if c.Passed != 1 {
			t.Errorf("check %q: %+v", name, c)
		}
	}
	if a := res.Actions["outside"]; a == nil || a.Errors["no-address"] != 1 {
		t.Errorf("outside: %+v", a)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Source == "127.0.0.1" }); n != 0 {
		t.Errorf("the target saw %d requests from outside the pool", n)
	}
}
