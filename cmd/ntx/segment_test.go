package main

import (
	"encoding/json"
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
