// Package runtime loads scenario programs and runs them: each simulated
// user is a goroutine with its own starlark.Thread over one compiled,
// frozen program, bound to source addresses from the scenario's IP pools.
package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ntx-dev/ntx/engine/internal/compile"
	"github.com/ntx-dev/ntx/engine/internal/data"
	"github.com/ntx-dev/ntx/engine/internal/expr"
	"github.com/ntx-dev/ntx/engine/internal/scenario"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
	"github.com/ntx-dev/ntx/engine/internal/suggest"
	"github.com/ntx-dev/ntx/stdlib"
)

// FileOptions is the Starlark dialect of scenario programs, stated once
// in engine/internal/expr so that templates and flows parse alike.
var FileOptions = expr.Dialect

// Program is a loaded scenario: the frozen globals of its Starlark
// program, its flow function and its run configuration.
type Program struct {
	// File is the scenario's file name, as given.
	File string
	// Source is the Starlark program that runs: the file itself for
	// .star, the compiled program for YAML.
	Source string
	// Scenario is the run configuration: the YAML scenario itself,
	// decoded and checked once, or the `scenario` dict of a .star file.
	Scenario *scenario.Scenario
	// Warnings are problems that do not stop a run.
	Warnings scenario.ErrorList

	globals starlark.StringDict
	flow    starlark.Callable
	// flows are the named flows of a user mix; nil for one flow, flow.
	flows []Flow
	mix   schedule.Mix
	// flowErr says why the program has no usable flow(user), for when
	// it needs one.
	flowErr error
	// setupFn and teardownFn are the program's setup and teardown, if
	// it defines them.
	setupFn, teardownFn *starlark.Function
	vars                *stdlib.Vars
	// lines leads from the compiled program of a YAML scenario back to
	// the YAML; nil for a .star scenario, whose positions are its own.
	lines *compile.SourceMap
	// loaded are the .star files the program loaded, for the checks.
	loaded []string
}

// LoadOptions configures how a program is loaded.
type LoadOptions struct {
	// Modules are Go-provided Starlark modules, loadable by name with
	// load("NAME", "sym") before any file of that name is looked for.
	Modules map[string]starlark.StringDict
	// Predeclared adds names every program sees.
	Predeclared starlark.StringDict
	// Env names the environment variables `env` exposes besides those
	// starting with NTX_, each as NAME or NAME=VALUE (the CLI's -e).
	Env []string
}

// IsStarlark reports whether file names a Starlark scenario.
func IsStarlark(file string) bool { return strings.EqualFold(filepath.Ext(file), ".star") }

// Load reads a scenario from src: Starlark when file ends in .star, YAML
// otherwise. Problems with the input are returned as scenario.ErrorList,
// each at FILE:LINE:COL.
func Load(file string, src []byte, opts LoadOptions) (*Program, error) {
	if IsStarlark(file) {
		return loadStarlark(file, string(src), opts)
	}
	env, err := envOf(file, opts)
	if err != nil {
		return nil, err
	}
	s, err := scenario.ParseWith(file, src, scenario.Options{Env: func(name string) bool { set, _ := envSet(env)(name); return set }})
	if err != nil {
		return nil, err
	}
	return LoadScenario(s, opts)
}

// envOf is the `env` the program will see: the embedder's, or the one
// opts.Env exposes.
func envOf(file string, opts LoadOptions) (starlark.Value, error) {
	if env, ok := opts.Predeclared["env"]; ok {
		return env, nil
	}
	env, err := stdlib.NewEnv(opts.Env)
	if err != nil {
		return nil, scenario.ErrorList{{Pos: scenario.Pos{File: file}, Msg: err.Error()}}
	}
	return env, nil
}

// envSet reports, for the checks, whether env.NAME will have a value
// when the scenario runs with env.
func envSet(env starlark.Value) func(name string) (bool, error) {
	return func(name string) (bool, error) {
		a, ok := env.(starlark.HasAttrs)
		if !ok {
			return true, nil
		}
		v, err := a.Attr(name)
		if err != nil {
			return false, err
		}
		return v != nil && v != starlark.None, nil
	}
}

// LoadScenario loads a YAML scenario that scenario.Parse has decoded and
// checked: its actions and graph run as the program compile.Build makes
// of it, and its settings (pools, load, thresholds) are taken from s as
// they are, never decoded again from the program's `scenario` dict.
// Errors the program raises are reported at the YAML's positions.
func LoadScenario(s *scenario.Scenario, opts LoadOptions) (*Program, error) {
	out, err := compile.Build(s)
	if err != nil {
		return nil, err
	}
	p, _, err := initProgram(s.File, out.Source, opts, out.Map)
	if err != nil {
		return nil, err
	}
	p.Scenario, p.Warnings = s, s.Warnings
	if err := p.resolveFlows(func(w *scenario.Workflow) starlark.Value { return p.globals[out.FlowFns[w.ID]] }); err != nil {
		return nil, err
	}
	return p, nil
}

// loadStarlark loads a .star scenario, whose `scenario` dict holds its
// settings.
func loadStarlark(file, src string, opts LoadOptions) (*Program, error) {
	p, f, err := initProgram(file, src, opts, nil)
	if err != nil {
		return nil, err
	}
	cfg := starlark.Value(starlark.NewDict(0))
	if v, ok := p.globals["scenario"]; ok {
		cfg = v
	}
	if p.Scenario, err = scenario.FromStarlarkFile(file, f, cfg); err != nil {
		return nil, err
	}
	if err := p.resolveFlows(func(w *scenario.Workflow) starlark.Value { return w.Fn }); err != nil {
		return nil, err
	}
	var mods []*syntax.File
	for _, path := range p.loaded {
		// Read again to find the exports they write: each loaded cleanly,
		// so each parses.
		if mf, err := FileOptions.Parse(path, nil, 0); err == nil {
			mods = append(mods, mf)
		}
	}
	if errs := scenario.CheckFlow(file, f, mods, p.Scenario); len(errs) > 0 {
		return nil, errs.Err()
	}
	env, err := envOf(file, opts)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Scenario.Warnings, scenario.EnvWarnings(file, f, envSet(env))...)
	p.Warnings = append(p.Warnings, scenario.EndlessLoops(file, f)...)
	p.Warnings = append(p.Warnings, p.unusedFlow(f)...)
	p.Warnings.Sort()
	return p, nil
}

// unusedFlow warns about a def flow(user): that scenario["flows"] does
// not list: with a user mix, users run the listed flows only.
func (p *Program) unusedFlow(f *syntax.File) scenario.ErrorList {
	if len(p.flows) == 0 || p.flow == nil {
		return nil
	}
	for _, fl := range p.flows {
		if fl.Fn == p.flow {
			return nil
		}
	}
	var out scenario.ErrorList
	for _, st := range f.Stmts {
		if d, ok := st.(*syntax.DefStmt); ok && d.Name.Name == "flow" {
			out.Add(scenario.Pos{File: p.File, Line: int(d.Def.Line), Col: int(d.Def.Col)},
				"flow(user) is never run: scenario[\"flows\"] lists the flows users run, and not this one")
		}
	}
	return out
}

// initProgram compiles and runs the top level of a program, and finds its
// flow function. lines maps the program back to a YAML scenario, if it
// was compiled from one.
func initProgram(file, src string, opts LoadOptions, lines *compile.SourceMap) (*Program, *syntax.File, error) {
	vars := stdlib.NewVars(nil)
	predeclared := stdlib.Predeclared()
	predeclared["vars"] = vars
	env, err := envOf(file, opts)
	if err != nil {
		return nil, nil, err
	}
	predeclared["env"] = env
	predeclared[data.Name] = data.Builtin
	predeclared[data.SetupName] = starlark.None // read through the builtin: see data.SourceProgram
	predeclared[data.SetupBuiltinName] = data.SetupBuiltin
	for k, v := range opts.Predeclared {
		predeclared[k] = v
	}
	root, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	ld := &loader{root: root, predeclared: predeclared, modules: opts.Modules, cache: map[string]*loadEntry{}}
	// data reads the calling user's rows: see data.SourceProgram.
	f, prog, err := data.SourceProgram(FileOptions, file, src, predeclared.Has, discardUnread)
	if err != nil {
		return nil, nil, inputError(file, err, lines)
	}
	thread := &starlark.Thread{Name: "load " + file, Load: ld.load, Print: func(*starlark.Thread, string) {}}
	thread.SetMaxExecutionSteps(100_000_000)
	globals, err := prog.Init(thread, predeclared)
	if err != nil {
		return nil, nil, inputError(file, err, lines)
	}
	globals.Freeze()
	p := &Program{File: file, Source: src, globals: globals, vars: vars, lines: lines}
	for path, e := range ld.cache {
		if e.err == nil {
			p.loaded = append(p.loaded, path)
		}
	}

	// Without a flow(user), the program needs flows (scenario["flows"]):
	// which it has is known once its scenario dict is read.
	fn, ok := globals["flow"].(*starlark.Function)
	if !ok || fn.NumParams() != 1 {
		msg := "defines no flow(user) function: a .star scenario needs `def flow(user):` (or a user mix: scenario[\"flows\"] = [{\"fn\": NAME, \"weight\": N}, ...])"
		if ok {
			msg = fmt.Sprintf("flow takes %d parameters; it must take exactly one, the user", fn.NumParams())
		}
		p.flowErr = scenario.ErrorList{{Pos: scenario.Pos{File: file, Line: 1, Col: 1}, Msg: msg}}
	} else {
		p.flow = fn
	}
	if err := p.hooks(f); err != nil {
		return nil, nil, err
	}
	return p, f, nil
}

// Flow returns the program's flow function: one iteration of one user;
// with a user mix, the first flow's.
func (p *Program) Flow() starlark.Callable {
	if len(p.flows) > 0 {
		return p.flows[0].Fn
	}
	return p.flow
}

// Flow is one flow of a user mix: its id, its weight and the function
// that runs one iteration of it.
type Flow struct {
	ID     string
	Weight float64
	Fn     starlark.Callable
}

// Flows returns the flows of the program's user mix, in the order the
// scenario lists them; nil when it has one flow.
func (p *Program) Flows() []Flow { return p.flows }

// resolveFlows finds the function of each named flow of the scenario
// (fn gives the value standing for it: a function, or the name of a
// global), or, with none, checks that the program has flow(user).
func (p *Program) resolveFlows(fn func(*scenario.Workflow) starlark.Value) error {
	ws := p.Scenario.Workflows
	if len(ws) == 0 {
		return p.flowErr
	}
	var errs scenario.ErrorList
	weights := make([]float64, 0, len(ws))
	for _, w := range ws {
		v := fn(w)
		if name, ok := v.(starlark.String); ok {
			g, found := p.globals[string(name)]
			if !found {
				var names []string
				for k, gv := range p.globals {
					if _, isFn := gv.(*starlark.Function); isFn {
						names = append(names, k)
					}
				}
				errs.Add(w.FnPos, "flow %q: fn %q names nothing the file defines%s", w.ID, string(name), suggest.DidYouMean(string(name), names))
				continue
			}
			v = g
		}
		f, ok := v.(*starlark.Function)
		switch {
		case !ok:
			what := "nothing"
			if v != nil {
				what = scenario.TypeName(v)
			}
			errs.Add(w.FnPos, "flow %q: fn is %s, not a function (def NAME(user):)", w.ID, what)
		case f.NumParams() != 1:
			errs.Add(w.FnPos, "flow %q: %s takes %d parameters; a flow takes exactly one, the user", w.ID, f.Name(), f.NumParams())
		default:
			p.flows = append(p.flows, Flow{ID: w.ID, Weight: w.Weight, Fn: f})
			weights = append(weights, w.Weight)
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	p.mix = schedule.NewMix(weights)
	return nil
}

// inputError turns a Starlark syntax, resolve or evaluation error into a
// positioned scenario.ErrorList, mapped through lines when the program
// was compiled from YAML.
func inputError(file string, err error, lines *compile.SourceMap) error {
	var list scenario.ErrorList
	var serr syntax.Error
	var rerrs resolve.ErrorList
	var eerr *starlark.EvalError
	switch {
	case errors.As(err, &serr):
		list.Add(mapPos(file, serr.Pos, serr.Msg, lines), "%s", serr.Msg)
	case errors.As(err, &rerrs):
		for _, e := range rerrs {
			list.Add(mapPos(file, e.Pos, e.Msg, lines), "%s", e.Msg)
		}
	case errors.As(err, &eerr):
		list.Add(evalPos(file, eerr, lines), "%s", eerr.Msg)
	default:
		var el scenario.ErrorList
		if errors.As(err, &el) {
			return el
		}
		list.Add(scenario.Pos{File: file}, "%v", err)
	}
	return list.Err()
}

func posOf(file string, p syntax.Position) scenario.Pos {
	name := p.Filename()
	if name == "" {
		name = file
	}
	return scenario.Pos{File: name, Line: int(p.Line), Col: int(p.Col)}
}

// mapPos is where to report an error raised at p with message msg: in
// the compiled program of a YAML scenario, the YAML position it came
// from; anywhere else (a .star file, a module), p itself.
func mapPos(file string, p syntax.Position, msg string, lines *compile.SourceMap) scenario.Pos {
	if lines != nil && p.Filename() == file {
		if at, ok := lines.Position(int(p.Line), int(p.Col), msg); ok {
			return at
		}
	}
	return posOf(file, p)
}

// evalPos is where to report an evaluation error: the innermost position
// in the user's code, through lines for a compiled YAML scenario.
func evalPos(file string, e *starlark.EvalError, lines *compile.SourceMap) scenario.Pos {
	for i := len(e.CallStack) - 1; i >= 0; i-- {
		if p := e.CallStack[i].Pos; p.IsValid() && p.Line > 0 {
			return mapPos(file, p, e.Msg, lines)
		}
	}
	return scenario.Pos{File: file, Line: 1, Col: 1}
}

// ErrorPos is where to report an error a run of the program raised: in
// the user's own file, the YAML line and column for a YAML scenario.
func (p *Program) ErrorPos(e *starlark.EvalError) scenario.Pos {
	return evalPos(p.File, e, p.lines)
}

// loader resolves load() statements: Go modules by name, else files
// relative to the loading file and only inside the scenario's directory
// tree. Each module is loaded once, frozen and shared by every user.
type loader struct {
	root        string
	predeclared starlark.StringDict
	modules     map[string]starlark.StringDict
	cache       map[string]*loadEntry
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
	loading bool
}

func (l *loader) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	if m, ok := l.modules[module]; ok {
		return m, nil
	}
	from := thread.CallFrame(0).Pos.Filename()
	fromDir, err := filepath.Abs(filepath.Dir(from))
	if err != nil {
		return nil, err
	}
	path := filepath.Clean(filepath.Join(fromDir, module))
	if filepath.IsAbs(module) {
		path = filepath.Clean(module)
	}
	if rel, err := filepath.Rel(l.root, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("load(%q): outside the scenario's directory %s (scripts may only load files below it)", module, l.root)
	}
	if !IsStarlark(path) {
		return nil, fmt.Errorf("load(%q): only .star files can be loaded", module)
	}
	// Links are resolved before the tree check: a linked file or
	// directory, or a link to /, must not lead out of the tree.
	if path, err = scenario.InsideTree(l.root, path); err != nil {
		return nil, fmt.Errorf("load(%q): %v", module, err)
	}
	if e, ok := l.cache[path]; ok {
		if e.loading {
			return nil, fmt.Errorf("load(%q): cycle in load graph", module)
		}
		return e.globals, e.err
	}
	e := &loadEntry{loading: true}
	l.cache[path] = e
	src, err := os.ReadFile(path)
	if err != nil {
		e.err = fmt.Errorf("load(%q): %v", module, err)
	} else {
		mt := &starlark.Thread{Name: "load " + module, Load: l.load, Print: thread.Print}
		mt.SetMaxExecutionSteps(100_000_000)
		var prog *starlark.Program
		if _, prog, e.err = data.SourceProgram(FileOptions, path, src, l.predeclared.Has, discardUnread); e.err == nil {
			e.globals, e.err = prog.Init(mt, l.predeclared)
		}
		if e.err != nil {
			e.err = inputError(path, e.err, nil)
		} else {
			e.globals.Freeze()
		}
	}
	e.loading = false
	return e.globals, e.err
}
