package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSegmentFlags: --segment splits the users (I from the flag or from
// JOB_COMPLETION_INDEX), --start-at holds the schedule, and bad values
// are input errors.
func TestSegmentFlags(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	src := `name: seg
actions:
  - {id: get, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/asset"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: get, next: [{task: end}]}
  - {id: end}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	spawned := func() int64 {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Users struct{ Spawned int64 } `json:"users"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r.Users.Spawned
	}
	// 10 users over 4 segments: 3, 3, 2, 2.
	for i, want := range []int64{3, 3, 2, 2} {
		t.Setenv("JOB_COMPLETION_INDEX", string(rune('0'+i)))
		if code, _, stderr := ntx(t, "exec", "-q", "--users", "10", "--segment", "/4", "--out", out, file); code != exitPassed {
			t.Fatalf("segment %d: exit %d\n%s", i, code, stderr)
		}
		if got := spawned(); got != want {
			t.Errorf("segment %d/4 spawned %d users, want %d", i, got, want)
		}
	}
	srv.Reset()
	begin := time.Now()
	if code, _, stderr := ntx(t, "exec", "-q", "--segment", "0/1", "--start-at", "+400ms", file); code != exitPassed {
		t.Fatalf("--start-at: exit %d\n%s", code, stderr)
	}
	for _, s := range srv.Seen() {
		if s.At.Sub(begin) < 400*time.Millisecond {
			t.Errorf("a request at %v, before --start-at +400ms", s.At.Sub(begin))
		}
	}
	if len(srv.Seen()) != 1 {
		t.Errorf("the target saw %d requests, want 1", len(srv.Seen()))
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")
	os.Unsetenv("JOB_COMPLETION_INDEX")
	for _, c := range []struct{ flag, val, msg string }{
		{"--segment", "4/4", "I counts from 0"},
		{"--segment", "x", "is not I/N"},
		{"--segment", "/4", "JOB_COMPLETION_INDEX, which is not set"},
		{"--start-at", "tomorrow", "RFC 3339"},
		{"--start-at", "+-3s", "+DURATION"},
	} {
		code, _, stderr := ntx(t, "exec", c.flag, c.val, file)
		if code != exitInvalid || !strings.Contains(stderr, c.msg) {
			t.Errorf("%s %s: exit %d, want 2 and %q\n%s", c.flag, c.val, code, c.msg, stderr)
		}
	}
}

// TestMergeSegments: three segments' results merged give the counts of
// the whole run; a threshold each segment passes alone fails on the
// merge (exit 1); a missing segment makes the merge incomplete (exit 3);
// bad input is exit 2.
func TestMergeSegments(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	src := `name: merge
actions:
  - {id: get, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/asset"}}
  - {id: miss, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/status/404"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: get, next: [{task: t2}]}
  - {id: t2, action: miss, next: [{task: end}]}
  - {id: end}
thresholds:
  - "get.count < 20"
  - "miss.error_rate <= 100%"
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "whole.json")
	if code, _, stderr := ntx(t, "exec", "-q", "--users", "11", "--out", whole, file); code != exitPassed {
		t.Fatalf("whole run: exit %d\n%s", code, stderr)
	}
	srv.Reset()
	var parts []string
	for i := 0; i < 3; i++ {
		part := filepath.Join(dir, fmt.Sprintf("part%d.json", i))
		parts = append(parts, part)
		if code, _, stderr := ntx(t, "exec", "-q", "--users", "30", "--segment", fmt.Sprintf("%d/3", i), "--out", part, file); code != exitPassed {
			t.Fatalf("segment %d/3 (10 users, get.count < 20 holds): exit %d\n%s", i, code, stderr)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	code, stdout, stderr := ntx(t, "merge", "--out", merged, "--report", filepath.Join(dir, "m.html"), parts[0], parts[1], parts[2])
	if code != exitFailed || !strings.Contains(stdout, "threshold get.count < 20 (value 30)") || !strings.Contains(stdout, "fleet: 3 of 3 segments merged") {
		t.Fatalf("merge: exit %d, want 1 for get.count on the fleet\n%s%s", code, stdout, stderr)
	}
	m, err := readResult(merged)
	if err != nil {
		t.Fatal(err)
	}
	gets, misses := 0, 0
	for _, s := range srv.Seen() {
		switch s.Path {
		case "/asset":
			gets++
		case "/status/404":
			misses++
		}
	}
	if m.Users.Spawned != 30 || m.Iterations.Total != 30 || m.Actions["get"].Count != int64(gets) || m.Actions["miss"].StatusCodes["404"] != int64(misses) || gets != 30 {
		t.Errorf("merged users %d, iterations %d, get %d, miss 404s %d; the target saw %d gets and %d misses",
			m.Users.Spawned, m.Iterations.Total, m.Actions["get"].Count, m.Actions["miss"].StatusCodes["404"], gets, misses)
	}
	if m.Incomplete || m.Fleet == nil || len(m.Fleet.Merged) != 3 {
		t.Errorf("fleet %+v, incomplete %v", m.Fleet, m.Incomplete)
	}
	// One segment missing: incomplete, named.
	code, stdout, _ = ntx(t, "merge", parts[0], parts[2])
	if code != exitDied || !strings.Contains(stdout, "lost segment 1/3 (no result)") {
		t.Errorf("merge without segment 1: exit %d, want 3\n%s", code, stdout)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{parts[0], parts[0]}, "segment 0/3 is given twice"},
		{[]string{parts[0], whole}, "a whole run's result cannot be merged"},
		{[]string{file}, "not a result of ntx exec --out"},
		{[]string{"--out", parts[0], parts[0]}, "--out"},
		{nil, "want one or more result files"},
	} {
		code, _, stderr := ntx(t, append([]string{"merge"}, c.args...)...)
		if code != exitInvalid || !strings.Contains(stderr, c.msg) {
			t.Errorf("merge %v: exit %d, want 2 and %q\n%s", c.args, code, c.msg, stderr)
		}
	}
}
