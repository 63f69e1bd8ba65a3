package data

import (
	"fmt"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Name is the predeclared name scripts read datasets through.
const Name = "data"

// SetupName is the name of the setup function and of the value it
// returned; setupBuiltin is the name of the builtin that returns the
// value (predeclared as SetupBuiltin), which references to setup call.
const (
	SetupName    = "setup"
	setupBuiltin = "_ntx_setup"
)

// setupKey is the thread-local key of the value setup returned.
const setupKey = "ntx.setup"

// SetupBuiltin returns the value the scenario's setup returned, or None.
var SetupBuiltin = starlark.NewBuiltin("setup", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 || len(kwargs) > 0 {
		return nil, fmt.Errorf("setup is run once by ntx before any user starts; read its result as setup")
	}
	if v, ok := thread.Local(setupKey).(starlark.Value); ok && v != nil {
		return v, nil
	}
	return starlark.None, nil
})

// SetupBuiltinName is the name SetupBuiltin is to be predeclared under.
const SetupBuiltinName = setupBuiltin

// AttachSetup gives thread the (frozen) value setup returned.
func AttachSetup(thread *starlark.Thread, v starlark.Value) { thread.SetLocal(setupKey, v) }

// SourceProgram parses, resolves and compiles a Starlark file, as
// starlark.SourceProgramOptions does, with two changes that let one
// program, loaded once and shared by every user, give each user a value
// of its own: an attribute lookup in Starlark cannot see the thread it
// runs in, but a call can.
//
//   - Every reference to the predeclared `data` (not a local or global of
//     that name, not an attribute such as user.data) is compiled as the
//     call data(). The predeclared value is Builtin, whose call returns
//     the View of the user whose thread runs it.
//   - Every reference to `setup` is compiled as a call of SetupBuiltin,
//     which returns the frozen value the scenario's setup function
//     returned (spec §4.3): the predeclared `setup`, and, in a file that
//     defines `def setup():`, every use of that global but the def
//     itself. The runtime finds the function under its own name.
//
// src is a string or a []byte. Positions in the program are those of the
// source; a call is placed where the name was written.
func SourceProgram(opts *syntax.FileOptions, file string, src any, isPredeclared func(string) bool, prepare ...func(*syntax.File)) (*syntax.File, *starlark.Program, error) {
	switch src.(type) {
	case string, []byte:
	default:
		return nil, nil, fmt.Errorf("data.SourceProgram: src must be a string or []byte, not %T", src)
	}
	f, err := opts.Parse(file, src, 0)
	if err != nil {
		return nil, nil, err
	}
	if !mentions(f, Name) && !mentions(f, SetupName) {
		for _, p := range prepare {
			p(f)
		}
		prog, err := starlark.FileProgram(f, isPredeclared)
		return f, prog, err
	}
	// Resolve a first parse to learn which uses of the names are to be
	// rewritten, then rewrite those in a second parse: a syntax tree may
	// be resolved only once.
	if err := resolve.File(f, isPredeclared, starlark.Universe.Has); err != nil {
		return f, nil, err
	}
	setupDef := definesSetup(f)
	uses := map[spot]string{}
	syntax.Walk(f, func(n syntax.Node) bool {
		id, ok := n.(*syntax.Ident)
		if !ok || (id.Name != Name && id.Name != SetupName) || id == setupDef {
			return true
		}
		b, ok := id.Binding.(*resolve.Binding)
		if !ok {
			return true
		}
		switch {
		case id.Name == Name && b.Scope == resolve.Predeclared:
			uses[spot{id.NamePos.Line, id.NamePos.Col}] = Name
		case id.Name == SetupName && isPredeclared(setupBuiltin) &&
			(b.Scope == resolve.Predeclared || (b.Scope == resolve.Global && setupDef != nil)):
			uses[spot{id.NamePos.Line, id.NamePos.Col}] = setupBuiltin
		}
		return true
	})
	f, err = opts.Parse(file, src, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(uses) > 0 {
		rw := rewriter{uses: uses}
		rw.stmts(f.Stmts)
	}
	for _, p := range prepare {
		p(f)
	}
	prog, err := starlark.FileProgram(f, isPredeclared)
	return f, prog, err
}

// definesSetup returns the name of a top-level `def setup():`, or nil.
func definesSetup(f *syntax.File) *syntax.Ident {
	for _, s := range f.Stmts {
		if d, ok := s.(*syntax.DefStmt); ok && d.Name.Name == SetupName {
			return d.Name
		}
	}
	return nil
}

// mentions reports whether any identifier in f is name.
func mentions(f *syntax.File, name string) bool {
	found := false
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// rewriter replaces the identifiers at uses with calls of themselves.
type rewriter struct {
	uses map[spot]string // the name of the builtin each use calls
}

// spot is where a name was written. Positions of two parses of one
// file differ in their file pointer, so they are compared by this.
type spot struct{ line, col int32 }

func (rw rewriter) stmts(list []syntax.Stmt) {
	for _, s := range list {
		rw.stmt(s)
	}
}

func (rw rewriter) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		rw.expr(&s.LHS)
		rw.expr(&s.RHS)
	case *syntax.DefStmt:
		rw.exprs(s.Params)
		rw.stmts(s.Body)
	case *syntax.ExprStmt:
		rw.expr(&s.X)
	case *syntax.IfStmt:
		rw.expr(&s.Cond)
		rw.stmts(s.True)
		rw.stmts(s.False)
	case *syntax.ForStmt:
		rw.expr(&s.Vars)
		rw.expr(&s.X)
		rw.stmts(s.Body)
	case *syntax.WhileStmt:
		rw.expr(&s.Cond)
		rw.stmts(s.Body)
	case *syntax.ReturnStmt:
		rw.expr(&s.Result)
	case *syntax.LoadStmt, *syntax.BranchStmt:
		// Names here are bindings, never uses of a predeclared value.
	}
}

func (rw rewriter) exprs(list []syntax.Expr) {
	for i := range list {
		rw.expr(&list[i])
	}
}

func (rw rewriter) expr(p *syntax.Expr) {
	switch e := (*p).(type) {
	case nil:
	case *syntax.Ident:
		if fn, ok := rw.uses[spot{e.NamePos.Line, e.NamePos.Col}]; ok {
			*p = &syntax.CallExpr{Fn: &syntax.Ident{NamePos: e.NamePos, Name: fn}, Lparen: e.NamePos, Rparen: e.NamePos}
		}
	case *syntax.Literal:
	case *syntax.ParenExpr:
		rw.expr(&e.X)
	case *syntax.CallExpr:
		rw.expr(&e.Fn)
		rw.exprs(e.Args)
	case *syntax.DotExpr:
		rw.expr(&e.X) // e.Name is an attribute, not a use
	case *syntax.Comprehension:
		rw.expr(&e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				rw.expr(&c.Vars)
				rw.expr(&c.X)
			case *syntax.IfClause:
				rw.expr(&c.Cond)
			}
		}
	case *syntax.DictExpr:
		rw.exprs(e.List)
	case *syntax.DictEntry:
		rw.expr(&e.Key)
		rw.expr(&e.Value)
	case *syntax.LambdaExpr:
		rw.exprs(e.Params)
		rw.expr(&e.Body)
	case *syntax.ListExpr:
		rw.exprs(e.List)
	case *syntax.TupleExpr:
		rw.exprs(e.List)
	case *syntax.CondExpr:
		rw.expr(&e.Cond)
		rw.expr(&e.True)
		rw.expr(&e.False)
	case *syntax.UnaryExpr:
		rw.expr(&e.X)
	case *syntax.BinaryExpr:
		rw.expr(&e.X)
		rw.expr(&e.Y)
	case *syntax.SliceExpr:
		rw.expr(&e.X)
		rw.expr(&e.Lo)
		rw.expr(&e.Hi)
		rw.expr(&e.Step)
	case *syntax.IndexExpr:
		rw.expr(&e.X)
		rw.expr(&e.Y)
	}
}
