package scenario

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.starlark.net/syntax"
	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/expr"
)

// Static checks: what would fail on every iteration of a run, and can be
// known from the file alone, is an input error before any load is sent
// (issue 7): URLs and addresses written literally (or the literal part of
// a template), env variables that will not be set, flows that cannot end.

// literalURL checks a url value. A literal must be an absolute URL with a
// scheme the call speaks, a host and a port in range; a template is
// checked as far as its leading literal text goes ("localhost:{{port}}"
// has no scheme whatever the port is).
func (v *validator) literalURL(n *yaml.Node, what string, schemes []string) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		v.errorf(v.d.pos(n), "%s must be a URL such as %s://host/path, not %s", what, schemes[0], kindName(n))
		return
	}
	s := n.Value
	if expr.HasTemplate(s) {
		parts, err := expr.Split(s)
		if err != nil || len(parts) == 0 || parts[0].IsExpr {
			return // reported as a template error, or nothing literal to check
		}
		lead := parts[0].Text
		if scheme, _, ok := strings.Cut(lead, "://"); ok {
			v.scheme(n, what, s, scheme, schemes)
		} else if strings.ContainsAny(lead, ":/") {
			v.errorf(v.d.pos(n), "%s %q has no scheme: write %s://%s", what, s, schemes[0], s)
		}
		return
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		v.errorf(v.d.pos(n), "%s %q has no scheme: write %s://%s", what, s, schemes[0], s)
		return
	}
	if !v.scheme(n, what, s, scheme, schemes) {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		msg := err.Error()
		if ue, ok := err.(*url.Error); ok {
			msg = ue.Err.Error()
		}
		v.errorf(v.d.pos(n), "%s %q is not a valid URL: %s", what, s, msg)
	case u.Host == "" || strings.HasPrefix(rest, "/"):
		v.errorf(v.d.pos(n), "%s %q has no host", what, s)
	case u.Port() != "":
		if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			v.errorf(v.d.pos(n), "%s %q: port %s is out of range (1 to 65535)", what, s, u.Port())
		}
	}
}

// scheme checks a URL's scheme, and reports whether it is one of schemes.
func (v *validator) scheme(n *yaml.Node, what, s, scheme string, schemes []string) bool {
	for _, ok := range schemes {
		if strings.EqualFold(scheme, ok) {
			return true
		}
	}
	v.errorf(v.d.pos(n), "%s %q: the scheme must be %s, not %q", what, s, strings.Join(schemes, " or "), scheme)
	return false
}

// literalAddress checks a host:port value of a socket call: a literal
// must have a port from 1 to 65535; of a template, a literal port at its
// end is checked ("{{target.ip}}:99999").
func (v *validator) literalAddress(n *yaml.Node, what string) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		v.errorf(v.d.pos(n), "%s must be host:port such as 127.0.0.1:9000, not %s", what, kindName(n))
		return
	}
	s := n.Value
	if expr.HasTemplate(s) {
		parts, err := expr.Split(s)
		if err != nil || len(parts) == 0 || parts[len(parts)-1].IsExpr {
			return
		}
		tail := parts[len(parts)-1].Text
		if i := strings.LastIndexByte(tail, ':'); i >= 0 {
			v.port(n, what, s, tail[i+1:])
		}
		return
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		hint := "host:port such as 127.0.0.1:9000"
		if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
			hint = "host:port, with an IPv6 address in brackets: [::1]:9000"
		}
		v.errorf(v.d.pos(n), "%s %q must be %s", what, s, hint)
		return
	}
	v.port(n, what, s, port)
}

// port checks the port of address s, when it is a number.
func (v *validator) port(n *yaml.Node, what, s, port string) {
	if port == "" {
		v.errorf(v.d.pos(n), "%s %q has no port", what, s)
		return
	}
	if strings.Trim(port, "0123456789") != "" {
		return // a service name, looked up when the call runs
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		v.errorf(v.d.pos(n), "%s %q: port %s is out of range (1 to 65535)", what, s, port)
	}
}

// literal checks what can be known of a with value of a built-in call
// of kind k before it runs.
func (v *validator) literal(n *yaml.Node, key catalog.Key, k catalog.Kind) {
	switch key.Type {
	case catalog.URL:
		if schemes := k.Schemes(); schemes != nil {
			v.literalURL(n, key.Name, schemes)
		}
	case catalog.Address:
		v.literalAddress(n, key.Name)
	}
}

// envRefs checks the env.NAME a template reads: a variable that will not
// be set is an error, unless the template gives a default
// ({{env.NAME or "fallback"}}, env.get("NAME", "fallback")), tests it
// ({{env.NAME if env.NAME else "y"}}), or says so with env.get("NAME").
func (v *validator) envRefs(n *yaml.Node, sc *expr.Scope) {
	if v.env == nil {
		return
	}
	WalkStrings(n, func(s *yaml.Node) {
		if !strings.Contains(s.Value, "env") || !expr.HasTemplate(s.Value) {
			return
		}
		parts, err := expr.Split(s.Value)
		if err != nil {
			return
		}
		for _, p := range parts {
			if !p.IsExpr {
				continue
			}
			e, err := expr.Rewrite(p.Text, sc, nil)
			if err != nil {
				continue // reported as a template error
			}
			for _, name := range unguardedEnv(e) {
				if v.envSeen[name] || v.env(name) {
					continue
				}
				if v.envSeen == nil {
					v.envSeen = map[string]bool{}
				}
				v.envSeen[name] = true // reported at its first use only
				off := p.Off
				if i := strings.Index(p.Text, "env."+name); i >= 0 {
					off += i
				}
				v.errorf(TemplatePos(v.d.file, s, off), "env.%s is not set: %s, or give a default: {{env.%s or \"fallback\"}}", name, howToSet(name), name)
			}
		}
	})
}

// unguardedEnv returns the names of the env.NAME reads in the Starlark
// expression src that have no default.
func unguardedEnv(src string) []string {
	x, err := expr.Dialect.ParseExpr("template", src, 0)
	if err != nil {
		return nil
	}
	var names []string
	for _, r := range unguardedEnvReads(x) {
		names = append(names, r.Name.Name)
	}
	return names
}

// unguardedEnvReads returns, in source order, the env.NAME reads in n
// that have no default: the one rule for templates and .star files.
// A read has a default when the code tests the name anywhere, as an
// operand of or, and, == or !=, under not, or as the condition of an
// if, a conditional expression or a while: a read elsewhere is then
// taken to be on the branch where the variable is set (Starlark code
// may test a value after storing it). env.get(...) is never a bare read.
// howToSet says how to give a scenario the variable name: those named
// NTX_* (stdlib.EnvPrefix) are always readable and only need to be set;
// any other must also be passed with -e.
func howToSet(name string) string {
	if strings.HasPrefix(name, "NTX_") {
		return "set " + name + " in the environment"
	}
	return "set " + name + " in the environment and pass it with -e " + name + ", or pass -e " + name + "=VALUE"
}

func unguardedEnvReads(n syntax.Node) []*syntax.DotExpr {
	return envReadsOf(n, true)
}

// envReads is every env.NAME of n (env.get aside), in the file's order.
func envReads(n syntax.Node) []*syntax.DotExpr {
	return envReadsOf(n, false)
}

func envReadsOf(n syntax.Node, onlyUnguarded bool) []*syntax.DotExpr {
	guarded := map[syntax.Expr]bool{}
	tested := map[string]bool{}
	var reads []*syntax.DotExpr
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.BinaryExpr:
			switch n.Op {
			case syntax.OR, syntax.AND:
				guarded[unparen(n.X)] = true
			case syntax.EQL, syntax.NEQ:
				guarded[unparen(n.X)], guarded[unparen(n.Y)] = true, true
			}
		case *syntax.CondExpr:
			guarded[unparen(n.Cond)] = true
		case *syntax.UnaryExpr:
			if n.Op == syntax.NOT {
				guarded[unparen(n.X)] = true
			}
		case *syntax.IfStmt:
			guarded[unparen(n.Cond)] = true
		case *syntax.WhileStmt:
			guarded[unparen(n.Cond)] = true
		case *syntax.DotExpr:
			if id, ok := n.X.(*syntax.Ident); ok && id.Name == "env" && n.Name.Name != "get" {
				if guarded[n] && onlyUnguarded {
					tested[n.Name.Name] = true
				} else {
					reads = append(reads, n)
				}
			}
		}
		return true
	})
	out := reads[:0]
	for _, r := range reads {
		if !tested[r.Name.Name] {
			out = append(out, r)
		}
	}
	return out
}

func unparen(e syntax.Expr) syntax.Expr {
	for {
		p, ok := e.(*syntax.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// endless warns about a graph in which no path from the start node
// leads to an end: every iteration would run until the step limit and
// fail. An edge whose condition may fail does not hold the iteration in:
// when no edge holds, it ends (as failed, with reason no-edge).
func (v *validator) endless() {
	for _, w := range v.s.Graphs() {
		v.endlessGraph(w)
	}
}

func (v *validator) endlessGraph(w *Workflow) {
	nodes := map[string]*Node{}
	for _, n := range w.Nodes {
		if n.ID == "" {
			return // already reported
		}
		nodes[n.ID] = n
	}
	start := w.StartNode()
	if nodes[start] == nil {
		return
	}
	seen := map[string]bool{}
	stack := []string{start}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		n := nodes[id]
		if n == nil || n.Type == NodeEnd || len(n.Edges) == 0 {
			return // the implicit end, or a node that ends the iteration
		}
		always := false
		for _, e := range n.Edges {
			if e.never() {
				continue
			}
			stack = append(stack, e.To)
			if e.Always() {
				always = true
				break // later edges are never tried
			}
		}
		if !always {
			return // no edge may hold, and the iteration ends
		}
	}
	n := nodes[start]
	pos := n.IDPos
	if pos.Line == 0 {
		pos = n.Pos
	}
	v.s.Warnings.Add(pos, "no path from node %q reaches the end: every iteration would run until the step limit and fail", start)
}

// Always reports whether the edge is always taken when it is tried: it
// has no condition, or the condition true.
func (e *Edge) Always() bool {
	w := deref(e.When)
	return w == nil || (w.Tag == "!!bool" && strings.EqualFold(w.Value, "true"))
}

// never reports whether the edge's condition is the literal false.
func (e *Edge) never() bool {
	w := deref(e.When)
	return w != nil && w.Tag == "!!bool" && strings.EqualFold(w.Value, "false")
}
