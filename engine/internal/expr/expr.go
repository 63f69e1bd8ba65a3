// Package expr parses the {{ }} templates and conditions of the scenario
// language (spec §3) and rewrites them into plain Starlark expressions.
//
// A template expression is Starlark with one addition: a dotted path may
// start with an id containing '-' ("probe-get.status_code"). Plain Starlark
// would read that as a subtraction, so ids are recognised against the set
// of names the scenario defines before the text is parsed.
package expr

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/syntax"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/suggest"
)

// Dialect is the Starlark dialect of every scenario program and template:
// while loops, recursion, sets and top-level control flow are allowed,
// because flows are programs users write, bounded by the step limit
// rather than by the language.
var Dialect = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, Recursion: true}

// Part is one piece of a template: literal text, or the source of one
// {{ }} expression. Off is the byte offset of the piece in the template,
// so that errors can point into the string.
type Part struct {
	Text   string
	IsExpr bool
	Off    int
}

// Error is a problem in a template, at byte offset Off of the template.
type Error struct {
	Off int
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Split cuts a template into literal and expression parts.
func Split(s string) ([]Part, error) {
	var parts []Part
	i := 0
	for i < len(s) {
		open := strings.Index(s[i:], "{{")
		if open < 0 {
			parts = append(parts, Part{Text: s[i:], Off: i})
			break
		}
		open += i
		if open > i {
			parts = append(parts, Part{Text: s[i:open], Off: i})
		}
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			return nil, &Error{Off: open, Msg: "unterminated {{ (no matching }})"}
		}
		end += open + 2
		body := s[open+2 : end]
		if strings.TrimSpace(body) == "" {
			return nil, &Error{Off: open, Msg: "empty {{ }} expression"}
		}
		parts = append(parts, Part{Text: body, IsExpr: true, Off: open + 2})
		i = end + 2
	}
	return parts, nil
}

// HasTemplate reports whether s contains a {{ }} expression.
func HasTemplate(s string) bool { return strings.Contains(s, "{{") }

// Kind says what a root name of a path refers to.
type Kind int

// The kinds of root names a template may use.
const (
	Unknown  Kind = iota
	Action        // an action's result in this iteration
	Resource      // a resource's properties
	Builtin       // user, tenant, vars, env
)

// Scope says which names a template may use and how each is spelled in
// the compiled Starlark program.
type Scope struct {
	// Actions maps an action id to the attributes its result has
	// (exports included). Nil when actions are not in scope.
	Actions map[string]map[string]bool
	// Resources maps a resource id to its Starlark global name and
	// property names.
	Resources map[string]ResourceRef
	// Fields lists the attributes known for user, tenant and vars; a
	// missing entry means any attribute is accepted.
	Fields map[string]map[string]bool
	// Data maps each dataset id to its columns (nil when the columns are
	// unknown: any goes). data.ID.COLUMN is checked against it.
	Data map[string]map[string]bool
	// NoUser is set where no user exists (resource properties).
	NoUser bool
	// Universe holds further free names the expression may use as is
	// (Starlark built-ins, predeclared modules).
	Universe map[string]bool
	// Results is the Starlark name of the per-iteration results mapping.
	Results string
	// AttrRefs, when set, is told each action result an expression uses
	// and the attribute it reads ("" when the result is used whole).
	AttrRefs func(action, attr string)
}

// ResourceRef is how a resource is named in the compiled program.
type ResourceRef struct {
	Global string
	Props  map[string]bool
}

// Rewrite turns one template expression into plain Starlark, checking
// that every name it uses exists. refs receives each action and resource
// id the expression mentions.
func Rewrite(src string, sc *Scope, refs func(kind Kind, id string)) (string, error) {
	toks, err := scan(src)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tokIdent || (i > 0 && toks[i-1].text == ".") {
			out.WriteString(t.text)
			continue
		}
		// The dashed chain starting here: ident (- ident)*, adjacent.
		j := i
		for j+2 < len(toks) && toks[j+1].text == "-" && toks[j+1].adjacent && toks[j+2].adjacent &&
			(toks[j+2].kind == tokIdent || toks[j+2].kind == tokNumber) {
			j += 2
		}
		// Longest prefix of the chain that is a known id.
		n := i
		name := t.text
		for k := j; k > i; k -= 2 {
			cand := joinToks(toks[i : k+1])
			if sc.isID(cand) {
				n, name = k, cand
				break
			}
		}
		attr, attrOff := "", -1
		if n+2 < len(toks) && toks[n+1].text == "." && toks[n+2].kind == tokIdent {
			attr, attrOff = toks[n+2].text, toks[n+2].off
		}
		rewritten, err := sc.resolve(name, attr, t.off, attrOff, refs)
		if err != nil {
			if chain := joinToks(toks[i : j+1]); chain != name && n == i {
				// An unknown dashed id reads better whole than as its first word.
				if _, err2 := sc.resolve(chain, attr, t.off, attrOff, nil); err2 != nil {
					err = err2
				}
			}
			return "", err
		}
		out.WriteString(rewritten)
		i = n
		if name == "data" && attr != "" {
			if err := sc.column(attr, toks[n+3:]); err != nil {
				return "", err
			}
		}
		// ACTION.json is a value in templates but a method on responses.
		if attr == "json" && sc.Actions[name] != nil &&
			!(n+3 < len(toks) && toks[n+3].text == "(") {
			out.WriteString(".json()")
			i = n + 2
		}
	}
	rewritten := strings.TrimSpace(out.String())
	if _, err := Dialect.ParseExpr("template", rewritten, 0); err != nil {
		msg := err.Error()
		if se, ok := err.(syntax.Error); ok {
			msg = se.Msg
		}
		return "", &Error{Off: 0, Msg: fmt.Sprintf("invalid expression %q: %s", strings.TrimSpace(src), msg)}
	}
	return rewritten, nil
}

func (sc *Scope) isID(name string) bool {
	if _, ok := sc.Actions[name]; ok {
		return true
	}
	_, ok := sc.Resources[name]
	return ok
}

func (sc *Scope) resolve(name, attr string, off, attrOff int, refs func(Kind, string)) (string, error) {
	checkAttr := func(what string, known map[string]bool) error {
		if attr == "" || known == nil || known[attr] {
			return nil
		}
		return &Error{Off: attrOff, Msg: fmt.Sprintf("%s has no %q%s", what, attr, didYouMean(attr, known))}
	}
	if res, ok := sc.Actions[name]; ok {
		if refs != nil {
			refs(Action, name)
		}
		if sc.AttrRefs != nil {
			sc.AttrRefs(name, attr)
		}
		if err := checkAttr(fmt.Sprintf("action %q", name), res); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s[%s]", sc.Results, strconv.Quote(name)), nil
	}
	if r, ok := sc.Resources[name]; ok {
		if refs != nil {
			refs(Resource, name)
		}
		if err := checkAttr(fmt.Sprintf("resource %q", name), r.Props); err != nil {
			return "", err
		}
		return r.Global, nil
	}
	switch name {
	case "user", "tenant":
		if sc.NoUser {
			return "", &Error{Off: off, Msg: fmt.Sprintf("%q is not available here (no user exists yet)", name)}
		}
		if err := checkAttr(name, sc.Fields[name]); err != nil {
			return "", err
		}
		if name == "tenant" {
			return "user.tenant", nil
		}
		return name, nil
	case "vars", "env":
		if err := checkAttr(name, sc.Fields[name]); err != nil {
			return "", err
		}
		return name, nil
	case "data":
		if sc.NoUser {
			return "", &Error{Off: off, Msg: "data is not available here (rows are handed to users, and no user exists yet)"}
		}
		if len(sc.Data) == 0 {
			return "", &Error{Off: off, Msg: "data reads the datasets of a data: section, and this scenario has none"}
		}
		if _, ok := sc.Data[attr]; attr != "" && !ok {
			return "", &Error{Off: attrOff, Msg: fmt.Sprintf("data has no dataset %q%s", attr, didYouMean(attr, set(slices.Collect(maps.Keys(sc.Data)))))}
		}
		return name, nil
	}
	if sc.Universe[name] || keywords[name] {
		return name, nil
	}
	var cands []string
	for id := range sc.Actions {
		cands = append(cands, id)
	}
	for id := range sc.Resources {
		cands = append(cands, id)
	}
	cands = append(cands, catalog.TemplateRoots...)
	return "", &Error{Off: off, Msg: fmt.Sprintf("template names nothing called %q%s", name, didYouMean(name, set(cands)))}
}

// column checks the column read from dataset id, where rest (the tokens
// after data.ID) names one: .COLUMN or ["COLUMN"].
func (sc *Scope) column(id string, rest []token) error {
	cols := sc.Data[id]
	if cols == nil {
		return nil
	}
	var col string
	off := -1
	switch {
	case len(rest) >= 2 && rest[0].text == "." && rest[1].kind == tokIdent:
		col, off = rest[1].text, rest[1].off
	case len(rest) >= 3 && rest[0].text == "[" && rest[1].kind == tokString && rest[2].text == "]":
		q := rest[1].text
		if len(q) < 2 || strings.ContainsRune(q, '\\') || (q[0] != '"' && q[0] != '\'') {
			return nil // a string the check does not try to read; the run will
		}
		col, off = q[1:len(q)-1], rest[1].off
	default:
		return nil
	}
	if cols[col] {
		return nil
	}
	return &Error{Off: off, Msg: fmt.Sprintf("dataset %q has no column %q%s", id, col, didYouMean(col, cols))}
}

var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "if": true, "else": true,
	"for": true, "lambda": true, "True": true, "False": true, "None": true,
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func joinToks(ts []token) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.text)
	}
	return b.String()
}

// didYouMean suggests the known name nearest to word.
func didYouMean(word string, known map[string]bool) string {
	return suggest.DidYouMean(word, slices.Collect(maps.Keys(known)))
}
