// Package engine is the Go embedding API of ntx (spec §8): run a scenario,
// written in YAML or Starlark, from a Go program without the CLI.
//
//	res, err := engine.Run(ctx, "flow.star", src, engine.Options{})
//
// The CLI (cmd/ntx) is a thin shell over this package.
package engine

import (
	"context"
	"errors"
	"os"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/compile"
	"github.com/ntx-dev/ntx/engine/report"
	"github.com/ntx-dev/ntx/engine/runtime"
	"github.com/ntx-dev/ntx/engine/scenario"
)

// Options configure a run.
type Options struct {
	runtime.Options
	// Modules are extra Starlark modules, provided by Go, that scripts
	// load by name: load("NAME", "sym").
	Modules map[string]starlark.StringDict
	// Predeclared adds global names every script sees.
	Predeclared starlark.StringDict
}

// Result is the outcome of a run (spec §6).
type Result = report.Result

// Program is a loaded scenario, ready to run.
type Program = runtime.Program

// Load parses and checks a scenario. file decides the language (.star is
// Starlark, anything else YAML) and anchors relative paths; src is its
// content, or nil to read file.
func Load(file string, src []byte, opts Options) (*Program, error) {
	if src == nil {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, scenario.ErrorList{{Pos: scenario.Pos{File: file}, Msg: "cannot read the scenario: " + errors.Unwrap(err).Error()}}
		}
		src = b
	}
	return runtime.Load(file, src, runtime.LoadOptions{Modules: opts.Modules, Predeclared: opts.Predeclared})
}

// Run loads and runs a scenario. The error is an input error (see
// IsInputError) or a run that could not start (IsStartError); a run that
// started always returns its Result.
func Run(ctx context.Context, file string, src []byte, opts Options) (*Result, error) {
	p, err := Load(file, src, opts)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx, opts.Options)
}

// RunScenario mirrors the original component interface
// run-scenario(scenario-yaml) -> result<string, string>: it runs a YAML
// scenario and returns the §6 JSON result, or the error text.
func RunScenario(scenarioYAML string) (string, error) {
	res, err := Run(context.Background(), "scenario.yaml", []byte(scenarioYAML), Options{})
	if err != nil {
		return "", err
	}
	return res.JSON(), nil
}

// Compile returns the Starlark program a YAML scenario compiles to.
func Compile(file string, src []byte) (string, error) {
	s, err := scenario.Parse(file, src)
	if err != nil {
		return "", err
	}
	return compile.Compile(s)
}

// IsInputError reports whether err is a problem with the scenario
// itself: every such error carries FILE:LINE:COL positions.
func IsInputError(err error) bool {
	var list scenario.ErrorList
	return errors.As(err, &list)
}

// IsStartError reports whether err is a run that could not start.
func IsStartError(err error) bool {
	var se *runtime.StartError
	return errors.As(err, &se)
}
