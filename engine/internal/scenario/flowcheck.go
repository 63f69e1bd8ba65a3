package scenario

import (
	"go.starlark.net/syntax"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// CheckFlow checks what a .star file's code reads of `user` and `vars`
// against what can exist: user.NAME must be a field of every user or a
// user-scoped export, vars.NAME a variable of the scenario or a
// workbook-scoped export. Both read as None when the name is unknown, so
// a misspelt name would otherwise go unnoticed through every run.
//
// Exports are found where they are written as literals, in f and in the
// modules it loads (mods); if any export is built in a way that cannot
// be read without running it, the names it could add are unknown and
// that check is skipped.
func CheckFlow(file string, f *syntax.File, mods []*syntax.File, s *Scenario) ErrorList {
	user := map[string]bool{}
	for _, a := range catalog.UserFields {
		user[a.Name] = true
	}
	vars := mappingKeys(s.Variables)
	checkUser, checkVars := true, true
	for _, m := range append([]*syntax.File{f}, mods...) {
		u, w, ok := literalExports(m)
		if !ok {
			checkUser, checkVars = false, false
		}
		for _, n := range u {
			user[n] = true
		}
		for _, n := range w {
			vars[n] = true
		}
	}
	// A global of the file's own named user or vars is not the built-in.
	for _, stmt := range f.Stmts {
		if a, ok := stmt.(*syntax.AssignStmt); ok {
			if id, ok := a.LHS.(*syntax.Ident); ok {
				switch id.Name {
				case "user":
					checkUser = false
				case "vars":
					checkVars = false
				}
			}
		}
	}
	var errs ErrorList
	syntax.Walk(f, func(n syntax.Node) bool {
		dot, ok := n.(*syntax.DotExpr)
		if !ok {
			return true
		}
		id, ok := dot.X.(*syntax.Ident)
		if !ok {
			return true
		}
		var known map[string]bool
		switch {
		case id.Name == "user" && checkUser:
			known = user
		case id.Name == "vars" && checkVars:
			known = vars
		default:
			return true
		}
		if name := dot.Name.Name; !known[name] {
			p := Pos{File: file, Line: int(dot.Name.NamePos.Line), Col: int(dot.Name.NamePos.Col)}
			what := "is not a field of users nor a user-scoped export"
			if id.Name == "vars" {
				what = "is not a variable of the scenario nor a workbook-scoped export"
			}
			errs.Add(p, "%s.%s %s%s", id.Name, name, what, didYouMean(name, keys(known)))
		}
		return true
	})
	return errs
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// literalExports returns the names f exports with user and with workbook
// scope, from the export= arguments of its calls; ok is false if some
// export= is not a list of dict literals with literal names and scopes.
func literalExports(f *syntax.File) (user, workbook []string, ok bool) {
	ok = true
	syntax.Walk(f, func(n syntax.Node) bool {
		call, isCall := n.(*syntax.CallExpr)
		if !isCall {
			return true
		}
		for _, arg := range call.Args {
			kw, isKw := arg.(*syntax.BinaryExpr)
			if !isKw || kw.Op != syntax.EQ {
				if u, isUnary := arg.(*syntax.UnaryExpr); isUnary && u.Op == syntax.STARSTAR {
					ok = false // **kwargs may hold an export
				}
				continue
			}
			if id, _ := kw.X.(*syntax.Ident); id == nil || id.Name != "export" {
				continue
			}
			list, isList := kw.Y.(*syntax.ListExpr)
			if !isList {
				ok = false
				continue
			}
			for _, e := range list.List {
				name, scope, lit := exportEntry(e)
				switch {
				case !lit:
					ok = false
				case scope == string(ScopeUser):
					user = append(user, name)
				case scope == string(ScopeWorkbook):
					workbook = append(workbook, name)
				}
			}
		}
		return true
	})
	return user, workbook, ok
}

// exportEntry reads the name and scope of an export dict literal.
func exportEntry(e syntax.Expr) (name, scope string, ok bool) {
	d, isDict := e.(*syntax.DictExpr)
	if !isDict {
		return "", "", false
	}
	scope = string(ScopeAction)
	for _, it := range d.List {
		en := it.(*syntax.DictEntry)
		k, isLit := en.Key.(*syntax.Literal)
		if !isLit || k.Token != syntax.STRING {
			return "", "", false
		}
		switch k.Value.(string) {
		case "name", "scope":
			v, isLit := en.Value.(*syntax.Literal)
			if !isLit || v.Token != syntax.STRING {
				return "", "", false
			}
			if k.Value.(string) == "name" {
				name = v.Value.(string)
			} else {
				scope = v.Value.(string)
			}
		}
	}
	return name, scope, true
}

// EnvWarnings warns about each env.NAME a .star file reads that exec
// would not give it, at the position exec reports (the dot), with the
// message exec would give. read says what reading the name gives: an
// error for a variable scenarios may not see (every read of it fails,
// defaults or not), else whether it is set. A variable that may be read
// but is not set is warned about where it is read with no default, by
// the rule templates follow too (see unguardedEnvReads): the file tests
// the name somewhere.
func EnvWarnings(file string, f *syntax.File, read func(name string) (bool, error)) ErrorList {
	var warns ErrorList
	seen := map[string]bool{}
	at := func(r *syntax.DotExpr) Pos {
		return Pos{File: file, Line: int(r.Dot.Line), Col: int(r.Dot.Col)}
	}
	unguarded := map[*syntax.DotExpr]bool{}
	for _, r := range unguardedEnvReads(f) {
		unguarded[r] = true
	}
	for _, r := range envReads(f) {
		name := r.Name.Name
		if seen[name] {
			continue
		}
		set, err := read(name)
		switch {
		case err != nil:
			seen[name] = true
			warns.Add(at(r), "%v: exec fails the iteration that reads it", err)
		case !set && unguarded[r]:
			seen[name] = true
			warns.Add(at(r), "env.%s is not set, and reads as None here: %s, or give a default: env.%s or \"fallback\"", name, howToSet(name), name)
		}
	}
	return warns
}

// EndlessLoops warns about each `while True:` loop of a .star file whose
// body has no break, return or fail(): an iteration that enters it can
// only end at the step limit, as failed.
func EndlessLoops(file string, f *syntax.File) ErrorList {
	var warns ErrorList
	syntax.Walk(f, func(n syntax.Node) bool {
		w, ok := n.(*syntax.WhileStmt)
		if !ok {
			return true
		}
		if id, ok := unparen(w.Cond).(*syntax.Ident); !ok || id.Name != "True" {
			return true
		}
		exits := false
		for _, stmt := range w.Body {
			syntax.Walk(stmt, func(m syntax.Node) bool {
				switch m := m.(type) {
				case *syntax.BranchStmt:
					exits = exits || m.Token == syntax.BREAK
				case *syntax.ReturnStmt:
					exits = true
				case *syntax.CallExpr:
					if id, ok := m.Fn.(*syntax.Ident); ok && id.Name == "fail" {
						exits = true
					}
				}
				return !exits
			})
		}
		if !exits {
			warns.Add(Pos{File: file, Line: int(w.While.Line), Col: int(w.While.Col)},
				"this loop has no break, return or fail(): an iteration that enters it runs until the step limit and fails")
		}
		return true
	})
	return warns
}
