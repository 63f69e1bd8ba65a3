package metrics

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayering keeps the metrics below everything that feeds them: the
// package, and every ntx package it pulls in, imports neither the
// Starlark built-ins, the scenario model nor go.starlark.net.
func TestLayering(t *testing.T) {
	const module = "github.com/ntx-dev/ntx/"
	seen := map[string]bool{}
	var walk func(dir, from string)
	walk = func(dir, from string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			for _, banned := range []string{module + "stdlib", module + "engine/internal/scenario", "go.starlark.net"} {
				if imp == banned || strings.HasPrefix(imp, banned+"/") {
					t.Errorf("%s imports %s (via %s)", dir, imp, from)
				}
			}
			if rest, ok := strings.CutPrefix(imp, module); ok {
				walk(filepath.Join("..", "..", filepath.FromSlash(rest)), dir)
			}
		}
	}
	walk(".", "engine/metrics")
}
