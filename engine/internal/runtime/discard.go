package runtime

import (
	"go.starlark.net/syntax"
)

// httpCalls are the http module's functions that return a response.
var httpCalls = map[string]bool{"request": true, "get": true, "post": true, "put": true, "patch": true,
	"delete": true, "head": true, "options": true}

// discardUnread adds discard_body = True to every HTTP call of f whose
// response nothing can read: a call that is a statement of its own
// (`http.get(url)`), without an export (which reads the body), without
// *args or **kwargs (which could hold either) and without discard_body
// already. Such a response is dropped as soon as the call returns, but
// its body was first read into memory, up to max_response; now it is
// read and counted as it arrives, never held, as a YAML scenario's
// unread bodies are. Nothing is done in a file that binds the name http
// itself.
func discardUnread(f *syntax.File) {
	if bindsName(f, "http") {
		return
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		st, ok := n.(*syntax.ExprStmt)
		if !ok {
			return true
		}
		call, ok := st.X.(*syntax.CallExpr)
		if !ok {
			return true
		}
		dot, ok := call.Fn.(*syntax.DotExpr)
		if !ok || !httpCalls[dot.Name.Name] {
			return true
		}
		if mod, ok := dot.X.(*syntax.Ident); !ok || mod.Name != "http" {
			return true
		}
		for _, a := range call.Args {
			switch a := a.(type) {
			case *syntax.UnaryExpr: // *args, **kwargs
				if a.Op == syntax.STAR || a.Op == syntax.STARSTAR {
					return true
				}
			case *syntax.BinaryExpr:
				if k, ok := a.X.(*syntax.Ident); ok && a.Op == syntax.EQ && (k.Name == "discard_body" || k.Name == "export") {
					return true
				}
			}
		}
		at := call.Rparen
		call.Args = append(call.Args, &syntax.BinaryExpr{OpPos: at, Op: syntax.EQ,
			X: &syntax.Ident{NamePos: at, Name: "discard_body"}, Y: &syntax.Ident{NamePos: at, Name: "True"}})
		return true
	})
}

// bindsName reports whether f binds name anywhere: assigns it, defines
// it (a function, a parameter, a loop or comprehension variable) or
// loads it.
func bindsName(f *syntax.File, name string) bool {
	found := false
	var bound func(e syntax.Expr)
	bound = func(e syntax.Expr) {
		switch e := e.(type) {
		case *syntax.Ident:
			found = found || e.Name == name
		case *syntax.TupleExpr:
			for _, x := range e.List {
				bound(x)
			}
		case *syntax.ListExpr:
			for _, x := range e.List {
				bound(x)
			}
		case *syntax.ParenExpr:
			bound(e.X)
		}
	}
	params := func(ps []syntax.Expr) {
		for _, p := range ps {
			switch p := p.(type) {
			case *syntax.BinaryExpr: // name = default
				bound(p.X)
			case *syntax.UnaryExpr: // *args, **kwargs
				if p.X != nil {
					bound(p.X)
				}
			default:
				bound(p)
			}
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.AssignStmt:
			bound(n.LHS)
		case *syntax.DefStmt:
			bound(n.Name)
			params(n.Params)
		case *syntax.LambdaExpr:
			params(n.Params)
		case *syntax.ForStmt:
			bound(n.Vars)
		case *syntax.ForClause:
			bound(n.Vars)
		case *syntax.LoadStmt:
			for _, to := range n.To {
				bound(to)
			}
		}
		return !found
	})
	return found
}
