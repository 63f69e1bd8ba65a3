package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
)

// TestHugeTimeoutRefusedInBothDialects is the regression test for two
// duration parsers that disagreed: timeout "1e12" (seconds, beyond what
// a time.Duration holds) was refused in YAML but taken, overflowing, in
// a .star flow. Both now read durations with the catalog's parser.
func TestHugeTimeoutRefusedInBothDialects(t *testing.T) {
	dir := t.TempDir()
	yamlFile := writeFile(t, dir, "huge.yaml", `
actions:
  - {id: a, call: get, with: {url: "http://127.0.0.1:1/", timeout: "1e12"}}
tasks: [{id: start, action: a}]
`)
	_, err := engine.Run(context.Background(), yamlFile, nil, engine.Options{Options: runOpts()})
	if err == nil || !engine.IsInputError(err) || !strings.Contains(err.Error(), "huge.yaml:3:") || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("YAML: got %v, want an input error at line 3 saying out of range", err)
	}
	for _, arg := range []string{`"1e12"`, `1e12`} {
		starFile := writeFile(t, dir, "huge.star", `
def flow(user):
    http.get("http://127.0.0.1:1/", timeout = `+arg+`)
`)
		res, err := engine.Run(context.Background(), starFile, nil, engine.Options{Options: runOpts()})
		if err != nil {
			t.Fatal(err)
		}
		msg := res.Errors["iteration error"]
		if res.Iterations.Failed != 1 || !strings.Contains(msg, "huge.star:3:") || !strings.Contains(msg, "out of range") {
			t.Errorf(".star with timeout = %s: %d failed iterations, error %q; want the iteration to fail at line 3 saying out of range", arg, res.Iterations.Failed, msg)
		}
	}
}
