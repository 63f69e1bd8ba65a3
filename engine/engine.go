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
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"
	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/internal/compile"
	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/runtime"
	"github.com/ntx-dev/ntx/engine/internal/scenario"
)

// Options configure a run.
type Options struct {
	runtime.Options
	// Modules are extra Starlark modules, provided by Go, that scripts
	// load by name: load("NAME", "sym").
	Modules map[string]starlark.StringDict
	// Predeclared adds global names every script sees.
	Predeclared starlark.StringDict
	// Env names the environment variables scripts may read as env.NAME,
	// each as NAME or NAME=VALUE; those starting with NTX_ are always
	// readable, no others.
	Env []string
}

// Result is the outcome of a run (spec §6).
type Result = report.Result

// Program is a loaded scenario, ready to run.
type Program = runtime.Program

// IsStarlark reports whether file is a Starlark scenario: its extension
// is .star, in any case (Flow.STAR too). Anything else is YAML.
func IsStarlark(file string) bool { return runtime.IsStarlark(file) }

// DefaultName is the name of a scenario that gives none: its file's
// name without the extension, so that summaries and results always say
// which scenario they are about.
func DefaultName(file string) string {
	base := filepath.Base(file)
	if name := strings.TrimSuffix(base, filepath.Ext(base)); name != "" {
		return name
	}
	return base
}

// Load parses and checks a scenario. file decides the language (see
// IsStarlark) and anchors relative paths; src is its content, or nil to
// read file. A scenario without a name is named after its file.
func Load(file string, src []byte, opts Options) (*Program, error) {
	if src == nil {
		b, err := readScenario(file)
		if err != nil {
			return nil, err
		}
		src = b
	}
	p, err := runtime.Load(file, src, runtime.LoadOptions{Modules: opts.Modules, Predeclared: opts.Predeclared, Env: opts.Env})
	if err != nil {
		return nil, err
	}
	if p.Scenario.Name == "" {
		p.Scenario.Name = DefaultName(file)
	}
	return p, nil
}

// readScenario reads a scenario file; failing to is an input error.
func readScenario(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, scenario.ErrorList{{Pos: scenario.Pos{File: file}, Msg: "cannot read the scenario: " + err.Error()}}
	}
	return b, nil
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

// Compile returns the Starlark program a YAML scenario compiles to, as
// it reads next to the YAML file: its load() paths are the YAML's module
// paths. src is the file's content, or nil to read file.
func Compile(file string, src []byte) (string, error) {
	return CompileTo(file, src, "")
}

// CompileTo returns the Starlark program a YAML scenario compiles to, as
// it must read when saved at out (empty: next to the YAML). Relative
// module paths are rewritten to be relative to out's directory, so the
// program runs from there; a module that would fall outside that
// directory's tree, where a program may not load from, is an error. A
// scenario without a name is given its YAML file's name, so the program
// reports under the same name wherever it is saved.
func CompileTo(file string, src []byte, out string) (string, error) {
	if IsStarlark(file) {
		return "", scenario.ErrorList{{Pos: scenario.Pos{File: file}, Msg: "is already a Starlark program; `ntx exec " + file + "` runs it as it is (compile takes a YAML scenario)"}}
	}
	if src == nil {
		b, err := readScenario(file)
		if err != nil {
			return "", err
		}
		src = b
	}
	s, err := scenario.Parse(file, src)
	if err != nil {
		return "", err
	}
	if _, ok := s.Config["name"]; !ok && s.Name == "" {
		if s.Config == nil {
			s.Config = map[string]*yaml.Node{}
		}
		s.Name = DefaultName(file)
		s.Config["name"] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.Name}
	}
	if out != "" {
		if err := relocateModules(s, file, out); err != nil {
			return "", err
		}
	}
	return compile.Compile(s)
}

// relocateModules rewrites the scenario's relative module paths, which
// are relative to the YAML file, to be relative to the program at out.
func relocateModules(s *scenario.Scenario, file, out string) error {
	from, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return err
	}
	to, err := filepath.Abs(filepath.Dir(out))
	if err != nil {
		return err
	}
	var list scenario.ErrorList
	for _, m := range s.Modules {
		if m.Path == "" || filepath.IsAbs(m.Path) {
			continue
		}
		rel, err := filepath.Rel(to, filepath.Join(from, m.Path))
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			list.Add(m.Pos, "module %q: %s would be outside the directory of %s, and a program may only load files below its own directory; write the program in %s or a directory above it", m.Name, m.Path, out, filepath.Dir(filepath.Join(filepath.Dir(file), m.Path)))
			continue
		}
		m.Path = filepath.ToSlash(rel)
	}
	if len(list) > 0 {
		return list
	}
	return nil
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
