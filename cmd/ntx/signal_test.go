package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// TestMain lets the tests run this test binary as the ntx command, for
// what only a real process shows: signals and exit codes.
func TestMain(m *testing.M) {
	if os.Getenv("NTX_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func ntxProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "NTX_TEST_AS_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

// waitForRequests waits until the target has seen n requests.
func waitForRequests(t *testing.T, srv *target.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Seen()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the target saw only %d requests", len(srv.Seen()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const endless = `
name: endless
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: 3}]}
  user_lifetime: {mode: loop, iterations: 0}
  duration: 1h
  graceful_stop: 2s
actions: [{id: slow, call: get, with: {url: "http://{{env.NTX_TARGET_HTTP}}/delay/100"}}]
tasks: [{id: start, action: slow}]
`

func TestInterruptWritesWhatHappened(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "endless.yaml")
	os.WriteFile(file, []byte(endless), 0o644)
	out := filepath.Join(dir, "partial.json")
	cmd, stdout, stderr := ntxProcess(t, "exec", "--out", out, file)
	waitForRequests(t, srv, 6)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitPassed {
		t.Fatalf("exit %d (%v)\n%s\n%s", code, err, stdout, stderr)
	}
	if !strings.Contains(stderr.String(), "stopping") || !strings.Contains(stdout.String(), "scenario endless") {
		t.Errorf("stderr:\n%s\nstdout:\n%s", stderr, stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res engine.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	// In-flight iterations finished within graceful_stop: none failed,
	// and the JSON counts what the target saw.
	seen := int64(len(srv.Seen()))
	if res.Iterations.Failed != 0 || res.Actions["slow"].Count != seen || seen < 6 || !res.Interrupted {
		t.Errorf("iterations %+v, %d calls recorded, target saw %d, interrupted %v", res.Iterations, res.Actions["slow"].Count, seen, res.Interrupted)
	}
}

// stuck is a flow whose users complete five requests, then each wait on
// one that would take a minute, with an hour of graceful stop.
const stuck = `
scenario = {
    "name": "stuck",
    "load": {
        "ramp_up": {"phases": [{"at_second": 0, "spawn_users": 3}]},
        "user_lifetime": {"mode": "loop", "iterations": 0},
        "duration": "1h",
        "graceful_stop": "1h",
    },
}

def flow(user):
    for i in range(5):
        http.get("http://" + env.NTX_TARGET_HTTP + "/asset", name = "fast")
    http.get("http://" + env.NTX_TARGET_HTTP + "/delay/60000", name = "stuck")
`

// TestSecondInterruptWritesWhatCompleted: a second signal skips the
// graceful stop, and still prints the summary and writes --out and
// --report of what completed, then exits 3. The bound on how long that
// takes is generous: on an idle machine it is well under a second.
func TestSecondInterruptWritesWhatCompleted(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "stuck.star")
	os.WriteFile(file, []byte(stuck), 0o644)
	out, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	cmd, stdout, stderr := ntxProcess(t, "exec", "--out", out, "--report", html, file)
	// Every user is stuck once the target has seen three slow requests.
	deadline := time.Now().Add(20 * time.Second)
	for slow := 0; slow < 3; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the target saw %d slow requests", slow)
		}
		time.Sleep(10 * time.Millisecond)
		slow = 0
		for _, s := range srv.Seen() {
			if s.Path == "/delay/60000" {
				slow++
			}
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("still running 30s after the second signal\n%s", stderr)
	}
	took := time.Since(start)
	t.Logf("exited %v after the second signal", took)
	if code := cmd.ProcessState.ExitCode(); code != exitDied {
		t.Errorf("exit %d, want 3\n%s", code, stderr)
	}
	if took > 8*time.Second {
		t.Errorf("took %v to exit after the second signal", took)
	}
	if !strings.Contains(stderr.String(), "interrupted: cutting in-flight work") || !strings.Contains(stdout.String(), "scenario stuck") {
		t.Errorf("stderr:\n%s\nstdout:\n%s", stderr, stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res engine.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	fast, slow := res.Actions["fast"], res.Actions["stuck"]
	if !res.Interrupted || fast == nil || fast.Count != 15 || fast.OK != 15 || slow == nil || slow.Count != 3 || slow.OK != 0 {
		t.Errorf("interrupted %v, fast %+v, stuck %+v; want 15 completed and 3 cut", res.Interrupted, fast, slow)
	}
	if res.Iterations.Failures["interrupted"] != 3 {
		t.Errorf("iterations %+v, want 3 interrupted", res.Iterations)
	}
	if page, err := os.ReadFile(html); err != nil || !strings.Contains(string(page), `"name":"fast"`) {
		t.Errorf("report: %v", err)
	}
}

func TestProgressAndHTMLReport(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "short.yaml")
	os.WriteFile(file, []byte(strings.ReplaceAll(strings.ReplaceAll(endless, "duration: 1h", "duration: 2200ms"), "delay/100", "delay/10")), 0o644)
	// Over two seconds: at least two points, as a short last interval is
	// folded into the one before.
	html := filepath.Join(dir, "report.html")
	code, _, stderr := ntx(t, "exec", "--report", html, file)
	if code != exitPassed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// stderr is not a terminal here: plain lines, ending with the total.
	if !strings.Contains(stderr, "done ") || !strings.Contains(stderr, "req/s") || strings.Contains(stderr, "\r") {
		t.Errorf("progress on a non-terminal:\n%q", stderr)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	// The page draws its charts with its own inline script, from the
	// data inline beside it.
	for _, want := range []string{`<script type="application/json" id="data">`, "lineChart", "Throughput", "Latency", `"name":"slow"`, `"unbound"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Self-contained: nothing to fetch.
	for _, bad := range []string{"<script src", "src=", "href=", "@import", "url(", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("report refers to something outside itself: %q", bad)
		}
	}
	if code, _, stderr := ntx(t, "exec", "--quiet", file); code != 0 || stderr != "" {
		t.Errorf("--quiet printed:\n%s", stderr)
	}
}
