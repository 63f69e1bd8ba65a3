package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/internal/runtime"
)

func runOpts() runtime.Options { return runtime.Options{Seed: 7} }

// TestCompiledProgramBehavesLikeYAML runs every runnable scenario in
// testdata/valid twice, once as YAML and once as the Starlark program
// `ntx compile` prints, and compares what the target saw.
func TestCompiledProgramBehavesLikeYAML(t *testing.T) {
	files, err := filepath.Glob("../testdata/valid/*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("found %d scenarios (%v)", len(files), err)
	}
	srv := startTarget(t)
	srv6 := startTarget6(t)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if srv6 == nil && strings.Contains(file, "ipv6") {
				t.Skip("this host has no IPv6 loopback")
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			srv.Reset()
			if srv6 != nil {
				srv6.Reset()
			}
			fromYAML := runFile(t, file, src)
			sawYAML := seen(srv, srv6)

			code, err := engine.Compile(file, src)
			if err != nil {
				t.Fatal(err)
			}
			srv.Reset()
			if srv6 != nil {
				srv6.Reset()
			}
			// The program runs from the YAML's directory, as it would
			// when saved next to it, so relative module paths resolve.
			star := strings.TrimSuffix(file, ".yaml") + ".compiled.star"
			fromStar := runFile(t, star, []byte(code))
			sawStar := seen(srv, srv6)

			if len(sawYAML) == 0 {
				t.Fatal("the target saw nothing")
			}
			if strings.Join(sawYAML, "\n") != strings.Join(sawStar, "\n") {
				t.Errorf("the target saw different traffic.\nYAML:\n%s\ncompiled:\n%s", strings.Join(sawYAML, "\n"), strings.Join(sawStar, "\n"))
			}
			if a, b := fromYAML.Iterations, fromStar.Iterations; a.Total != b.Total || a.Passed != b.Passed || len(a.Failures) != len(b.Failures) {
				t.Errorf("iterations differ: YAML %+v, compiled %+v", a, b)
			}
			if strings.HasPrefix(filepath.Base(file), "mix") && len(fromYAML.Flows) < 2 {
				t.Errorf("a user mix reported %d flows", len(fromYAML.Flows))
			}
			if len(fromYAML.Flows) != len(fromStar.Flows) {
				t.Errorf("flows differ: YAML %d, compiled %d", len(fromYAML.Flows), len(fromStar.Flows))
			}
			for id, a := range fromYAML.Flows {
				b := fromStar.Flows[id]
				if b == nil || a.Users != b.Users || a.Iterations != b.Iterations || a.Passed != b.Passed || a.Weight != b.Weight {
					t.Errorf("flow %s differs: YAML %+v, compiled %+v", id, a, b)
				}
			}
			for name, a := range fromYAML.Actions {
				b := fromStar.Actions[name]
				if b == nil || a.Count != b.Count || a.OK != b.OK {
					t.Errorf("action %s differs: YAML %+v, compiled %+v", name, a, b)
				}
			}
		})
	}
}
