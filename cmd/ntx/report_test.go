package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportOfSavedResult: `ntx report` of a run's --out is the page the
// run's --report wrote, byte for byte, and so is the report of a merged
// fleet result written by `ntx merge`. Without --html it prints the
// summary the run printed.
func TestReportOfSavedResult(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	src := `name: saved
actions:
  - {id: get, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/asset"}}
  - {id: missing, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/status/404"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: get, next: [{task: t2}]}
  - {id: t2, action: missing, next: [{task: end}]}
  - {id: end}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	same := func(a, b string) {
		t.Helper()
		x, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s and %s differ (%d and %d bytes)", a, b, len(x), len(y))
		}
		if !strings.Contains(string(x), "saved") || !strings.Contains(string(x), "missing") {
			t.Errorf("%s does not show the scenario and its actions", a)
		}
	}
	var parts []string
	for _, seg := range []string{"0/2", "1/2"} {
		n := strings.Replace(seg, "/", "of", 1)
		out, html, again := filepath.Join(dir, n+".json"), filepath.Join(dir, n+".html"), filepath.Join(dir, n+"-again.html")
		// The 404s fail the run: exit 1, and the files are written all the same.
		code, summary, stderr := ntx(t, "exec", "-q", "--users", "4", "--segment", seg, "--out", out, "--report", html, file)
		if code != exitFailed {
			t.Fatalf("segment %s: exit %d\n%s", seg, code, stderr)
		}
		// Without --html, the summary the run printed.
		if code, again, stderr := ntx(t, "report", out); code != exitPassed || again != summary {
			t.Errorf("ntx report %s: exit %d\n%s\nprinted:\n%s\nthe run printed:\n%s", out, code, stderr, again, summary)
		}
		if code, _, stderr := ntx(t, "report", out, "--html", again); code != exitPassed {
			t.Fatalf("ntx report %s: exit %d\n%s", out, code, stderr)
		}
		same(html, again)
		parts = append(parts, out)
	}
	merged, mhtml, again := filepath.Join(dir, "m.json"), filepath.Join(dir, "m.html"), filepath.Join(dir, "m-again.html")
	if code, _, stderr := ntx(t, append([]string{"merge", "--out", merged, "--report", mhtml}, parts...)...); code != exitFailed {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := ntx(t, "report", merged, "--html", again); code != exitPassed {
		t.Fatalf("ntx report %s: exit %d\n%s", merged, code, stderr)
	}
	same(mhtml, again)

	// Bad uses are input errors.
	for _, args := range [][]string{{"report", "--html", again}, {"report", file, "--html", again}, {"report", merged, "--html", merged}} {
		if code, _, stderr := ntx(t, args...); code != exitInvalid {
			t.Errorf("ntx %v: exit %d, want %d\n%s", args, code, exitInvalid, stderr)
		}
	}
}
