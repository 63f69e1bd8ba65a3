package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
	"github.com/ntx-dev/ntx/engine/target/targettest"
)

func ntx(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, cmd := range []string{"exec", "validate", "compile", "serve", "version", "report"} {
		code, _, stderr := ntx(t, cmd, "--help")
		if code != exitPassed || !strings.Contains(stderr, "Usage: ntx "+cmd) {
			t.Errorf("ntx %s --help: exit %d, output:\n%s", cmd, code, stderr)
		}
	}
	if code, stdout, _ := ntx(t, "--help"); code != 0 || !strings.Contains(stdout, "ntx exec FILE") {
		t.Errorf("ntx --help: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := ntx(t, "exec", "--no-such-flag", "x.yaml"); code != exitInvalid || !strings.Contains(stderr, "unknown flag: --no-such-flag") {
		t.Errorf("bad flag: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := ntx(t, "frobnicate"); code != exitInvalid || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("bad command: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ := ntx(t, "version"); code != 0 || !strings.HasPrefix(stdout, "ntx ") {
		t.Errorf("version: exit %d %q", code, stdout)
	}
	if code, _, stderr := ntx(t, "exec", "no/such/file.yaml"); code != exitInvalid || !strings.Contains(stderr, "no/such/file.yaml: cannot read") {
		t.Errorf("missing file: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := ntx(t, "exec"); code != exitInvalid || !strings.Contains(stderr, "want exactly one scenario file") {
		t.Errorf("no file: exit %d\n%s", code, stderr)
	}
}

// startTarget starts the built-in target and points the testdata
// scenarios at it through the NTX_TARGET_* variables.
func startTarget(t *testing.T) *target.Server {
	t.Helper()
	return targettest.StartEnv(t)
}

func TestExecWritesSummaryAndJSON(t *testing.T) {
	srv := startTarget(t)
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := ntx(t, "exec", "--quiet", "--out", out, "../../testdata/valid/workbook.yaml")
	if code != exitPassed {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"scenario workbook-edges: passed", "get-status", "post-asset", "127.0.1.1", "pool eip-pool-1: 4 addresses"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "started_at", "duration_ms", "users", "iterations", "actions", "source_ips", "pools", "thresholds", "passed", "interrupted"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if doc["interrupted"] != false {
		t.Errorf("a run that reached its end says interrupted: %v", doc["interrupted"])
	}
	lat := doc["actions"].(map[string]any)["get-status"].(map[string]any)["latency_ms"].(map[string]any)
	for _, k := range []string{"min", "mean", "p50", "p90", "p95", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency lacks %q", k)
		}
	}
	if n := len(srv.Seen()); n != 16 {
		t.Errorf("target saw %d requests, want 16", n)
	}
}

func TestExitCodes(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	failing := filepath.Join(dir, "check.star")
	os.WriteFile(failing, []byte("def flow(user):\n    check(False, 'never true')\n"), 0o644)
	if code, stdout, _ := ntx(t, "exec", failing); code != exitFailed || !strings.Contains(stdout, "check FAIL never true") {
		t.Errorf("failed check: exit %d, want 1\n%s", code, stdout)
	}
	strict := filepath.Join(dir, "strict.yaml")
	os.WriteFile(strict, []byte("name: t\nactions: [{id: a, call: get, with: {url: 'http://{{env.NTX_TARGET_HTTP}}/delay/5'}}]\ntasks: [{id: s, action: a}]\nthresholds: ['a.p95 < 1ms', 'a.error_rate <= 0%', 'iterations.passed == 1']\n"), 0o644)
	out := filepath.Join(dir, "strict.json")
	code, stdout, _ := ntx(t, "exec", "--quiet", "--out", out, strict)
	if code != exitFailed || !strings.Contains(stdout, "threshold FAIL a.p95 < 1ms (value ") || !strings.Contains(stdout, "threshold ok   a.error_rate <= 0% (value 0%)") ||
		!strings.Contains(stdout, "threshold ok   iterations.passed == 1 (value 1)") || !regexp.MustCompile(`a\.p95 < 1ms \(value [0-9.]+m?s\)`).MatchString(stdout) {
		t.Errorf("failed threshold: exit %d, want 1\n%s", code, stdout)
	}
	var doc struct {
		Thresholds []struct {
			Expr  string
			OK    bool
			Value float64
			Unit  string
		}
		Passed bool
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Thresholds) != 3 || doc.Passed ||
		doc.Thresholds[0].OK || doc.Thresholds[0].Value < 5 || !doc.Thresholds[1].OK ||
		doc.Thresholds[0].Unit != "ms" || doc.Thresholds[1].Unit != "fraction" || doc.Thresholds[2].Unit != "count" {
		t.Errorf("thresholds in JSON: %+v (%v)", doc, err)
	}
	foreign := filepath.Join(dir, "foreign.yaml")
	os.WriteFile(foreign, []byte("name: f\nip_pools: [{id: p, ips: ['192.0.2.9']}]\nactions: [{id: a, call: get, with: {url: 'http://127.0.0.1:9/'}}]\ntasks: [{id: s, action: a}]\n"), 0o644)
	if code, _, stderr := ntx(t, "exec", foreign); code != exitDied || !strings.Contains(stderr, "ip addr add 192.0.2.9/32 dev lo") {
		t.Errorf("foreign address: exit %d, want 3\n%s", code, stderr)
	}
	warn := filepath.Join(dir, "warn.yaml")
	os.WriteFile(warn, []byte("name: w\ntasks:\n  - {id: start}\n  - {id: lost}\n"), 0o644)
	if code, stdout, stderr := ntx(t, "validate", warn); code != exitPassed || !strings.Contains(stderr, "warn.yaml:4:5: warning: node \"lost\" is unreachable") || !strings.Contains(stdout, "ok") {
		t.Errorf("validate with a warning: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestCompileThenExec prints a program with `ntx compile`, saves it next
// to the YAML's modules and runs it with `ntx exec`.
func TestCompileThenExec(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	src, _ := os.ReadFile("../../testdata/valid/custom.yaml")
	yamlPath := filepath.Join(dir, "custom.yaml")
	os.WriteFile(yamlPath, src, 0o644)
	os.MkdirAll(filepath.Join(dir, "lib"), 0o755)
	for _, f := range []string{"auth.star", "util.star"} {
		b, _ := os.ReadFile("../../testdata/valid/lib/" + f)
		os.WriteFile(filepath.Join(dir, "lib", f), b, 0o644)
	}
	starPath := filepath.Join(dir, "custom.star")
	if code, _, stderr := ntx(t, "compile", "-o", starPath, yamlPath); code != 0 {
		t.Fatalf("compile: exit %d\n%s", code, stderr)
	}
	// The scenario's custom action "broken" raises: a script error, so
	// the run fails (spec §6.1) although every iteration went on.
	code, stdout, stderr := ntx(t, "exec", starPath)
	if code != exitFailed || !strings.Contains(stdout, "\nFAILED: 1 script error, first: action \"broken\": ") {
		t.Fatalf("exec: exit %d, want 1 for the custom action that raises\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "login") || len(srv.Seen()) != 2 {
		t.Errorf("target saw %d requests; summary:\n%s", len(srv.Seen()), stdout)
	}
	code, stdout, _ = ntx(t, "compile", yamlPath)
	if code != 0 || !strings.Contains(stdout, `load("lib/auth.star", auth_login = "login")`) {
		t.Errorf("compile to stdout: exit %d\n%s", code, stdout)
	}
}

// TestIterationsZeroLoopsUntilTheDuration: --iterations 0 is given, not
// the default, and means "loop until the duration ends" (issue: it was
// taken for "not given" and each user ran the scenario's one iteration).
func TestIterationsZeroLoopsUntilTheDuration(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "once.yaml")
	os.WriteFile(file, []byte(`name: once
actions:
  - id: a
    call: get
    with:
      url: "http://{{env.NTX_TARGET_HTTP}}/health"
      headers: {X-User: "{{user.id}}"}
tasks: [{id: s, action: a}]
`), 0o644)
	code, stdout, stderr := ntx(t, "exec", "--quiet", "--users", "3", "--duration", "1s", "--iterations", "0", file)
	if code != exitPassed {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	perUser := map[string]int{}
	for _, s := range srv.Seen() {
		perUser[s.Header.Get("X-User")]++
	}
	if len(perUser) != 3 {
		t.Fatalf("requests by user %v, want 3 users", perUser)
	}
	for u, n := range perUser {
		if n < 2 {
			t.Errorf("user %s ran %d iterations in 1s with --iterations 0, want it to loop until the duration ends", u, n)
		}
	}
	if code, _, stderr := ntx(t, "exec", "--quiet", "--iterations", "0", file); code != exitInvalid || !strings.Contains(stderr, "give --duration") {
		t.Errorf("--iterations 0 without a duration: exit %d\n%s", code, stderr)
	}
}
